"""A guest's charge from the driver app is priced as anyone walking up (PUBLIC) everywhere:
the charging point's page, the live cost, the CDR and the receipt, although the guest's
token belongs to an account made for the receipt; a signed-in driver's charge keeps the
member price. The brand's member tariff is cheaper than its public one."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar

from tests.api.conftest import api_client
from tests.billing.test_cdrs import ENERGY_039, SESSION_FEE, add_tariff, ocpi_tariff
from tests.fakes.psp import FakeStripe
from tests.ocpp.conftest import gateway
from tests.pwa.charge_chargers import START, STOP_AT, charger
from tests.pwa.charge_support import (
    card_brand,
    charge_request,
    fake_stripe,
    payment_of,
    receipt_of,
    run_billing,
    screen_clock,
    start_as_guest,
    text_of,
    wait_for_state,
    wait_for_stop,
)
from tests.pwa.money_factories import add_card, add_driver, sign_in_as
from tests.web.helpers import HTML, csrf_token
from voltlane.billing.pricing import ocpi_decimals
from voltlane.core.db import Database
from voltlane.models.tenant import PaymentStatus
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings
from voltlane.tariff import MeterReading, SegmentKind, SessionTrace, price_session, tariff_from_ocpi

__all__ = ["fake_stripe", "gateway", "screen_clock"]

PUBLIC_TARIFF = ocpi_tariff("AC-STD", ENERGY_039, SESSION_FEE)
MEMBER_TARIFF = ocpi_tariff(
    "AC-MEMBER", {"type": "ENERGY", "price": "0.29", "vat": "19", "step_size": 1}
)


def engine_total(definition: dict[str, Any]) -> int:
    """What the one engine charges for the chargers' session (7.25 kWh over 45 minutes)
    with ``definition``, VAT included, in cents."""
    trace = SessionTrace(
        start=START,
        time_zone=ZoneInfo("Europe/Berlin"),
        readings=(
            MeterReading(START, Decimal(0)),
            MeterReading(START + timedelta(minutes=15), Decimal(3500)),
            MeterReading(STOP_AT, Decimal(7250)),
        ),
    )
    tariff = tariff_from_ocpi(ocpi_decimals(definition))
    return price_session(tariff, trace, end=STOP_AT).total_incl_vat


async def member_brand(
    database: Database, make_brand: Any, monkeypatch: pytest.MonkeyPatch, stripe_url: str
) -> Any:
    brand = await card_brand(
        database, make_brand, monkeypatch, stripe_url, "CP-APP", emi3_id="DE*TST*E0001*1"
    )
    await add_tariff(database, brand, MEMBER_TARIFF, segment=SegmentKind.MEMBER)
    return brand


def test_the_two_tariffs_differ_for_the_chargers_session() -> None:
    # 7.25 kWh x 0.39 + 0.50 = 3.3275 -> 3.33 + 0.63 VAT; 7.25 kWh x 0.29 = 2.1025 -> 2.10
    # + 0.40 VAT.
    assert (engine_total(PUBLIC_TARIFF), engine_total(MEMBER_TARIFF)) == (396, 250)


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_a_guest_charge_is_offered_shown_rated_and_receipted_at_the_public_price(
    database: Database,
    settings: Settings,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
    protocol: str,
) -> None:
    fake, stripe_url = fake_stripe
    brand = await member_brand(database, make_brand, monkeypatch, stripe_url)
    async with (
        charger(gateway, brand, "CP-APP", protocol),
        api_client(app, brand, None) as client,
    ):
        point = await client.get("/charge/DETSTE00011", headers=HTML)
        request_id, _ = await start_as_guest(client, "DETSTE00011")
        live = await wait_for_state(client, request_id, "charging", energy="3.50 kWh")
        request = await charge_request(database, brand, request_id)
        page = await client.get(f"/charge/live/{request_id}", headers=HTML)
        await client.post(
            f"/charge/live/{request_id}/stop",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
        await wait_for_stop(database, brand, request.session_id)
        cdr = await run_billing(database, settings, brand, request.session_id)
        receipt_page = await client.get(f"/charge/live/{request_id}", headers=HTML)

    # The public prices (VAT included), not the member's €0.3451/kWh.
    assert text_of(point.text, "prices") == "€0.4641/kWh · €0.60 per session"
    # Half an hour in: 3.5 kWh x 0.39 + 0.50 = 1.865 -> 1.87 + 0.36 VAT.
    assert text_of(live, "live-cost") == "€2.23"
    assert cdr.segment == "PUBLIC"
    assert (
        (cdr.total_incl_vat, cdr.currency)
        == (engine_total(PUBLIC_TARIFF), "EUR")
        == (
            396,
            "EUR",
        )
    )
    receipt = await receipt_of(database, brand, request.session_id)
    payment = await payment_of(database, brand, request_id)
    assert receipt.total_gross == payment.amount_captured == 396
    assert payment.status is PaymentStatus.CAPTURED
    assert fake.captured_amounts[payment.psp_reference] == 396
    assert text_of(receipt_page.text, "receipt-total") == "€3.96"


async def test_a_signed_in_drivers_charge_keeps_the_member_price(
    database: Database,
    settings: Settings,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, stripe_url = fake_stripe
    brand = await member_brand(database, make_brand, monkeypatch, stripe_url)
    account_id, token = await add_driver(database, brand)
    await add_card(database, brand, account_id)
    async with (
        charger(gateway, brand, "CP-APP", "ocpp1.6"),
        api_client(app, brand, None) as client,
    ):
        sign_in_as(client, token)
        point = await client.get("/charge/DETSTE00011", headers=HTML)
        started = await client.post(
            "/charge/DETSTE00011/account",
            data={"_csrf_token": csrf_token(point.text)},
            headers=HTML,
        )
        request_id = uuid.UUID(started.headers["location"].split("/")[3])
        live = await wait_for_state(client, request_id, "charging", energy="3.50 kWh")
        await client.post(
            f"/charge/live/{request_id}/stop",
            data={"_csrf_token": csrf_token(live)},
            headers={**HTML, "HX-Request": "true"},
        )
        request = await charge_request(database, brand, request_id)
        await wait_for_stop(database, brand, request.session_id)
        cdr = await run_billing(database, settings, brand, request.session_id)
        receipt_page = await client.get(f"/charge/live/{request_id}", headers=HTML)

    assert text_of(point.text, "prices") == "€0.3451/kWh"
    # Half an hour in: 3.5 kWh x 0.29 = 1.015 -> 1.02 + 0.19 VAT.
    assert text_of(live, "live-cost") == "€1.21"
    assert cdr.segment == "MEMBER"
    assert cdr.total_incl_vat == engine_total(MEMBER_TARIFF) == 250
    payment = await payment_of(database, brand, request_id)
    assert payment.amount_captured == fake.captured_amounts[payment.psp_reference] == 250
    assert text_of(receipt_page.text, "receipt-total") == "€2.50"
