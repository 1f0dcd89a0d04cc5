"""Staff sign in to their own brand's portal, see that brand's network and nothing else."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from e2e.support import SESSION_COOKIE, TenantFile
from voltlane.web.i18n import translations

pytestmark = pytest.mark.e2e

WRONG_CREDENTIALS = "E-mail or password is not correct."


def owner_login(brand: dict[str, Any]) -> dict[str, str]:
    owners = [login for login in brand["logins"] if login["role"] == "owner"]
    assert len(owners) == 1, f"demo.json lists {len(owners)} owners for {brand['slug']}"
    return owners[0]


def sign_in(
    page: Page, brand: dict[str, Any], email: str, password: str, *, open_form: bool = True
) -> int:
    """Fill and submit the login form of ``brand`` (the one already shown unless
    ``open_form``); the status of the POST's answer."""
    if open_form:
        page.goto(brand["portal_url"] + "login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_response(
        lambda r: r.request.method == "POST" and urlsplit(r.url).path == "/portal/login"
    ) as answer:
        page.click("form[action='/portal/login'] button[type=submit]")
    page.wait_for_load_state()
    return answer.value.status


def session_cookie(context: BrowserContext, url: str) -> dict[str, Any] | None:
    cookies = [c for c in context.cookies(url) if c["name"] == SESSION_COOKIE]
    return dict(cookies[0]) if cookies else None


def assert_on_login_page(page: Page, brand: dict[str, Any], *, returns_to_dashboard: bool) -> None:
    """On ``brand``'s sign-in page; when sent there from the dashboard, `next` leads back."""
    url = urlsplit(page.url)
    assert f"{url.scheme}://{url.netloc}{url.path}" == brand["portal_url"] + "login"
    next_values = parse_qs(url.query).get("next")
    if returns_to_dashboard:
        # The router serves /portal and /portal/ alike and reports the path without the slash.
        assert next_values is not None
        assert [v.rstrip("/") for v in next_values] == ["/portal"]
        assert page.locator("input[name=next]").input_value() == next_values[0]
    else:
        assert next_values is None
    assert page.locator("[data-testid=brand-name]").inner_text() == brand["name"]
    assert page.locator("#password").input_value() == ""


def test_wrong_password_shows_the_form_error(
    page: Page, brand: dict[str, Any], tenant: TenantFile
) -> None:
    login = owner_login(brand)
    status = sign_in(page, brand, login["email"], login["password"] + "-wrong")

    assert status == 400
    assert_on_login_page(page, brand, returns_to_dashboard=False)
    error = page.locator("#form-error")
    # In the brand's language (German for Voltaria): the message is translated where shown.
    assert error.inner_text() == translations(tenant.locale).gettext(WRONG_CREDENTIALS)
    assert error.get_attribute("role") == "alert"
    assert page.locator("#email").input_value() == login["email"]
    assert session_cookie(page.context, brand["portal_url"]) is None


def test_owner_sees_their_dashboard_and_stations(
    page: Page,
    brand: dict[str, Any],
    tenant: TenantFile,
    other_tenant: TenantFile,
) -> None:
    login = owner_login(brand)
    assert login["email"] == tenant.owner.email

    status = sign_in(page, brand, login["email"], login["password"])

    assert status == 303
    assert page.url == brand["portal_url"]
    assert page.locator("[data-testid=staff-name]").inner_text() == tenant.owner.name
    counts = {
        "count-locations": len(tenant.location_names),
        "count-stations": len(tenant.station_ids),
        "count-evses": tenant.evse_count,
        "count-connectors": tenant.connector_count,
    }
    shown = {key: page.locator(f"[data-testid={key}]").inner_text() for key in counts}
    assert shown == {key: str(value) for key, value in counts.items()}

    page.click("main a[href='/portal/stations']")
    page.wait_for_url(brand["portal_url"] + "stations")
    rows = page.locator("tr[data-station-id]")
    station_ids = [rows.nth(i).get_attribute("data-station-id") for i in range(rows.count())]
    assert sorted(station_ids) == sorted(tenant.station_ids)
    assert not set(station_ids) & set(other_tenant.station_ids)
    row_headers = [rows.nth(i).locator("th").inner_text() for i in range(rows.count())]
    assert row_headers == station_ids


def test_session_of_one_brand_does_not_open_another(
    browser: Browser,
    page: Page,
    brand: dict[str, Any],
    other_brand: dict[str, Any],
    tenant: TenantFile,
) -> None:
    login = owner_login(brand)
    assert sign_in(page, brand, login["email"], login["password"]) == 303
    cookie = session_cookie(page.context, brand["portal_url"])
    assert cookie is not None
    assert cookie["httpOnly"] is True

    # The same token, presented to the other brand's host in a fresh browser.
    stranger = browser.new_context()
    try:
        stranger.add_cookies(
            [{"name": SESSION_COOKIE, "value": cookie["value"], "url": other_brand["driver_url"]}]
        )
        other_page = stranger.new_page()
        other_page.goto(other_brand["portal_url"])
        assert_on_login_page(other_page, other_brand, returns_to_dashboard=True)
        assert other_page.locator("[data-testid=staff-name]").count() == 0

        # The token is genuine: on its own brand it opens the dashboard.
        stranger.add_cookies(
            [{"name": SESSION_COOKIE, "value": cookie["value"], "url": brand["driver_url"]}]
        )
        other_page.goto(brand["portal_url"])
        assert other_page.url == brand["portal_url"]
        staff_name = other_page.locator("[data-testid=staff-name]").inner_text()
        assert staff_name == tenant.owner.name
    finally:
        stranger.close()


def test_sign_out_ends_the_session(page: Page, brand: dict[str, Any], tenant: TenantFile) -> None:
    login = owner_login(brand)
    assert sign_in(page, brand, login["email"], login["password"]) == 303
    assert page.locator("[data-testid=staff-name]").inner_text() == tenant.owner.name
    cookie = session_cookie(page.context, brand["portal_url"])
    assert cookie is not None

    page.click("header form[action='/portal/logout'] button[type=submit]")
    page.wait_for_url(brand["portal_url"] + "login")
    assert_on_login_page(page, brand, returns_to_dashboard=False)
    assert session_cookie(page.context, brand["portal_url"]) is None

    page.goto(brand["portal_url"])
    assert_on_login_page(page, brand, returns_to_dashboard=True)

    # The old token was revoked on the server, not only forgotten by the browser.
    page.context.add_cookies(
        [{"name": SESSION_COOKIE, "value": cookie["value"], "url": brand["driver_url"]}]
    )
    page.goto(brand["portal_url"])
    assert_on_login_page(page, brand, returns_to_dashboard=True)

    # Signing in again from there leads back to the dashboard.
    assert sign_in(page, brand, login["email"], login["password"], open_form=False) == 303
    assert urlsplit(page.url).path.rstrip("/") == "/portal"
    assert page.locator("[data-testid=staff-name]").inner_text() == tenant.owner.name


def test_driver_app_lists_the_brand_locations(
    page: Page, brand: dict[str, Any], tenant: TenantFile
) -> None:
    response = page.goto(brand["driver_url"])
    assert response is not None
    assert response.status == 200
    assert page.locator("[data-testid=brand-name]").inner_text() == tenant.short_name
    cards = page.locator("li.location-card h2")
    names = [cards.nth(i).inner_text() for i in range(cards.count())]
    assert sorted(names) == sorted(tenant.location_names)
