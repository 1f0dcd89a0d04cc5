"""Loyalty: points earned per kWh, redeemed as a discount that the capture, the receipt and
its credit note all show to the cent."""

from __future__ import annotations

import io
import uuid
from typing import Any

from pypdf import PdfReader
from sqlalchemy import select

from tests.billing.documents.test_ubl import text as ubl_text
from tests.billing.documents.test_ubl import valid
from tests.billing.providers.test_providers import stripe_at
from tests.billing.test_invoicing import (
    NOW,
    Meter,
    charge,
    charging_brand,
    driver_account,
    rate_all,
)
from tests.billing.test_payments import fake_stripe, pre_authorize
from tests.ocpp.conftest import add_token, gateway, open_charger
from voltlane.billing import payments
from voltlane.billing.invoicing import (
    DocumentFormat,
    credit_document,
    document_of,
    issue_documents,
    render_document,
)
from voltlane.billing.settlement import amount_due, loyalty_of
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AccountKind,
    Cdr,
    ChargingSession,
    Invoice,
    Invoicing,
)
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Loyalty

__all__ = ["fake_stripe", "gateway", "open_charger"]

# 10 points per kWh, half a cent each, redeemed from 100 points on.
LOYALTY = Loyalty(points_per_kwh=10, point_value="0.005", min_redeem=100)


async def driver(
    database: Database, brand: TenantInfo, *, redeem: bool = True, **extra: Any
) -> uuid.UUID:
    return await driver_account(database, brand, redeem_points=redeem, **extra)


async def three_sessions(cp: Any) -> None:
    """7.25 kWh (3.96), 10 kWh (5.24), 2 kWh (1.28 net + 0.24 VAT = 1.52)."""
    meter = Meter()
    await charge(cp, meter, "RFID0001", "2026-11-24T08:00:00Z", "2026-11-24T08:45:00Z", 7_250)
    await charge(cp, meter, "RFID0001", "2026-11-24T09:00:00Z", "2026-11-24T09:45:00Z", 10_000)
    await charge(cp, meter, "RFID0001", "2026-11-24T10:00:00Z", "2026-11-24T10:20:00Z", 2_000)


async def receipts(database: Database, brand: TenantInfo) -> list[Invoice]:
    async with database.tenant_transaction(brand.key) as db_session:
        await issue_documents(db_session, brand, now=NOW)
    async with database.tenant_session(brand.key) as db_session:
        return list(await db_session.scalars(select(Invoice).order_by(Invoice.number)))


async def test_points_are_earned_per_kwh_and_redeemed_as_a_discount_on_the_receipt(
    database: Database, make_brand, open_charger
) -> None:
    brand = await charging_brand(database, make_brand, loyalty=LOYALTY)
    account = await driver(database, brand)
    await add_token(database, brand, "RFID0001", account_id=account)
    await three_sessions((await open_charger(brand, "CP16", "ocpp1.6")).cp)
    await rate_all(database, brand)

    issued = await receipts(database, brand)
    again = await receipts(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        balance, entries = await loyalty_of(db_session, account, limit=10)

    # 72 points (7.25 kWh), then 100: 172 >= 100 at the third session, whose 1.28 net
    # could take 256 points at half a cent: all 172 go, 0.86 off. 1.28 - 0.86 = 0.42 net,
    # VAT 19 % = 0.0798 -> 0.08 (was 0.24): 0.50 to pay. Then 20 points for its 2 kWh.
    assert [(r.number, r.total_net, r.total_vat, r.total_gross) for r in issued] == [
        ("RCT-2026-000001", 333, 63, 396),
        ("RCT-2026-000002", 440, 84, 524),
        ("RCT-2026-000003", 42, 8, 50),
    ]
    assert [r.id for r in again] == [r.id for r in issued]
    assert [
        (ln.description, ln.quantity, ln.unit_price, ln.net) for ln in document_of(issued[2]).lines
    ][-1] == (
        "Loyalty discount: 172 points",
        -1,
        __import__("decimal").Decimal("0.86"),
        -86,
    )
    assert balance == 20
    assert sorted((e.kind.value, e.points) for e in entries) == [
        ("earn", 20),
        ("earn", 72),
        ("earn", 100),
        ("redeem", -172),
    ]
    root = valid(render_document(issued[2], DocumentFormat.UBL)[0])
    assert ubl_text(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount") == "0.42"
    assert ubl_text(root, "cac:TaxTotal/cbc:TaxAmount") == "0.08"
    page = PdfReader(io.BytesIO(render_document(issued[2], DocumentFormat.PDF)[0])).pages[0]
    assert "Loyalty discount: 172 points" in page.extract_text()


async def test_the_psp_captures_the_discounted_amount_and_a_credit_takes_it_all_back(
    database: Database, make_brand, open_charger, fake_stripe
) -> None:
    fake, url = fake_stripe
    stripe = stripe_at(url)
    brand = await charging_brand(database, make_brand, loyalty=LOYALTY, payments="stripe")
    account = await driver(database, brand)
    await add_token(database, brand, "RFID0001", account_id=account)
    await three_sessions((await open_charger(brand, "CP16", "ocpp1.6")).cp)
    async with database.tenant_session(brand.key) as db_session:
        last = await db_session.scalar(
            select(ChargingSession.id).order_by(ChargingSession.started_at.desc()).limit(1)
        )
    assert last is not None
    await pre_authorize(database, brand, last, stripe, "pm_card_visa")
    await rate_all(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        cdrs = list(await db_session.scalars(select(Cdr).order_by(Cdr.number)))
    # What the capture job does: settle (in CDR order), then capture what is due.
    dues = []
    for cdr in cdrs:
        async with database.tenant_transaction(brand.key) as db_session:
            dues.append(await amount_due(db_session, brand, cdr.id))
    captured = await payments.capture_cdr(
        database, brand.key, cdrs[-1].id, provider=stripe, due=dues[-1]
    )
    issued = await receipts(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        credit_note = await credit_document(
            db_session, brand, issued[-1].id, reason="Charger fault", now=NOW
        )

    assert dues == [396, 524, 50]
    assert captured is not None
    assert (captured.amount_authorized, captured.amount_captured) == (5000, 50)
    assert list(fake.captured_amounts.values()) == [50]
    assert (issued[-1].total_gross, issued[-1].paid) == (50, 50)
    assert document_of(issued[-1]).payable == 0
    assert (credit_note.total_net, credit_note.total_vat, credit_note.total_gross) == (42, 8, 50)
    assert document_of(credit_note).lines[-1].description == "Loyalty discount: 172 points"
    # The credited session gives back the 172 points it spent and takes its 20.
    async with database.tenant_session(brand.key) as db_session:
        points, entries = await loyalty_of(db_session, account, limit=10)
    assert points == 172
    assert sorted(
        (e.kind.value, e.points) for e in entries if e.kind.value in {"restore", "revoke"}
    ) == [
        ("restore", 172),
        ("revoke", -20),
    ]


async def test_fleets_earn_nothing_and_a_driver_who_keeps_points_pays_in_full(
    database: Database, make_brand, open_charger
) -> None:
    brand = await charging_brand(database, make_brand, loyalty=LOYALTY)
    keeper = await driver(database, brand, redeem=False)
    fleet = await driver(database, brand, kind=AccountKind.FLEET, invoicing=Invoicing.MONTHLY)
    await add_token(database, brand, "RFID0001", account_id=keeper)
    await add_token(database, brand, "FLEET01", account_id=fleet)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await three_sessions(cp)
    await charge(cp, Meter(), "FLEET01", "2026-11-24T12:00:00Z", "2026-11-24T12:30:00Z", 10_000)
    await rate_all(database, brand)

    issued = await receipts(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        kept, _ = await loyalty_of(db_session, keeper, limit=10)
        fleet_points, fleet_entries = await loyalty_of(db_session, fleet, limit=10)

    assert [r.total_gross for r in issued] == [396, 524, 152]
    assert kept == 192
    assert (fleet_points, fleet_entries) == (0, [])
