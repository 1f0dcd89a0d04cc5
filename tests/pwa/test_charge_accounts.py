"""Charging on a signed-in driver's account: the saved default card, the prepaid wallet
(no PSP involved, the plan's prices), and a card added on the way and saved."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select

from tests.fakes.psp import FakeStripe
from tests.ocpp.conftest import gateway
from tests.pwa.charge_chargers import START
from tests.pwa.charge_support import (
    app_brand,
    charge_request,
    charging_at,
    enter_card,
    fake_stripe,
    follow,
    path_of,
    payment_of,
    request_id_of,
    rows,
    screen_clock,
    start_on_account,
    stop_and_bill,
    text_of,
    wait_for_state,
)
from tests.pwa.money_factories import add_card, add_driver, plus_plan, sign_in_as
from tests.web.helpers import HTML
from voltlane.billing.settlement import wallet_of
from voltlane.billing.settlement_repository import SettlementRepository
from voltlane.billing.subscriptions import subscribe
from voltlane.core.db import Database
from voltlane.models.tenant import (
    ChargeRequestStatus,
    Payment,
    PaymentStatus,
    SessionSettlement,
    StoredPaymentMethod,
    WalletKind,
)
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings

__all__ = ["fake_stripe", "gateway", "screen_clock"]


async def test_a_driver_charges_on_the_account_with_the_saved_default_card(
    database: Database,
    settings: Settings,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, stripe_url = fake_stripe
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url)
    account_id, token = await add_driver(database, brand)
    await add_card(database, brand, account_id)
    async with charging_at(app, gateway, brand) as (station, client):
        sign_in_as(client, token)
        point, started = await start_on_account(client)
        request_id = request_id_of(started.headers["location"])
        live = await wait_for_state(client, request_id, "charging")
        index = await client.get("/charge", headers=HTML)
        billed = await stop_and_bill(database, settings, brand, client, request_id, live, htmx=True)
    stop, request, cdr, receipt_page = billed.stop, billed.request, billed.cdr, billed.receipt_page
    payment = await payment_of(database, brand, request_id)
    assert text_of(point.text, "pay-with") == (
        "Paid with Visa •••• 4242. We hold €50.00 on it until the charge ends and then take"
        " only what you charged."
    )
    assert 'data-testid="guest-form"' not in point.text
    assert started.status_code == 303
    assert (request.account_id, request.guest_email, request.wallet) == (account_id, None, False)
    assert station.received == [f"start {request.id_token} 1", f"stop {station.transaction_id}"]
    assert f'href="/charge/live/{request_id}"' in index.text
    assert "Charging now: open" in index.text
    # The HTMX stop answers with the sentence and swaps the charge's state in place.
    assert stop.status_code == 200
    assert stop.text.startswith('<p class="banner banner-info" role="status"')
    assert 'hx-swap-oob="outerHTML"' in stop.text
    assert (payment.payment_method_ref, payment.customer_ref) == ("pm_card_visa", "cus_lena")
    assert (payment.status, payment.amount_captured) == (PaymentStatus.CAPTURED, 396)
    assert payment.amount_captured == cdr.total_incl_vat
    assert fake.captured_amounts[payment.psp_reference] == 396
    assert cdr.segment == "MEMBER"
    assert text_of(receipt_page.text, "receipt-total") == "€3.96"
    assert 'data-testid="receipt-mailed"' not in receipt_page.text


async def test_a_driver_whose_wallet_covers_the_hold_charges_without_the_psp_at_plan_prices(
    database: Database,
    settings: Settings,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, stripe_url = fake_stripe
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url)
    account_id, token = await add_driver(database, brand)
    await add_card(database, brand, account_id)
    await plus_plan(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await subscribe(
            db_session, account_id, "PLUS", starts_on=(START - timedelta(days=1)).date()
        )
        await SettlementRepository(db_session).book_wallet(
            account_id, WalletKind.TOPUP, 6000, "EUR", uuid.uuid4()
        )
    async with charging_at(app, gateway, brand, "ocpp2.0.1") as (station, client):
        sign_in_as(client, token)
        point, started = await start_on_account(client)
        request_id = request_id_of(started.headers["location"])
        live = await wait_for_state(client, request_id, "charging")
        billed = await stop_and_bill(database, settings, brand, client, request_id, live)
    cdr, receipt_page = billed.cdr, billed.receipt_page
    request = await charge_request(database, brand, request_id)
    async with database.tenant_session(brand.key) as db_session:
        settlement = await db_session.get(SessionSettlement, cdr.id)
        payments = list(await db_session.scalars(select(Payment)))
        balance, _ = await wallet_of(db_session, account_id, "EUR", limit=0)
    assert text_of(point.text, "pay-with") == "Paid from your wallet (balance €60.00)."
    assert text_of(point.text, "prices") == "€0.3451/kWh"
    assert (request.wallet, request.status) == (True, ChargeRequestStatus.FINISHED)
    assert station.received[0] == f"start {request.id_token} Central 1"
    assert payments == []
    assert fake.requests_per_key == {}
    # 7.25 kWh x 0.29 = 2.1025 -> 2.10 net + 0.40 VAT = 2.50, all from the wallet.
    assert (cdr.segment, cdr.total_incl_vat) == ("SUBSCRIPTION:PLUS", 250)
    assert settlement is not None
    assert (settlement.wallet_paid, settlement.amount_due) == (250, 0)
    assert balance == 5750
    assert text_of(receipt_page.text, "receipt-total") == "€2.50"
    assert text_of(receipt_page.text, "wallet-paid") == "Paid from your wallet: €2.50"


async def test_a_driver_without_a_card_adds_one_on_the_way_and_it_is_saved(
    database: Database,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake, stripe_url = fake_stripe
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url)
    account_id, token = await add_driver(database, brand)
    async with charging_at(app, gateway, brand) as (station, client):
        sign_in_as(client, token)
        point, sent = await start_on_account(client)
        back = await enter_card(sent.headers["location"])
        shown = await follow(client, path_of(back))
        request_id = request_id_of(back)
        await wait_for_state(client, request_id, "charging")
    request = await charge_request(database, brand, request_id)
    payment = await payment_of(database, brand, request_id)
    [card] = await rows(
        database,
        brand,
        select(StoredPaymentMethod).where(StoredPaymentMethod.account_id == account_id),
    )
    assert "Add a card and start" in point.text
    assert sent.status_code == 303
    assert sent.headers["location"].startswith(stripe_url)
    assert shown.status_code == 200
    assert (card.label, card.is_default, card.provider) == ("Visa •••• 4242", True, "stripe")
    assert (payment.payment_method_ref, payment.status) == (
        card.payment_method_ref,
        PaymentStatus.AUTHORIZED,
    )
    assert request.account_id == account_id
    assert station.received == [f"start {request.id_token} 1"]
