"""A plan's included kWh: the first energy of each billing month is free of the ENERGY price,
used by CDRs in the order their sessions end, given back by a credit, fresh each month."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from ocpp.v16 import call as call16
from sqlalchemy import select

from tests.billing.test_cdrs import add_tariff, meter, ocpi_tariff
from tests.billing.test_invoicing import (
    NOW,
    Meter,
    charge,
    charging_brand,
    driver_account,
    fleet_account,
    rate_all,
)
from tests.ocpp.conftest import add_token, gateway, open_charger
from voltlane import billing
from voltlane.billing import subscriptions
from voltlane.billing.invoicing import document_of, issue_documents
from voltlane.core.db import Database
from voltlane.core.errors import ValidationError
from voltlane.models.tenant import Cdr, CdrKind, ChargingSession
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo

__all__ = ["gateway", "open_charger"]

# 0.29/kWh, VAT 19 %, no session fee.
ENERGY_029 = {"type": "ENERGY", "price": "0.29", "vat": "19", "step_size": 1}


async def plus_plan_with_15_kwh(
    database: Database, make_brand: Any, *, account_of: Any = fleet_account
) -> tuple[TenantInfo, Any]:
    """A Berlin brand, plan PLUS (9.99 a month, 15 kWh included, 0.29/kWh), card FLEET01 of
    an account (a fleet's unless ``account_of`` makes another) on it from 1 October 2026."""
    brand = await charging_brand(database, make_brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await subscriptions.create_plan(
            db_session,
            subscriptions.PlanCreate("PLUS", "Plus", Decimal("9.99"), Decimal(19), 15),
            currency="EUR",
        )
    await add_tariff(
        database,
        brand,
        ocpi_tariff("AC-PLUS", ENERGY_029),
        segment=SegmentKind.SUBSCRIPTION,
        segment_ref="PLUS",
    )
    account = await account_of(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await subscriptions.subscribe(db_session, account, "PLUS", starts_on=date(2026, 10, 1))
    await add_token(database, brand, "FLEET01", account_id=account)
    return brand, account


class Card:
    """Card FLEET01 at station CP16 (OCPP 1.6): each call charges one session of it."""

    def __init__(self, cp: Any) -> None:
        self.cp = cp
        self.meter = Meter()

    async def charge(self, start: str, stop: str, wh: int) -> None:
        await charge(self.cp, self.meter, "FLEET01", start, stop, wh)


async def card_at_cp16(open_charger: Any, brand: TenantInfo) -> Card:
    return Card((await open_charger(brand, "CP16", "ocpp1.6")).cp)


async def rated(database: Database, brand: TenantInfo) -> list[tuple[str, int, int, int]]:
    """(kind, included Wh, net, gross) of every CDR by number."""
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(select(Cdr).order_by(Cdr.number))
        return [
            (c.kind.value, c.included_energy_wh, c.total_excl_vat, c.total_incl_vat) for c in rows
        ]


async def sessions_by_start(database: Database, brand: TenantInfo) -> list[uuid.UUID]:
    async with database.tenant_session(brand.key) as db_session:
        return list(
            await db_session.scalars(
                select(ChargingSession.id).order_by(ChargingSession.started_at)
            )
        )


async def test_sessions_use_the_allowance_in_the_order_they_end_and_a_month_starts_afresh(
    database: Database, make_brand, open_charger
) -> None:
    brand, _ = await plus_plan_with_15_kwh(database, make_brand)
    card = await card_at_cp16(open_charger, brand)
    await card.charge("2026-10-20T08:00:00Z", "2026-10-20T09:00:00Z", 10_000)
    await card.charge("2026-10-21T08:00:00Z", "2026-10-21T09:00:00Z", 10_000)
    await card.charge("2026-10-22T08:00:00Z", "2026-10-22T09:00:00Z", 10_000)
    # Ends 1 November 00:30 in Berlin: November's allowance, though October in UTC.
    await card.charge("2026-10-31T22:30:00Z", "2026-10-31T23:30:00Z", 10_000)
    await rate_all(database, brand)

    assert await rated(database, brand) == [
        ("CDR", 10_000, 0, 0),  # all 10 kWh included
        ("CDR", 5_000, 145, 173),  # 5 included, 5 x 0.29 = 1.45 + 0.28 VAT
        ("CDR", 0, 290, 345),  # the allowance is used up
        ("CDR", 10_000, 0, 0),  # November: 15 kWh again
    ]


async def test_two_sessions_rated_at_once_never_share_the_allowance(
    database: Database, make_brand, open_charger
) -> None:
    brand, _ = await plus_plan_with_15_kwh(database, make_brand)
    card = await card_at_cp16(open_charger, brand)
    await card.charge("2026-10-20T08:00:00Z", "2026-10-20T09:00:00Z", 10_000)
    await card.charge("2026-10-20T10:00:00Z", "2026-10-20T11:00:00Z", 10_000)
    first, second = await sessions_by_start(database, brand)

    async def rate(session_id: uuid.UUID) -> None:
        async with database.tenant_transaction(brand.key) as db_session:
            await billing.rate_session(db_session, session_id)

    await asyncio.gather(rate(second), rate(first))

    # Whichever was rated first took 10 kWh; the other the 5 kWh left, never 10 again.
    found = sorted(await rated(database, brand))
    assert found == [("CDR", 5_000, 145, 173), ("CDR", 10_000, 0, 0)]


async def test_a_credit_gives_its_included_energy_back_to_the_month(
    database: Database, make_brand, open_charger
) -> None:
    brand, _ = await plus_plan_with_15_kwh(database, make_brand)
    card = await card_at_cp16(open_charger, brand)
    await card.charge("2026-10-20T08:00:00Z", "2026-10-20T09:00:00Z", 10_000)
    await rate_all(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        (cdr,) = await db_session.scalars(select(Cdr))
        await billing.credit_cdr(db_session, cdr.id, reason="charged twice")
    await card.charge("2026-10-21T08:00:00Z", "2026-10-21T09:00:00Z", 12_000)
    await rate_all(database, brand)

    assert await rated(database, brand) == [
        ("CDR", 10_000, 0, 0),
        ("CREDIT", -10_000, 0, 0),
        ("CDR", 12_000, 0, 0),  # 12 of the 15 kWh: the credited session's 10 are back
    ]


async def test_the_live_cost_uses_the_allowance_left_and_equals_the_cdr(
    database: Database, make_brand, open_charger
) -> None:
    brand, _ = await plus_plan_with_15_kwh(database, make_brand)
    card = await card_at_cp16(open_charger, brand)
    await card.charge("2026-10-20T08:00:00Z", "2026-10-20T09:00:00Z", 10_000)
    await rate_all(database, brand)
    await card.charge("2026-10-21T08:00:00Z", "2026-10-21T09:00:00Z", 8_000)
    _, second = await sessions_by_start(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        live = await billing.live_cost(
            db_session, second, now=datetime(2026, 10, 21, 9, tzinfo=UTC)
        )
    await rate_all(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        cdr = await db_session.scalar(select(Cdr).where(Cdr.session_id == second))
        assert cdr is not None
        assert cdr.kind is CdrKind.CDR
        # 5 kWh included, 3 kWh x 0.29 = 0.87 + 0.17 VAT = 1.04
        assert (live.included_energy_wh, live.total_excl_vat, live.total_incl_vat) == (
            5_000,
            87,
            104,
        )
        assert (cdr.included_energy_wh, cdr.total_excl_vat, cdr.total_incl_vat) == (
            5_000,
            87,
            104,
        )
        assert cdr.priced["included_energy_wh"] == 5_000
        # Once rated, the live cost of the finished session still says what its CDR says.
        again = await billing.live_cost(db_session, second)
        assert (again.included_energy_wh, again.total_incl_vat) == (5_000, 104)


async def test_the_live_cost_while_charging_is_what_the_cdr_says(
    database: Database, make_brand, open_charger
) -> None:
    brand, _ = await plus_plan_with_15_kwh(database, make_brand)
    card = await card_at_cp16(open_charger, brand)
    await card.charge("2026-10-20T08:00:00Z", "2026-10-20T09:00:00Z", 10_000)
    await rate_all(database, brand)
    # The next session, still charging: 4 kWh by 08:30, 8 kWh by 09:00.
    begin = card.meter.wh
    started = await card.cp.call(
        call16.StartTransaction(
            connector_id=1, id_tag="FLEET01", meter_start=begin, timestamp="2026-10-21T08:00:00Z"
        )
    )
    await card.cp.call(
        call16.MeterValues(
            connector_id=1,
            transaction_id=started.transaction_id,
            meter_value=[
                meter("2026-10-21T08:30:00Z", begin + 4_000),
                meter("2026-10-21T09:00:00Z", begin + 8_000),
            ],
        )
    )
    _, running = await sessions_by_start(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        halfway = await billing.live_cost(
            db_session, running, now=datetime(2026, 10, 21, 8, 30, tzinfo=UTC)
        )
        at_nine = await billing.live_cost(
            db_session, running, now=datetime(2026, 10, 21, 9, tzinfo=UTC)
        )
    await card.cp.call(
        call16.StopTransaction(
            transaction_id=started.transaction_id,
            meter_stop=begin + 8_000,
            timestamp="2026-10-21T09:00:00Z",
        )
    )
    await rate_all(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        cdr = await db_session.scalar(select(Cdr).where(Cdr.session_id == running))
    assert cdr is not None

    # 5 kWh of October's 15 are left: the first 4 kWh cost nothing; at 9:00, 3 of the 8 kWh
    # are charged, 3 x 0.29 = 0.87 + 0.17 VAT, the CDR's cents exactly.
    assert (halfway.included_energy_wh, halfway.total_incl_vat) == (4_000, 0)
    assert (at_nine.included_energy_wh, at_nine.total_excl_vat, at_nine.total_incl_vat) == (
        5_000,
        87,
        104,
    )
    assert (cdr.included_energy_wh, cdr.total_excl_vat, cdr.total_incl_vat) == (5_000, 87, 104)


async def test_the_receipt_says_how_much_energy_the_plan_included(
    database: Database, make_brand, open_charger
) -> None:
    brand, _ = await plus_plan_with_15_kwh(database, make_brand, account_of=driver_account)
    card = await card_at_cp16(open_charger, brand)
    await card.charge("2026-10-20T08:00:00Z", "2026-10-20T09:00:00Z", 12_500)
    await card.charge("2026-10-21T08:00:00Z", "2026-10-21T09:00:00Z", 10_000)
    await rate_all(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        receipts = await issue_documents(db_session, brand, now=NOW)
    numbers = [c[0] for c in await cdr_numbers(database, brand)]

    assert [(r.number, r.total_net, r.total_gross) for r in receipts] == [
        ("RCT-2026-000001", 0, 0),
        ("RCT-2026-000002", 218, 259),  # 2.5 kWh included, 7.5 kWh x 0.29 = 2.175 -> 2.18
    ]
    first, second = (document_of(r).lines for r in receipts)
    assert [(ln.quantity, ln.net, ln.details) for ln in first] == [
        (
            Decimal("0.0000"),
            0,
            ("12.500 kWh charged", "12.500 kWh included in plan", f"CDR {numbers[0]}"),
        )
    ]
    assert [(ln.quantity, ln.net, ln.details) for ln in second] == [
        (
            Decimal("7.5000"),
            218,
            ("10.000 kWh charged", "2.500 kWh included in plan", f"CDR {numbers[1]}"),
        )
    ]


async def cdr_numbers(database: Database, brand: TenantInfo) -> list[tuple[int, int]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.execute(select(Cdr.number, Cdr.total_excl_vat).order_by(Cdr.number))
        return [(number, total) for number, total in rows]


async def test_a_plan_refuses_a_negative_allowance(database: Database, make_brand) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(ValidationError) as refused:
            await subscriptions.create_plan(
                db_session,
                subscriptions.PlanCreate("NEG", "Neg", Decimal(5), Decimal(19), -1),
                currency="EUR",
            )
    assert refused.value.field == "included_kwh"
