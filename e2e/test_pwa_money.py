"""Money in a driver's account on a phone (390x844), in each demo brand: a new driver saves a
card on the sandbox PSP's hosted page, tops up the wallet by an amount typed in the brand's
language with the keyboard, and finds the plans and loyalty pages. The pages are found by
their fields and test ids, not by their words, so a translation does not break them."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from e2e.support import ARTIFACTS

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
# 25 in the brand's currency as a driver types it, and as the app shows it.
TYPED = {"de": "25,00", "en": "25.00"}
SHOWN = {"EUR": re.compile(r"^25,00\s€$"), "GBP": re.compile(r"^£25\.00$")}


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"


def test_a_new_driver_saves_a_card_and_tops_up_the_wallet_by_keyboard(
    browser: Browser, brand: dict[str, Any]
) -> None:
    app = brand["driver_url"].rstrip("/")
    language = brand["locale"].split("_")[0]
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(20_000)
    page: Page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda exc: script_errors.append(f"{page.url}: {exc}"))
    shots = f"{brand['slug']}-money"
    try:
        # Signed out, a money page leads to sign-in and remembers where to come back.
        page.goto(f"{app}/account/wallet")
        assert urlsplit(page.url).path == "/account/sign-in"
        page.goto(f"{app}/account/sign-up")
        page.fill("#name", "Mia Keller")
        page.fill("#email", f"e2e-money-{secrets.token_hex(4)}@example.com")
        page.fill("#password", "e2e-password-123")
        page.select_option("#locale", brand["locale"])
        page.check("#terms")
        page.locator("form[action='/account/sign-up'] button[type=submit]").click()
        page.wait_for_url(re.compile(r".*/account(\?.*)?$"))

        # No card yet: add one on the PSP's own page.
        page.goto(f"{app}/account/payment-methods")
        expect(page.locator("[data-card]")).to_have_count(0)
        page.locator("form[action='/account/payment-methods/add'] button[type=submit]").click()
        page.wait_for_selector("#field-number")
        assert urlsplit(page.url).netloc != urlsplit(app).netloc
        page.fill("#field-number", "4242 4242 4242 4242")
        page.fill("#field-expiry", "12 / 34")
        page.fill("#field-cvc", "123")
        page.locator("form button[type=submit]").first.click()
        page.wait_for_url(re.compile(r".*/account/payment-methods\?notice=added$"))
        expect(page.get_by_test_id("card-label")).to_have_text("Visa •••• 4242")
        expect(page.get_by_test_id("default-card")).to_be_visible()
        no_sideways_scroll(page)
        page.screenshot(path=ARTIFACTS / f"{shots}-1-cards.png", full_page=True)

        # The wallet: type the amount in the brand's language and send it with Enter.
        page.goto(f"{app}/account/wallet")
        expect(page.get_by_test_id("top-up-card")).to_contain_text("Visa •••• 4242")
        page.focus("#custom")
        page.keyboard.type(TYPED[language])
        page.screenshot(path=ARTIFACTS / f"{shots}-2-top-up.png", full_page=True)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r".*/account/wallet/top-ups/[0-9a-f-]{36}$"))
        expect(page.locator("[data-status]")).to_have_attribute("data-status", "captured")
        expect(page.get_by_test_id("wallet-balance")).to_have_text(SHOWN[brand["currency"]])
        page.screenshot(path=ARTIFACTS / f"{shots}-3-topped-up.png", full_page=True)
        # Reloading the confirmation sends nothing again.
        page.reload()
        page.goto(f"{app}/account/wallet")
        expect(page.get_by_test_id("wallet-balance")).to_have_text(SHOWN[brand["currency"]])
        expect(page.locator("[data-move=topup]")).to_have_count(1)
        no_sideways_scroll(page)

        # The plan and the points: the driver's current state, reachable from the account.
        page.goto(f"{app}/account")
        page.locator("a[href='/account/subscription']").click()
        expect(page.get_by_test_id("current-plan")).to_be_visible()
        no_sideways_scroll(page)
        page.goto(f"{app}/account/loyalty")
        expect(page.get_by_test_id("points")).to_have_text("0")
        no_sideways_scroll(page)
        page.screenshot(path=ARTIFACTS / f"{shots}-4-loyalty.png", full_page=True)
        assert script_errors == []
    finally:
        context.close()
