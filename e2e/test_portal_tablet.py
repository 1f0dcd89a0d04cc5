"""An operator works the portal on a tablet, upright (768x1024) and on its side (1024x768):
no page scrolls sideways, the menu is reached and followed with the keyboard alone, and
every form control has a label a screen reader announces."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from e2e.conftest import PAGE_TIMEOUT_MS
from e2e.support import ARTIFACTS, TenantFile
from e2e.test_portal_login import owner_login, sign_in
from voltlane.web.i18n import translations

pytestmark = pytest.mark.e2e

TABLETS = {"portrait": (768, 1024), "landscape": (1024, 768)}
MAX_TABS = 40  # key presses allowed to reach a menu link from the top of a page

# document.scrollingElement scrolls sideways when its content is wider than the window.
PAGE_WIDTH_JS = """
() => {
  const root = document.scrollingElement;
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth};
}
"""
# Every visible form control and how it is named: a <label>, aria-label or aria-labelledby.
UNLABELLED_JS = """
() => Array.from(document.querySelectorAll("input, select, textarea"))
  .filter((el) => el.type !== "hidden" && el.getClientRects().length > 0)
  .filter((el) => {
    const labelled = Array.from(el.labels || []).some((l) => l.textContent.trim() !== "");
    const named = (el.getAttribute("aria-label") || "").trim() !== "";
    const referenced = (el.getAttribute("aria-labelledby") || "").split(/\\s+/)
      .some((id) => id && document.getElementById(id)?.textContent.trim());
    return !(labelled || named || referenced);
  })
  .map((el) => el.outerHTML.slice(0, 120))
"""
FOCUSED_HREF_JS = "() => document.activeElement?.getAttribute('href') ?? null"


@pytest.fixture(params=sorted(TABLETS), ids=sorted(TABLETS))
def tablet(request: pytest.FixtureRequest, browser: Browser) -> Any:
    """A tab with the tablet's viewport and touch, like the page fixture's otherwise."""
    width, height = TABLETS[request.param]
    context = browser.new_context(viewport={"width": width, "height": height}, has_touch=True)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    yield request.param, page
    context.close()
    assert not errors, "script errors in the page:\n" + "\n".join(errors)


def check_layout(page: Page, shot: str) -> None:
    """The page fits the tablet's width and names every control; a screenshot of it."""
    page.screenshot(path=ARTIFACTS / f"{shot}.png", full_page=True)
    width = page.evaluate(PAGE_WIDTH_JS)
    assert width["scrollWidth"] <= width["clientWidth"], (
        f"{page.url} scrolls sideways: {width['scrollWidth']} px of content in "
        f"{width['clientWidth']} px"
    )
    assert page.evaluate(UNLABELLED_JS) == [], f"{page.url} has controls without a label"


def tab_to(page: Page, href: str) -> None:
    """Press Tab from the top of a freshly loaded page until the link to ``href`` has the
    focus."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUSED_HREF_JS) == href:
            return
    pytest.fail(f"{MAX_TABS} presses of Tab never reached the menu link {href} on {page.url}")


def test_the_portal_fits_a_tablet_and_works_with_the_keyboard(
    tablet: tuple[str, Page], brand: dict[str, Any], tenant: TenantFile
) -> None:
    orientation, page = tablet
    words = translations(tenant.locale).gettext
    login = owner_login(brand)
    assert sign_in(page, brand, login["email"], login["password"]) == 303
    shot = f"{brand['slug']}-tablet-{orientation}"

    # The dashboard; the menu is followed with Tab and Enter alone.
    page.goto(brand["portal_url"])
    check_layout(page, f"{shot}-dashboard")
    menu = page.locator("header nav.menu")
    expect(menu.locator("a[href='/portal/stations']")).to_be_visible()
    tab_to(page, "/portal/stations")
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/stations")
    expect(menu.locator("a[href='/portal/stations']")).to_have_attribute("aria-current", "page")

    # The stations, searched through the field's label; then one station's page.
    check_layout(page, f"{shot}-stations")
    station_id = tenant.station_ids[0]
    page.get_by_label(words("Search"), exact=True).fill(station_id)
    page.get_by_label(words("Search"), exact=True).press("Enter")
    page.wait_for_url(re.compile(rf"/portal/stations\?(.*&)?q={re.escape(station_id)}(&|$)"))
    station_link = page.locator("#stations-table a", has_text=station_id).first
    expect(station_link).to_be_visible()
    station_link.click()
    page.wait_for_url("**/portal/stations/*")
    expect(page.locator("h1")).to_have_text(station_id)
    check_layout(page, f"{shot}-station")

    # Sessions, filtered by station through the field's label.
    tab_to(page, "/portal/sessions")
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/sessions")
    check_layout(page, f"{shot}-sessions")
    page.get_by_label(words("Station id"), exact=True).fill(station_id)
    page.get_by_label(words("Station id"), exact=True).press("Enter")
    page.wait_for_url(re.compile(rf"/portal/sessions\?(.*&)?station={re.escape(station_id)}(&|$)"))
    check_layout(page, f"{shot}-sessions-filtered")

    # Tariffs, the finance documents (filtered by number) and the settings.
    tab_to(page, "/portal/tariffs")
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/tariffs")
    check_layout(page, f"{shot}-tariffs")

    page.goto(brand["portal_url"] + "finance/documents")
    check_layout(page, f"{shot}-documents")
    page.get_by_label(words("Number"), exact=True).fill("2026")
    page.get_by_label(words("Number"), exact=True).press("Enter")
    page.wait_for_url(re.compile(r"/portal/finance/documents\?(.*&)?number=2026(&|$)"))
    check_layout(page, f"{shot}-documents-filtered")

    tab_to(page, "/portal/settings")
    page.keyboard.press("Enter")
    page.wait_for_url("**/portal/settings")
    check_layout(page, f"{shot}-settings")
    # A required field's label ends in an asterisk hidden from screen readers.
    expect(page.get_by_role("textbox", name=words("Display name"), exact=True)).to_be_editable()
