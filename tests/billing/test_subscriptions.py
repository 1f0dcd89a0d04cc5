"""Subscription plans: their own prices from the day they start, their fee on the invoice."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.billing.test_cdrs import add_tariff, ocpi_tariff
from tests.billing.test_invoicing import (
    NOW,
    OCTOBER,
    Meter,
    charge,
    charging_brand,
    fleet_account,
    rate_all,
)
from tests.ocpp.conftest import add_token, gateway, open_charger
from voltlane import billing
from voltlane.billing import subscriptions
from voltlane.billing.invoicing import (
    accounts_to_invoice,
    document_of,
    invoice_account,
    issue_documents,
)
from voltlane.core.db import Database
from voltlane.core.errors import ConflictError, ValidationError
from voltlane.models.tenant import Cdr, ChargingSession, Invoicing
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo

__all__ = ["gateway", "open_charger"]

NOVEMBER = date(2026, 11, 1)
ENERGY_029 = {"type": "ENERGY", "price": "0.29", "vat": "19", "step_size": 1}


async def plus_plan(database: Database, brand: TenantInfo, *, with_prices: bool = True) -> None:
    """Plan PLUS: 9.99 a month + 19 % VAT; 0.29/kWh and no session fee for its subscribers."""
    async with database.tenant_transaction(brand.key) as db_session:
        await subscriptions.create_plan(
            db_session,
            subscriptions.PlanCreate("PLUS", "Plus", Decimal("9.99"), Decimal(19)),
            currency="EUR",
        )
    if with_prices:
        await add_tariff(
            database,
            brand,
            ocpi_tariff("AC-PLUS", ENERGY_029),
            segment=SegmentKind.SUBSCRIPTION,
            segment_ref="PLUS",
        )


async def subscribed_fleet(
    database: Database, make_brand: Any, **account: Any
) -> tuple[TenantInfo, uuid.UUID]:
    brand = await charging_brand(database, make_brand)
    await plus_plan(database, brand)
    account_id = await fleet_account(database, brand, **account)
    async with database.tenant_transaction(brand.key) as db_session:
        await subscriptions.subscribe(db_session, account_id, "PLUS", starts_on=date(2026, 10, 16))
    await add_token(database, brand, "FLEET01", account_id=account_id, cost_centre="Sales")
    return brand, account_id


async def priced(database: Database, brand: TenantInfo) -> list[tuple[str, str, int]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(select(Cdr).order_by(Cdr.start_date_time))
        return [(c.segment, c.tariff_code, c.total_excl_vat) for c in rows]


async def test_a_subscriber_is_priced_by_the_plan_from_the_day_it_starts(
    database: Database, make_brand, open_charger
) -> None:
    brand, _ = await subscribed_fleet(database, make_brand)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    # 15 October 23:30 in Berlin is the day before the plan starts; 16 October 00:30 is in it.
    await charge(cp, meter, "FLEET01", "2026-10-15T21:30:00Z", "2026-10-15T22:00:00Z", 10_000)
    await charge(cp, meter, "FLEET01", "2026-10-15T22:30:00Z", "2026-10-15T23:00:00Z", 10_000)
    await charge(cp, meter, "FLEET01", "2026-10-20T08:00:00Z", "2026-10-20T08:30:00Z", 10_000)
    last = await _last_session(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        live = await billing.live_cost(
            db_session, last, now=datetime(2026, 10, 20, 8, 30, tzinfo=UTC)
        )
    await rate_all(database, brand)

    # A fleet without contract prices (falls back to public here): 10 kWh x 0.39 + 0.50;
    # the plan: 10 kWh x 0.29.
    assert await priced(database, brand) == [
        ("FLEET", "AC-STD", 440),
        ("SUBSCRIPTION:PLUS", "AC-PLUS", 290),
        ("SUBSCRIPTION:PLUS", "AC-PLUS", 290),
    ]
    assert (live.total_excl_vat, live.total_incl_vat) == (290, 345)


async def test_a_plan_without_prices_of_its_own_gets_the_member_prices(
    database: Database, make_brand, open_charger
) -> None:
    brand = await charging_brand(database, make_brand)
    await add_tariff(
        database,
        brand,
        ocpi_tariff("AC-MEMBER", {"type": "ENERGY", "price": "0.35", "vat": "19", "step_size": 1}),
        segment=SegmentKind.MEMBER,
    )
    await plus_plan(database, brand, with_prices=False)
    account = await fleet_account(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await subscriptions.subscribe(db_session, account, "PLUS", starts_on=date(2026, 10, 1))
    await add_token(database, brand, "FLEET01", account_id=account)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await charge(cp, Meter(), "FLEET01", "2026-10-20T08:00:00Z", "2026-10-20T08:30:00Z", 10_000)
    await rate_all(database, brand)

    assert await priced(database, brand) == [("SUBSCRIPTION:PLUS", "AC-MEMBER", 350)]


async def test_the_fee_is_prorated_on_the_months_invoice_and_billed_once(
    database: Database, make_brand, open_charger
) -> None:
    brand, account = await subscribed_fleet(database, make_brand)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await charge(cp, Meter(), "FLEET01", "2026-10-20T08:00:00Z", "2026-10-20T08:30:00Z", 10_000)
    await rate_all(database, brand)

    async with database.tenant_transaction(brand.key) as db_session:
        october = await invoice_account(db_session, brand, account, OCTOBER, now=NOW)
    async with database.tenant_transaction(brand.key) as db_session:
        again = await invoice_account(db_session, brand, account, OCTOBER, now=NOW)
    async with database.tenant_session(brand.key) as db_session:
        due_in_november = await accounts_to_invoice(db_session, brand, NOVEMBER)
    async with database.tenant_transaction(brand.key) as db_session:
        november = await invoice_account(
            db_session, brand, account, NOVEMBER, now=datetime(2026, 12, 1, 9, tzinfo=UTC)
        )

    assert october is not None
    assert again is not None
    assert again.id == october.id
    lines = document_of(october).lines
    # 16 of 31 days of 9.99 = 5.1561... -> 5.16. Net 2.90 + 5.16 = 8.06; VAT 19 % = 1.5314.
    assert [(ln.description, ln.net, ln.details[-1]) for ln in lines] == [
        ("Ladevorgang an Site of CP16", 290, "CDR 1"),
        ("Abonnement Plus", 516, "16.10.2026 bis 31.10.2026: 16 von 31 Tagen"),
    ]
    assert (october.total_net, october.total_vat, october.total_gross) == (806, 153, 959)
    assert due_in_november == [account]
    assert november is not None
    assert [(ln.description, ln.net) for ln in document_of(november).lines] == [
        ("Abonnement Plus", 999)
    ]
    assert (november.number, november.total_gross) == ("INV-2026-000002", 1189)


async def test_a_drivers_subscription_is_invoiced_on_its_own_and_sessions_get_receipts(
    database: Database, make_brand, open_charger
) -> None:
    brand, account = await subscribed_fleet(
        database, make_brand, name="Lena Fischer", invoicing=Invoicing.PER_SESSION, vat_id=None
    )
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await charge(cp, Meter(), "FLEET01", "2026-10-20T08:00:00Z", "2026-10-20T08:30:00Z", 10_000)
    await rate_all(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        receipts = await issue_documents(db_session, brand, now=NOW)
    async with database.tenant_transaction(brand.key) as db_session:
        invoice = await invoice_account(db_session, brand, account, OCTOBER, now=NOW)

    assert [(r.number, r.total_net) for r in receipts] == [("RCT-2026-000001", 290)]
    assert invoice is not None
    assert [(ln.description, ln.net) for ln in document_of(invoice).lines] == [
        ("Abonnement Plus", 516)
    ]


async def test_subscriptions_do_not_overlap_nor_start_in_an_invoiced_month(
    database: Database, make_brand, open_charger
) -> None:
    brand, account = await subscribed_fleet(database, make_brand)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await charge(cp, Meter(), "FLEET01", "2026-10-20T08:00:00Z", "2026-10-20T08:30:00Z", 10_000)
    await rate_all(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await invoice_account(db_session, brand, account, OCTOBER, now=NOW)
        [current] = await subscriptions.subscriptions_of(db_session, account)

    with pytest.raises(ConflictError, match="subscribed from 2026-10-16 to open end"):
        async with database.tenant_transaction(brand.key) as db_session:
            await subscriptions.subscribe(db_session, account, "PLUS", starts_on=date(2026, 12, 1))
    with pytest.raises(ConflictError, match="a month after ends_on has been invoiced"):
        async with database.tenant_transaction(brand.key) as db_session:
            await subscriptions.end_subscription(db_session, current.id, ends_on=date(2026, 10, 20))
    with pytest.raises(ValidationError, match="not before the subscription starts"):
        async with database.tenant_transaction(brand.key) as db_session:
            await subscriptions.end_subscription(db_session, current.id, ends_on=date(2026, 10, 1))
    async with database.tenant_transaction(brand.key) as db_session:
        ended = await subscriptions.end_subscription(
            db_session, current.id, ends_on=date(2026, 11, 10)
        )
    with pytest.raises(ConflictError, match="invoiced through 2026-10-31"):
        async with database.tenant_transaction(brand.key) as db_session:
            await subscriptions.subscribe(db_session, account, "PLUS", starts_on=date(2026, 10, 31))
    async with database.tenant_transaction(brand.key) as db_session:
        following = await subscriptions.subscribe(
            db_session, account, "PLUS", starts_on=date(2026, 11, 11)
        )

    assert ended.ends_on == date(2026, 11, 10)
    assert following.starts_on == date(2026, 11, 11)


async def _last_session(database: Database, brand: TenantInfo) -> uuid.UUID:
    async with database.tenant_session(brand.key) as db_session:
        found = await db_session.scalar(
            select(ChargingSession.id).order_by(ChargingSession.started_at.desc()).limit(1)
        )
    assert found is not None
    return found


async def test_a_fleet_contract_prices_its_cards_and_other_fleets_get_fleet_prices(
    database: Database, make_brand, open_charger
) -> None:
    brand = await charging_brand(database, make_brand)
    energy = {"type": "ENERGY", "vat": "19", "step_size": 1}
    await add_tariff(
        database,
        brand,
        ocpi_tariff("AC-FLEET", {**energy, "price": "0.33"}),
        segment=SegmentKind.FLEET,
    )
    await add_tariff(
        database,
        brand,
        ocpi_tariff("AC-SPREE", {**energy, "price": "0.30"}),
        segment=SegmentKind.FLEET,
        segment_ref="SPREE-2026",
    )
    spree = await fleet_account(database, brand, contract="SPREE-2026")
    other = await fleet_account(database, brand, name="Havel Taxi eG")
    await add_token(database, brand, "FLEET01", account_id=spree)
    await add_token(database, brand, "FLEET02", account_id=other)
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    for hour, card in ((8, "FLEET01"), (9, "FLEET02"), (10, "RFID0001")):
        start, stop = f"2026-10-20T{hour:02d}:00:00Z", f"2026-10-20T{hour:02d}:30:00Z"
        await charge(cp, meter, card, start, stop, 10_000)
    await rate_all(database, brand)

    # 10 kWh at the contract's 0.30, the fleet default 0.33, and a member (public here):
    # 0.39 + 0.50.
    assert await priced(database, brand) == [
        ("FLEET:SPREE-2026", "AC-SPREE", 300),
        ("FLEET", "AC-FLEET", 330),
        ("MEMBER", "AC-STD", 440),
    ]
