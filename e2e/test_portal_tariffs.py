"""A finance user writes a tariff in the portal's editor, previews a sample session, changes
the price and sees the preview follow without leaving the page, then saves the tariff and
prices the same session on its page."""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import pytest
from babel.numbers import format_currency
from playwright.sync_api import Page, expect

from e2e.support import ARTIFACTS, TenantFile
from e2e.test_portal_login import owner_login, sign_in

pytestmark = pytest.mark.e2e


def test_finance_edits_a_tariff_and_the_price_preview_follows(
    page: Page, brand: dict[str, Any], tenant: TenantFile
) -> None:
    def money(amount: str) -> str:
        return format_currency(Decimal(amount), tenant.currency, locale=tenant.locale)

    login = owner_login(brand)
    assert sign_in(page, brand, login["email"], login["password"]) == 303
    code = f"E2E-{secrets.token_hex(3).upper()}"

    page.goto(brand["portal_url"] + "tariffs")
    page.click("main a[href='/portal/tariffs/new']")
    page.fill("#code", code)
    page.fill("#elements-0-energy-price", "0.30")
    page.fill("#elements-0-energy-vat", "19")
    # The sample session by default: an hour, 20 kWh at up to 22 kW, unplugged at once.
    page.click("#editor-preview button[name=preview]")
    total = page.locator("#editor-preview [data-testid=preview-total-incl]")
    expect(total).to_have_text(money("7.14"))  # 20 kWh x 0.30 = 6.00 + 19 % VAT
    editor_url = page.url

    page.fill("#elements-0-energy-price", "0.45")
    page.click("#editor-preview button[name=preview]")
    expect(total).to_have_text(money("10.71"))  # 9.00 + 19 % VAT
    assert page.url == editor_url  # swapped in place, nothing saved yet
    page.screenshot(path=ARTIFACTS / f"{brand['slug']}-tariff-preview.png", full_page=True)

    page.click("button[name=save]")
    page.wait_for_url(f"**/portal/tariffs/{code}#version-*")
    expect(page.locator("article.tariff-version")).to_have_attribute("data-status", "current")
    page.click("#preview button[type=submit]")
    expect(page.locator("#preview [data-testid=preview-total-incl]")).to_have_text(money("10.71"))
    page.screenshot(path=ARTIFACTS / f"{brand['slug']}-tariff-saved.png", full_page=True)
