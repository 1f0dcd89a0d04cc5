"""The demo fleet's manager signs in to Voltaria's portal at a tablet's width, lands on
their fleet, blocks and unblocks one of its cards, exports its sessions, and reaches neither
the brand's staff pages nor a document that is not their fleet's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, ViewportSize

from e2e.support import ARTIFACTS
from e2e.test_portal_login import sign_in

pytestmark = pytest.mark.e2e

TABLET: ViewportSize = {"width": 820, "height": 1180}


def fleet_manager(demo: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    brand = next(b for b in demo["brands"] if b["slug"] == "voltaria")
    [login] = [login for login in brand["logins"] if login["role"] == "fleet_manager"]
    return brand, login


def test_the_fleet_manager_runs_their_fleet_and_nothing_else(
    demo: dict[str, Any], page: Page
) -> None:
    brand, login = fleet_manager(demo)
    page.set_viewport_size(TABLET)
    assert sign_in(page, brand, login["email"], login["password"]) == 303
    portal = brand["portal_url"].rstrip("/")

    # Their fleet, in German (Voltaria's default language), and no staff menu.
    assert page.url == portal + "/fleet"
    assert page.locator("h1").inner_text() == "Spree Logistik GmbH"
    assert [a.get_attribute("href") for a in page.locator("nav.menu a").all()] == ["/portal/fleet"]
    page.screenshot(path=ARTIFACTS / "voltaria-fleet-drivers-tablet.png", full_page=True)

    page.goto(portal + "/fleet/cards")
    card = page.locator("tr[data-card=VLTFLEET001]")
    card.locator("form[action$='/block'] button").click()
    page.wait_for_load_state()
    assert page.locator("tr[data-card=VLTFLEET001] form[action$='/unblock']").count() == 1
    page.locator("tr[data-card=VLTFLEET001] form[action$='/unblock'] button").click()
    page.wait_for_load_state()
    assert page.locator("tr[data-card=VLTFLEET001] form[action$='/block']").count() == 1
    assert page.locator("tr[data-card=VLTDEMO0001]").count() == 0
    page.screenshot(path=ARTIFACTS / "voltaria-fleet-cards-tablet.png", full_page=True)

    # Fetched from the page itself: the browser resolves the brand's host and sends its cookie.
    def fetch(path: str) -> tuple[int, str]:
        status, text = page.evaluate(
            "path => fetch(path).then(async r => [r.status, await r.text()])", path
        )
        return int(status), str(text)

    status, csv = fetch("/portal/fleet/sessions?format=csv")
    assert status == 200
    assert csv.split("\r\n")[0].startswith("session_id,started_at,stopped_at,")
    assert fetch("/portal/stations")[0] == 403
    assert fetch("/portal/settings")[0] == 403
    assert fetch(f"/portal/fleet/invoices/{uuid.uuid4()}/pdf")[0] == 404
