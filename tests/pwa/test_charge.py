"""Charging from the driver app: a charging point found by its code, a guest paying on the
PSP's hosted page, the remote start over the command path to a real OCPP charger, the live
screen, the stop and the receipt, whose total is the CDR's and the captured amount; the
link's secret and other brands."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from litestar import Litestar
from sqlalchemy import select

from tests.api.conftest import api_client
from tests.fakes.psp import FakeStripe
from tests.ocpp.conftest import add_ocpp_station, gateway
from tests.pwa.charge_chargers import READ_AT, charger
from tests.pwa.charge_support import (
    APP_STATION,
    EMAIL,
    app_brand,
    begin_as_guest,
    card_brand,
    charge_request,
    charging_at,
    fake_stripe,
    follow,
    page_csrf,
    payment_of,
    receipt_of,
    request_id_of,
    rows,
    screen_clock,
    start_as_guest,
    start_on_account,
    state_of,
    stop_and_bill,
    text_of,
    wait_for_state,
)
from tests.pwa.money_factories import add_card, add_driver, sign_in_as
from tests.web.helpers import HTML, csrf_token
from voltlane.billing.session_costs import session_costs
from voltlane.core.db import Database
from voltlane.models.tenant import (
    ChargeRequest,
    ChargeRequestStatus,
    ChargingSession,
    IdToken,
    IdTokenStatus,
    Notification,
    PaymentStatus,
)
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings

__all__ = ["fake_stripe", "gateway", "screen_clock"]


@pytest.mark.parametrize(
    ("protocol", "token_type"), [("ocpp1.6", "ISO14443"), ("ocpp2.0.1", "Central")]
)
async def test_a_guest_pays_by_card_charges_stops_and_gets_the_receipt_of_the_cdr(
    database: Database,
    settings: Settings,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
    protocol: str,
    token_type: str,
) -> None:
    fake, stripe_url = fake_stripe
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url)
    async with charging_at(app, gateway, brand, protocol) as (station, client):
        point = await client.get("/charge/DETSTE00011", headers=HTML)
        request_id, started = await start_as_guest(client, "DETSTE00011")
        live = await wait_for_state(client, request_id, "charging", energy="3.50 kWh")
        request = await charge_request(database, brand, request_id)
        session_id = request.session_id
        assert session_id is not None
        async with database.tenant_session(brand.key) as db_session:
            expected_cost = (await session_costs(db_session, [session_id], now=READ_AT))[session_id]
        page = await client.get(f"/charge/live/{request_id}", headers=HTML)
        billed = await stop_and_bill(database, settings, brand, client, request_id, page.text)
    stop, cdr, receipt_page = billed.stop, billed.cdr, billed.receipt_page

    assert point.status_code == 200
    assert text_of(point.text, "evse-code") == "DETSTE00011"
    assert text_of(point.text, "plug") == "Type 2 · Socket · 22 kW"
    assert text_of(point.text, "prices") == "€0.4641/kWh · €0.60 per session"
    assert started.status_code == 200
    # The charger was asked once, for EVSE 1, with the request's own token.
    token = request.id_token
    assert len(token) == 20
    assert token.startswith("VLA")
    assert station.received[0] in (f"start {token} 1", f"start {token} Central 1")
    # Live: 3.5 kWh after 15 minutes at 14 kW, read at 30 minutes; the cost is the engine's.
    assert text_of(live, "live-energy") == "3.50 kWh"
    assert text_of(live, "live-power") == "14.0 kW"
    assert text_of(live, "live-duration") == "0:30:00"
    assert expected_cost.total_incl_vat == 223  # (3.5 x 0.39 + 0.50) -> 1.87 + 0.36 VAT
    assert text_of(live, "live-cost") == "€2.23"
    assert 'hx-trigger="every 5s"' in live
    assert 'data-push-subscribe data-charge-request="' + str(request_id) in live
    assert stop.status_code == 200
    assert text_of(stop.text, "message") == (
        "The charger is stopping. Unplug your cable once the charger releases it."
    )
    # 7.25 kWh x 0.39 + 0.50 = 3.3275 -> 3.33 net + 0.63 VAT = 3.96.
    payment = await payment_of(database, brand, request_id)
    assert (cdr.total_incl_vat, cdr.currency) == (396, "EUR")
    assert (payment.status, payment.amount_authorized, payment.amount_captured) == (
        PaymentStatus.CAPTURED,
        5000,
        396,
    )
    assert fake.captured_amounts[payment.psp_reference] == 396
    receipt = await receipt_of(database, brand, session_id)
    assert receipt.total_gross == cdr.total_incl_vat == payment.amount_captured
    assert state_of(receipt_page.text) == "finished"
    assert text_of(receipt_page.text, "receipt-total") == "€3.96"
    assert text_of(receipt_page.text, "receipt-energy") == "7.25 kWh"
    assert text_of(receipt_page.text, "receipt-duration") == "0:45:00"
    assert text_of(receipt_page.text, "card-paid") == "Charged to your card: €3.96"
    assert text_of(receipt_page.text, "receipt-mailed") == "We e-mailed it to you as well."
    assert f'href="/documents/{receipt.id}/' in receipt_page.text
    assert 'hx-trigger="every 5s"' not in receipt_page.text
    # The guest's token and account: billed to a guest account that mails the receipt.
    async with database.tenant_session(brand.key) as db_session:
        id_token = await db_session.scalar(select(IdToken).where(IdToken.id_token == token))
        mails = list(
            await db_session.scalars(
                select(Notification).where(Notification.reference == str(receipt.id))
            )
        )
        session = await db_session.get(ChargingSession, session_id)
    assert id_token is not None
    assert (id_token.type.value, id_token.status, id_token.account_id) == (
        token_type,
        IdTokenStatus.ACCEPTED,
        request.account_id,
    )
    assert session is not None
    assert session.id_token == token
    assert [(m.recipient, m.kind) for m in mails] == [(EMAIL, "document.receipt")]
    assert (await charge_request(database, brand, request_id)).status is (
        ChargeRequestStatus.FINISHED
    )


async def test_a_code_is_read_in_any_form_and_an_unknown_one_is_refused_beside_the_field(
    database: Database,
    make_brand: Any,
    app: Litestar,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake, stripe_url = fake_stripe
    brand = await card_brand(
        database, make_brand, monkeypatch, stripe_url, "CP-A", emi3_id="DE*TST*E0007*1"
    )
    await add_ocpp_station(database, brand, "vlt*sim-16")
    async with api_client(app, brand, None) as client:
        found = {
            typed: (await client.get(f"/charge?code={quote(typed)}", headers=HTML))
            for typed in ("DE*TST*E0007*1", "de*tst*e0007*1", "DE TST E0007 1", "E0007*1", "e00071")
        }
        lower = await client.get("/charge/detste00071", headers=HTML)
        plain = await client.get("/charge/VLTSIM-16-1", headers=HTML)
        unknown = await client.get("/charge?code=DE*TST*E9999*1", headers=HTML)
        empty = await client.get("/charge?code=+", headers=HTML)
        unknown_path = await client.get("/charge/NOPE-1", headers=HTML)
        index = await client.get("/charge", headers=HTML)
    assert {
        typed: (r.status_code, r.headers["location"]) for typed, r in found.items()
    } == dict.fromkeys(found, (303, "/charge/DETSTE00071"))
    assert (lower.status_code, lower.headers["location"]) == (301, "/charge/DETSTE00071")
    assert plain.status_code == 200
    assert text_of(plain.text, "evse-code") == "VLTSIM-16-1"
    assert unknown.status_code == 404
    assert text_of(unknown.text, "code-error") == (
        "We know no charging point with this code. Check the code on the charger."
    )
    assert 'value="DE*TST*E9999*1"' in unknown.text
    assert empty.status_code == 400
    assert text_of(empty.text, "code-error") == "Enter the code printed on the charger."
    assert unknown_path.status_code == 404
    assert 'value="NOPE-1"' in unknown_path.text
    assert index.status_code == 200
    assert "data-scan hidden" in index.text
    assert "/assets/js/scan.js?v=" in index.text


async def test_another_brands_charging_point_and_charge_are_not_found_here(
    database: Database,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake, stripe_url = fake_stripe
    brand = await card_brand(database, make_brand, monkeypatch, stripe_url, "CP-A")
    other = await card_brand(
        database, make_brand, monkeypatch, stripe_url, "CP-B", emi3_id="DE*OTH*E0001*1"
    )
    async with charging_at(app, gateway, other, station_id="CP-B") as (_station, there):
        sent = await begin_as_guest(there, "DEOTHE00011")
    their_request = (await rows(database, other, select(ChargeRequest)))[0]
    async with api_client(app, brand, None) as client:
        code = await client.get("/charge/DEOTHE00011", headers=HTML)
        typed = await client.get("/charge?code=DE*OTH*E0001*1", headers=HTML)
        live = await client.get(f"/charge/live/{their_request.id}", headers=HTML)
        secret = sent.cookies.get("vl_charge")
        with_secret = await client.get(f"/charge/live/{their_request.id}?k={secret}", headers=HTML)
    assert sent.status_code == 303
    assert (code.status_code, typed.status_code) == (404, 404)
    assert (live.status_code, with_secret.status_code) == (404, 404)
    assert await rows(database, brand, select(ChargeRequest)) == []


async def test_only_its_driver_or_the_holder_of_its_link_opens_a_charge(
    database: Database,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake, stripe_url = fake_stripe
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url)
    driver_account, driver_token = await add_driver(database, brand)
    _other_account, other_token = await add_driver(database, brand, "jonas@example.com")
    async with charger(gateway, brand, APP_STATION, "ocpp1.6", "Unplugged"):
        async with api_client(app, brand, None) as guest:
            sent = await begin_as_guest(guest, "DETSTE00011")
            secret = sent.cookies.get("vl_charge")
            [request] = await rows(database, brand, select(ChargeRequest))
            own = await guest.get(f"/charge/live/{request.id}", headers=HTML)
            # Back from the PSP without a card: the card page again, or give up.
            pay_again = await guest.post(
                f"/charge/live/{request.id}/pay",
                data={"_csrf_token": csrf_token(own.text)},
                headers=HTML,
            )
        async with api_client(app, brand, None) as stranger:
            missing = await stranger.get(f"/charge/live/{request.id}", headers=HTML)
            status = await stranger.get(f"/charge/live/{request.id}/status", headers=HTML)
            wrong = await stranger.get(f"/charge/live/{request.id}?k=not-the-secret", headers=HTML)
            cancel = await stranger.post(f"/charge/live/{request.id}/cancel", headers=HTML)
            token = csrf_token((await stranger.get("/charge/DETSTE00011", headers=HTML)).text)
            cancel_with_token = await stranger.post(
                f"/charge/live/{request.id}/cancel", data={"_csrf_token": token}, headers=HTML
            )
            sign_in_as(stranger, other_token)
            other_driver = await stranger.get(f"/charge/live/{request.id}", headers=HTML)
            unknown = await stranger.get(f"/charge/live/{uuid.uuid4()}", headers=HTML)
        async with api_client(app, brand, None) as phone:
            linked = await phone.get(f"/charge/live/{request.id}?k={secret}", headers=HTML)
            after = await phone.get(f"/charge/live/{request.id}", headers=HTML)
        async with api_client(app, brand, None) as driver:
            sign_in_as(driver, driver_token)
            await add_card(database, brand, driver_account)
            # A request of the driver's own account, paid with their card.
            _opened, mine = await start_on_account(driver)
            own_id = request_id_of(mine.headers["location"])
            own_page = await driver.get(f"/charge/live/{own_id}", headers=HTML)
            guests = await driver.get(f"/charge/live/{request.id}", headers=HTML)
        async with api_client(app, brand, None) as guest_again:
            drivers = await guest_again.get(f"/charge/live/{own_id}?k={secret}", headers=HTML)
            mine_again = await follow(guest_again, f"/charge/live/{request.id}?k={secret}")
            cancelled = await guest_again.post(
                f"/charge/live/{request.id}/cancel",
                data={"_csrf_token": csrf_token(mine_again.text)},
                headers=HTML,
            )
            after_cancel = await guest_again.get(f"/charge/live/{request.id}", headers=HTML)
    assert sent.status_code == 303
    assert sent.headers["location"].startswith(stripe_url)
    set_cookie = sent.headers["set-cookie"]
    assert f"Path=/charge/live/{request.id}" in set_cookie
    assert "HttpOnly" in set_cookie
    assert "SameSite=lax" in set_cookie.replace("Lax", "lax")
    assert request.access_hash == hashlib.sha256(str(secret).encode()).hexdigest()
    assert own.status_code == 200
    assert state_of(own.text) == "awaiting_payment"
    assert [r.status_code for r in (missing, status, wrong, cancel, other_driver, unknown)] == [
        404,
        404,
        404,
        403,  # no CSRF token: refused before anything is looked up
        404,
        404,
    ]
    assert cancel_with_token.status_code == 404
    assert linked.status_code == 303
    assert linked.headers["location"] == f"/charge/live/{request.id}"
    assert f"Path=/charge/live/{request.id}" in linked.headers["set-cookie"]
    assert after.status_code == 200
    assert mine.status_code == 303
    assert own_page.status_code == 200
    assert guests.status_code == 404
    assert drivers.status_code == 404  # a guest's secret opens that guest's charge only
    assert pay_again.status_code == 303
    assert pay_again.headers["location"].startswith(stripe_url)
    assert cancelled.status_code == 303
    assert (
        text_of(after_cancel.text, "failure") == "You cancelled this charge. Nothing was charged."
    )
    assert (await charge_request(database, brand, request.id)).status is (
        ChargeRequestStatus.CANCELLED
    )


async def test_a_charging_point_without_a_price_in_force_offers_no_start(
    database: Database,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake, stripe_url = fake_stripe
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url, tariff=False)
    async with charging_at(app, gateway, brand) as (_station, client):
        point = await client.get("/charge/DETSTE00011", headers=HTML)
        token = page_csrf((await client.get("/charge", headers=HTML)).text)
        sent = await client.post(
            "/charge/DETSTE00011/guest",
            data={"email": EMAIL, "_csrf_token": token},
            headers=HTML,
        )
    assert point.status_code == 200
    assert text_of(point.text, "prices") == (
        "There is no price for this charging point at the moment, so it cannot be started"
        " from the app."
    )
    assert 'data-testid="guest-form"' not in point.text
    assert sent.status_code == 409
    assert await rows(database, brand, select(ChargeRequest)) == []
