"""Operations staff issue an OCPI registration token on the Roaming page; a partner that
holds it reads the brand's OCPI versions, and nobody else does."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from e2e.support import ARTIFACTS
from e2e.test_portal_login import owner_login, sign_in

pytestmark = pytest.mark.e2e

FETCH = """async ([url, token]) => {
  const headers = token ? {Authorization: "Token " + btoa(token)} : {};
  const answer = await fetch(url, {headers});
  return [answer.status, await answer.json()];
}"""


def test_a_registration_token_from_the_roaming_page_opens_the_ocpi_versions(
    page: Page, brand: dict[str, Any]
) -> None:
    login = owner_login(brand)
    assert sign_in(page, brand, login["email"], login["password"]) == 303

    page.goto(brand["portal_url"] + "roaming")
    page.fill("#token_name", "E2E Mobility")
    page.click("form[action='/portal/roaming/tokens'] button[type=submit]")
    versions_url = page.input_value("[data-testid=versions-url]")
    token = page.input_value("[data-testid=secret]")
    page.screenshot(path=ARTIFACTS / f"{brand['slug']}-roaming-token.png", full_page=True)
    status, body = page.evaluate(FETCH, [versions_url, token])
    refused_status, refused = page.evaluate(FETCH, [versions_url, None])

    assert versions_url == brand["ocpi_versions_url"]
    assert len(token) == 43
    assert status == 200
    assert body["status_code"] == 1000
    assert body["data"] == [
        {"version": "2.2.1", "url": versions_url.removesuffix("/versions") + "/2.2.1"}
    ]
    assert (refused_status, refused["status_code"]) == (401, 2000)
