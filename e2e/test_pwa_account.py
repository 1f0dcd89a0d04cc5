"""A driver's account on a phone: sign up, open the confirmation link (read from the brand's
outbox through the operator API, as support would), then the demo driver signs in, charges
with her card at a simulator charger (a real OCPP 1.6 client), finds the session with its
receipt (page and PDF) and switches the app's language."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from ocpp.v16 import ChargePoint
from ocpp.v16 import call as call16
from playwright.sync_api import Browser, Page, expect
from websockets.asyncio.client import connect

from e2e.support import ARTIFACTS

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
SLUG = "voltaria"
DEMO_DRIVER = "lena@voltaria.example"
DEMO_CARD = "VLTLENA0001"
RECEIPT_TIMEOUT_S = 90


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def charge_with_card(station: dict[str, Any], id_tag: str, wh: int) -> None:
    """A whole session at the simulator: boot, authorize the card, start, stop after ``wh``."""
    errors: list[BaseException] = []

    async def session() -> None:
        url = urlsplit(station["ocpp_url"])
        token = base64.b64encode(f"{station['station_id']}:{station['password']}".encode())
        async with connect(
            f"ws://127.0.0.1:{url.port}{url.path}",
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Basic {token.decode()}"},
            compression=None,
        ) as ws:
            cp = ChargePoint(station["station_id"], ws)
            task = asyncio.create_task(cp.start())
            await cp.call(
                call16.BootNotification(charge_point_vendor="Voltlane", charge_point_model="Sim")
            )
            authorized = await cp.call(call16.Authorize(id_tag=id_tag))
            assert authorized.id_tag_info["status"] == "Accepted", authorized
            now = datetime.now(UTC)
            started = await cp.call(
                call16.StartTransaction(
                    connector_id=1,
                    id_tag=id_tag,
                    meter_start=3_000_000,
                    timestamp=_iso(now - timedelta(minutes=40)),
                )
            )
            await cp.call(
                call16.StopTransaction(
                    transaction_id=started.transaction_id,
                    meter_stop=3_000_000 + wh,
                    timestamp=_iso(now),
                    id_tag=id_tag,
                    reason="Local",
                )
            )
            task.cancel()

    def main() -> None:
        try:
            asyncio.run(session())
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), "the simulator session did not end within 60 s"
    assert not errors, f"the simulator failed: {errors[0]!r}"


def api_get(brand: dict[str, Any], web_url: str, path: str) -> Any:
    """GET on the brand's operator API with its demo key."""
    host = urlsplit(brand["api_base_url"]).netloc
    request = urllib.request.Request(
        f"{web_url}/api/v1{path}",
        headers={"Host": host, "Authorization": f"Bearer {brand['api_key']}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def minor_units(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def test_a_driver_signs_up_confirms_sees_a_receipt_and_switches_language(
    browser: Browser, demo: dict[str, Any], demo_password: str
) -> None:
    brand = next(b for b in demo["brands"] if b["slug"] == SLUG)
    station = next(s for s in brand["stations"] if s["station_id"].endswith("-SIM-16"))
    app = brand["driver_url"].rstrip("/")
    email = f"e2e-{secrets.token_hex(4)}@example.com"
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(20_000)
    page: Page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda exc: script_errors.append(f"{page.url}: {exc}"))
    shot = f"{SLUG}-account"
    try:
        # Signed out, the Account tab leads to sign-in and back.
        page.goto(f"{app}/account")
        assert urlsplit(page.url).path == "/account/sign-in"
        page.screenshot(path=ARTIFACTS / f"{shot}-1-sign-in.png", full_page=True)

        page.locator("a[href='/account/sign-up']").click()
        page.fill("#name", "Erika Mustermann")
        page.fill("#email", email)
        page.fill("#password", "e2e-password-123")
        expect(page.locator("#country")).to_have_value("DE")
        page.select_option("#locale", "de_DE")
        page.check("#terms")
        page.screenshot(path=ARTIFACTS / f"{shot}-2-sign-up.png", full_page=True)
        page.locator("form[action='/account/sign-up'] button[type=submit]").click()
        page.wait_for_url("**/account?welcome=1")
        expect(page.get_by_test_id("driver-name")).to_have_text("Erika Mustermann")
        expect(page.locator("#verify-banner")).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"{shot}-3-unconfirmed.png", full_page=True)

        # The confirmation e-mail waits in the brand's outbox (no SMTP server in the demo).
        mails = api_get(brand, demo["web_url"], f"/notifications?recipient={quote(email)}")
        [mail] = [m for m in mails["items"] if m["kind"] == "driver.verify"]
        link = re.search(r"https?://\S+/account/verify/[A-Za-z0-9_-]+", mail["body"])
        assert link is not None, mail["body"]
        page.goto(link.group(0))
        expect(page.locator("#verify-banner")).to_have_count(0)
        expect(page.locator("#notice")).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"{shot}-4-confirmed.png", full_page=True)
        page.locator("form[action='/account/sign-out'] button[type=submit]").click()
        page.wait_for_url("**/account/sign-in?notice=signed_out")

        # The demo driver's card charges 7.5 kWh at the simulator.
        charge_with_card(station, DEMO_CARD, 7_500)
        page.fill("#email", DEMO_DRIVER)
        page.fill("#password", demo_password)
        page.locator("form[action='/account/sign-in'] button[type=submit]").click()
        page.wait_for_url("**/account")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        page.locator("a[href='/account/history']").click()
        receipt_link = page.locator("[data-testid=history] a[href^='/account/receipts/']").first
        for _ in range(RECEIPT_TIMEOUT_S // 3):
            if receipt_link.count():
                break
            page.wait_for_timeout(3_000)
            page.reload()
        expect(receipt_link).to_be_visible()
        first_row = page.locator("[data-testid=history] li").first
        expect(first_row).to_contain_text("7,50 kWh")
        page.screenshot(path=ARTIFACTS / f"{shot}-5-history.png", full_page=True)

        receipt_link.click()
        total = page.get_by_test_id("receipt-total")
        expect(total).to_be_visible()
        number = page.get_by_test_id("receipt-number").inner_text()
        page.screenshot(path=ARTIFACTS / f"{shot}-6-receipt.png", full_page=True)
        with page.expect_download() as download:
            page.locator("a[href$='/pdf']").click()
        assert download.value.suggested_filename == f"{number}.pdf"
        pdf = download.value.path().read_bytes()
        assert pdf.startswith(b"%PDF")
        cdrs = api_get(brand, demo["web_url"], "/cdrs?limit=100")["items"]
        [cdr] = [c for c in cdrs if c["id_token"] == DEMO_CARD]
        assert minor_units(total.inner_text()) == cdr["total_incl_vat"] > 0

        # English from now on: the account's language and every page.
        page.goto(f"{app}/account")
        page.select_option("#locale", "en_GB")
        page.locator("form[action='/account/language'] button[type=submit]").click()
        page.wait_for_url("**/account?notice=language")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("#notice")).to_have_text("Your language is saved.")
        page.goto(f"{app}/account/history")
        expect(page.locator("h1")).to_have_text("Sessions and receipts")
        expect(page.locator("[data-testid=history] li").first).to_contain_text("7.50 kWh")
        page.screenshot(path=ARTIFACTS / f"{shot}-7-english.png", full_page=True)
        assert not script_errors, "script errors in the page:\n" + "\n".join(script_errors)
    finally:
        context.close()
