"""An operator onboards a station in the portal; a real OCPP 1.6 charger connects with the
URL and password shown once, the station page turns online by itself and a command sent
from the portal comes back accepted."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint
from ocpp.v16 import call_result as result16
from playwright.sync_api import Page, expect

from e2e.support import ARTIFACTS, connected_charger
from e2e.test_portal_login import owner_login, sign_in

pytestmark = pytest.mark.e2e


class Charger(ChargePoint):  # type: ignore[misc]
    """A charger that accepts what the platform triggers."""

    @on("TriggerMessage")
    async def on_trigger(self, **payload: Any) -> Any:
        del payload
        return result16.TriggerMessage(status="Accepted")


def test_operator_onboards_a_station_that_connects_and_answers(
    page: Page, brand: dict[str, Any]
) -> None:
    login = owner_login(brand)
    assert sign_in(page, brand, login["email"], login["password"]) == 303
    station_id = f"E2E-{secrets.token_hex(3).upper()}"

    page.goto(brand["portal_url"] + "stations")
    page.screenshot(path=ARTIFACTS / f"{brand['slug']}-stations.png", full_page=True)
    page.click("main a[href='/portal/stations/new']")
    # One of the brand's own sites (a new one would change what the other journeys count).
    page.select_option("#location", index=1)
    page.click("main form[method=post] button[type=submit]")
    page.wait_for_url("**/portal/stations/new/station?location_id=*")

    page.screenshot(path=ARTIFACTS / f"{brand['slug']}-station-wizard.png", full_page=True)
    page.fill("#station_id", station_id)
    page.select_option("#security_profile", "1")
    # An industrial CEE socket: a plug none of the demo sites has, so the driver app's
    # filters (e2e/test_pwa_finder.py, run later) count what the tenant files list.
    page.select_option("#evse1_c1_standard", "IEC_60309_2_three_32")
    page.fill("#evse1_c1_max_voltage", "400")
    page.fill("#evse1_c1_max_amperage", "32")
    page.fill("#evse1_c1_max_electric_power", "22000")
    page.click("main form[method=post] button[type=submit]")
    expect(page.locator("[data-testid=station-password]")).to_be_visible()
    ocpp_url = page.locator("[data-testid=ocpp-url]").inner_text()
    password = page.locator("[data-testid=station-password]").inner_text()
    assert ocpp_url.startswith("ws://")
    assert ocpp_url.endswith(f"/ocpp/{brand['key']}/{station_id}")
    assert len(password) == 32
    page.screenshot(path=ARTIFACTS / f"{brand['slug']}-station-credentials.png", full_page=True)

    page.click("main a.button[href^='/portal/stations/']")
    connectivity = page.locator("[data-testid=connectivity]")
    expect(connectivity.locator(".badge")).not_to_have_class("badge good")
    with connected_charger(ocpp_url, station_id, password, Charger) as connected:
        assert connected.boot_status == "Accepted"
        # The status panel polls every 5 s: no reload.
        expect(connectivity.locator(".badge")).to_have_class("badge good", timeout=15_000)
        page.screenshot(path=ARTIFACTS / f"{brand['slug']}-station-online.png", full_page=True)

        page.click("nav.tabs a[href$='/commands']")
        page.click("#send-trigger-message summary")
        page.select_option("#trigger-message-message", "Heartbeat")
        page.click("#send-trigger-message button[type=submit]")
        page.wait_for_url("**/commands#command-*")
        row = page.locator("tr[data-command-status]").first
        expect(row).to_have_attribute("data-command-status", "accepted")
        expect(row.locator("th")).to_have_text("TriggerMessage")
        page.screenshot(path=ARTIFACTS / f"{brand['slug']}-station-command.png", full_page=True)
