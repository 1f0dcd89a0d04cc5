"""A guest charges on a phone: types the code of a simulator charger (a real OCPP 1.6 client
connected to `voltlane run`), pays on the sandbox PSP's hosted card page with the test card
4242 4242 4242 4242, watches the live screen count up, stops, and gets a receipt whose total
is the CDR's (read back through the operator API)."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import pytest
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from playwright.sync_api import Browser, Page, expect

from e2e.support import ARTIFACTS, connected_charger, ocpp_now

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
EMAIL = "guest.e2e@example.com"
RECEIPT_TIMEOUT_MS = 90_000


class SimulatedCharger(ChargePoint):  # type: ignore[misc]
    """Accepts the app's remote start, charges 250 Wh a second at 15 kW, stops when asked."""

    id_tag: str | None = None
    transaction_id: int | None = None
    register = 2_000_000

    @on("RemoteStartTransaction")
    async def on_remote_start(self, id_tag: str, **kwargs: Any) -> Any:
        del kwargs
        self.id_tag = id_tag
        return result16.RemoteStartTransaction(status="Accepted")

    @after("RemoteStartTransaction")
    async def plug_in(self, id_tag: str, **kwargs: Any) -> None:
        del kwargs
        started = await self.call(
            call16.StartTransaction(
                connector_id=1, id_tag=id_tag, meter_start=self.register, timestamp=ocpp_now()
            )
        )
        self.transaction_id = started.transaction_id
        asyncio.get_running_loop().create_task(self._meter())

    async def _meter(self) -> None:
        while self.transaction_id is not None:
            await asyncio.sleep(1)
            if self.transaction_id is None:
                return
            self.register += 250
            await self.call(
                call16.MeterValues(
                    connector_id=1,
                    transaction_id=self.transaction_id,
                    meter_value=[
                        {
                            "timestamp": ocpp_now(),
                            "sampled_value": [
                                {
                                    "value": str(self.register),
                                    "measurand": "Energy.Active.Import.Register",
                                    "unit": "Wh",
                                },
                                {
                                    "value": "15000",
                                    "measurand": "Power.Active.Import",
                                    "unit": "W",
                                },
                            ],
                        }
                    ],
                )
            )

    @on("RemoteStopTransaction")
    async def on_remote_stop(self, transaction_id: int) -> Any:
        del transaction_id
        return result16.RemoteStopTransaction(status="Accepted")

    @after("RemoteStopTransaction")
    async def unplug(self, transaction_id: int) -> None:
        self.transaction_id = None
        await self.call(
            call16.StopTransaction(
                transaction_id=transaction_id,
                meter_stop=self.register,
                timestamp=ocpp_now(),
                reason="Remote",
            )
        )


def cdrs_of(brand: dict[str, Any], web_url: str) -> list[dict[str, Any]]:
    """The brand's CDRs through the operator API (its demo key)."""
    host = urlsplit(brand["api_base_url"]).netloc
    request = urllib.request.Request(
        f"{web_url}/api/v1/cdrs?limit=100",
        headers={"Host": host, "Authorization": f"Bearer {brand['api_key']}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        items: list[dict[str, Any]] = json.load(answer)["items"]
    return items


def minor_units(text: str) -> int:
    """An amount as a page shows it (€3.96, 3,96 €, £3.96) in minor units."""
    digits = re.sub(r"[^\d]", "", text)
    return int(digits)


def test_a_guest_pays_by_card_charges_stops_and_gets_the_receipt_of_the_cdr(
    browser: Browser, demo: dict[str, Any], brand: dict[str, Any]
) -> None:
    station = next(s for s in brand["stations"] if s["station_id"].endswith("-SIM-16"))
    code = f"{station['station_id']}-1"
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(20_000)
    page: Page = context.new_page()
    script_errors: list[str] = []
    page.on("pageerror", lambda exc: script_errors.append(f"{page.url}: {exc}"))
    shots = f"{brand['slug']}-guest-charge"
    try:
        with connected_charger(
            station["ocpp_url"],
            station["station_id"],
            station["password"],
            SimulatedCharger,
            vendor="Voltlane",
            model="Sim",
            report_available=True,
        ) as connected:
            page.goto(brand["driver_url"] + "charge")
            # The scan button only where the browser reads QR codes itself.
            scan = expect(page.locator("[data-scan]"))
            if page.evaluate("'BarcodeDetector' in window"):
                scan.to_be_visible()
            else:
                scan.to_be_hidden()
            page.screenshot(path=ARTIFACTS / f"{shots}-1-find.png", full_page=True)
            # The brand's own language: the page is found by its form's fields, not its words.
            page.fill("#code", code.lower())
            page.locator("form.charge-code button[type=submit]").click()
            page.wait_for_url(f"**/charge/{code}")
            expect(page.get_by_test_id("evse-code")).to_have_text(code)
            page.screenshot(path=ARTIFACTS / f"{shots}-2-point.png", full_page=True)

            page.fill("#email", EMAIL)
            page.locator("[data-testid=guest-form] button[type=submit]").click()
            # The sandbox PSP's hosted card page, on its own origin.
            page.wait_for_selector("#field-number")
            assert urlsplit(page.url).netloc != urlsplit(brand["driver_url"]).netloc
            page.fill("#field-number", "4242 4242 4242 4242")
            page.fill("#field-expiry", "12 / 34")
            page.fill("#field-cvc", "123")
            page.screenshot(path=ARTIFACTS / f"{shots}-3-card.png", full_page=True)
            page.locator("form button[type=submit]").first.click()

            page.wait_for_url(re.compile(r".*/charge/live/[0-9a-f-]{36}$"))
            assert "k=" not in page.url  # the link's secret went into a cookie
            first = page.get_by_test_id("live-energy")
            expect(first).to_be_visible(timeout=30_000)
            before = first.inner_text()
            # The screen refreshes itself every 5 seconds while the charger counts up.
            expect(page.get_by_test_id("live-energy")).not_to_have_text(before, timeout=15_000)
            expect(page.get_by_test_id("live-power")).to_have_text(re.compile(r"15[.,]0\s?kW"))
            page.screenshot(path=ARTIFACTS / f"{shots}-4-live.png", full_page=True)

            page.get_by_test_id("stop").click()
            expect(page.get_by_test_id("message")).to_be_visible()
            total = page.get_by_test_id("receipt-total")
            expect(total).to_be_visible(timeout=RECEIPT_TIMEOUT_MS)
            expect(page.get_by_test_id("receipt-pdf")).to_be_visible(timeout=RECEIPT_TIMEOUT_MS)
            page.screenshot(path=ARTIFACTS / f"{shots}-5-receipt.png", full_page=True)
            receipt_total = minor_units(total.inner_text())
            paid = page.get_by_test_id("card-paid").inner_text()
            mailed = page.get_by_test_id("receipt-mailed").is_visible()
            id_tag = connected.charger.id_tag
        [cdr] = [c for c in cdrs_of(brand, demo["web_url"]) if c["id_token"] == id_tag]
        assert receipt_total == cdr["total_incl_vat"] > 0
        assert minor_units(paid) == cdr["total_incl_vat"]
        assert mailed
        assert not script_errors, "script errors in the page:\n" + "\n".join(script_errors)
    finally:
        context.close()
