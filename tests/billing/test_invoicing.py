"""Receipts, monthly fleet invoices and credit notes from sessions charged through the gateway."""

from __future__ import annotations

import asyncio
import io
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from ocpp.v16 import call as call16
from pypdf import PdfReader
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from tests.billing.documents.test_ubl import text as ubl_text
from tests.billing.documents.test_ubl import valid
from tests.billing.test_cdrs import ENERGY_039, SESSION_FEE, add_tariff, ocpi_tariff
from tests.factories import BERLIN_SELLER, add_fleet_account
from tests.ocpp.conftest import add_ocpp_station, add_token, gateway, open_charger
from voltlane import billing
from voltlane.billing.documents.model import DocumentKind, VatCategory
from voltlane.billing.errors import InvoicingNotConfiguredError
from voltlane.billing.invoicing import (
    DocumentFormat,
    accounts_to_invoice,
    credit_document,
    document_of,
    invoice_account,
    issue_documents,
    render_document,
)
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AccountKind,
    Cdr,
    Invoice,
    InvoiceCdr,
    InvoiceCounter,
    Invoicing,
    Payment,
    PaymentStatus,
)
from voltlane.tenancy import TenantInfo

__all__ = ["gateway", "open_charger"]

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
OCTOBER = date(2026, 10, 1)


async def fleet_account(database: Database, brand: TenantInfo, **overrides: Any) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        return (await add_fleet_account(db_session, **overrides)).id


async def driver_account(database: Database, brand: TenantInfo, **overrides: Any) -> uuid.UUID:
    """A driver who pays per session: Lena Fischer, lena@example.com, no VAT id."""
    driver: dict[str, Any] = {
        "kind": AccountKind.DRIVER,
        "name": "Lena Fischer",
        "email": "lena@example.com",
        "locale": "en_GB",
        "street": None,
        "postal_code": None,
        "city": None,
        "vat_id": None,
        "buyer_reference": None,
        "invoicing": Invoicing.PER_SESSION,
        "payment_terms_days": 14,
    }
    return await fleet_account(database, brand, **{**driver, **overrides})


async def charging_brand(
    database: Database, make_brand: Any, *, legal: Any = BERLIN_SELLER, **kwargs: Any
) -> TenantInfo:
    """A Berlin brand: station CP16, 0.39 EUR/kWh + 0.50 per session, 19 % VAT."""
    brand: TenantInfo = await make_brand(legal=legal, **kwargs)
    await add_ocpp_station(database, brand, "CP16")
    await add_tariff(database, brand, ocpi_tariff("AC-STD", ENERGY_039, SESSION_FEE))
    return brand


class Meter:
    """The station's lifetime register, so consecutive sessions start where the last ended."""

    def __init__(self) -> None:
        self.wh = 5_000_000


async def charge(cp: Any, meter: Meter, card: str, start: str, stop: str, wh: int) -> None:
    started = await cp.call(
        call16.StartTransaction(connector_id=1, id_tag=card, meter_start=meter.wh, timestamp=start)
    )
    meter.wh += wh
    await cp.call(
        call16.StopTransaction(
            transaction_id=started.transaction_id, meter_stop=meter.wh, timestamp=stop
        )
    )


async def one_rated_session(
    database: Database, make_brand: Any, open_charger: Any, **brand_options: Any
) -> TenantInfo:
    """A brand whose card RFID0001 (no account) charged 7.25 kWh on 24 November 2026,
    10:00-10:45 UTC, and its CDR: 2.83 energy + 0.50 fee = 3.33 net, 0.63 VAT, 3.96."""
    brand = await charging_brand(database, make_brand, **brand_options)
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await charge(cp, Meter(), "RFID0001", "2026-11-24T10:00:00Z", "2026-11-24T10:45:00Z", 7_250)
    await rate_all(database, brand)
    return brand


async def rate_all(database: Database, brand: TenantInfo) -> None:
    async with database.tenant_transaction(brand.key) as db_session:
        await billing.rate_pending(db_session, limit=100)


async def issue(database: Database, brand: TenantInfo) -> list[Invoice]:
    async with database.tenant_transaction(brand.key) as db_session:
        return await issue_documents(db_session, brand, now=NOW)


async def documents(database: Database, brand: TenantInfo) -> list[Invoice]:
    async with database.tenant_session(brand.key) as db_session:
        return list(await db_session.scalars(select(Invoice).order_by(Invoice.number)))


async def cdrs(database: Database, brand: TenantInfo) -> list[Cdr]:
    async with database.tenant_session(brand.key) as db_session:
        return list(await db_session.scalars(select(Cdr).order_by(Cdr.number)))


async def test_a_drivers_session_gets_a_receipt_with_the_cents_of_its_cdr(
    database: Database, make_brand, open_charger
) -> None:
    brand = await charging_brand(database, make_brand)
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    await charge(cp, meter, "RFID0001", "2026-11-24T10:00:00Z", "2026-11-24T10:45:00Z", 7_250)
    await charge(cp, meter, "RFID0001", "2026-11-24T11:00:00Z", "2026-11-24T11:20:00Z", 2_000)
    await rate_all(database, brand)

    first = await issue(database, brand)
    again = await issue(database, brand)

    assert [r.number for r in first] == ["RCT-2026-000001", "RCT-2026-000002"]
    assert again == []
    receipt = (await documents(database, brand))[0]
    cdr = (await cdrs(database, brand))[0]
    # 7.25 kWh x 0.39 = 2.8275 -> 2.83; + 0.50 = 3.33 net; VAT 19 % = 0.6327 -> 0.63.
    assert (receipt.total_net, receipt.total_vat, receipt.total_gross, receipt.paid) == (
        333,
        63,
        396,
        0,
    )
    assert (cdr.total_excl_vat, cdr.total_vat, cdr.total_incl_vat) == (333, 63, 396)
    assert (receipt.kind.value, receipt.session_id, receipt.account_id) == (
        "receipt",
        cdr.session_id,
        None,
    )
    document = document_of(receipt)
    assert document.kind is DocumentKind.RECEIPT
    assert document.buyer.name == "Ad-hoc customer"
    assert document.seller.vat_id == "DE300000001"
    assert [
        (ln.description, ln.quantity, ln.unit, ln.unit_price, ln.net) for ln in document.lines
    ] == [
        ("Energy", Decimal("7.2500"), "KWH", Decimal("0.39"), 283),
        ("Session fee", Decimal(1), "C62", Decimal("0.50"), 50),
    ]
    assert [(v.category, v.rate, v.taxable, v.vat) for v in document.vat] == [
        (VatCategory.STANDARD, Decimal(19), 333, 63)
    ]
    assert document.lines[0].details == ("7.250 kWh charged", f"CDR {cdr.number}")
    assert (document.lines[0].period_start, document.lines[0].period_end) == (
        datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        datetime(2026, 11, 24, 10, 45, tzinfo=UTC),
    )
    # Unpaid (no PSP payment for this card): due in 14 days, to the brand's bank account.
    assert (receipt.issue_date, receipt.due_date) == (date(2026, 11, 24), date(2026, 12, 8))
    assert document.payment_iban == "DE89370400440532013000"


async def test_a_receipt_waits_for_the_capture_and_then_shows_it_paid(
    database: Database, make_brand, open_charger
) -> None:
    brand = await one_rated_session(database, make_brand, open_charger)
    cdr = (await cdrs(database, brand))[0]
    async with database.tenant_transaction(brand.key) as db_session:
        db_session.add(
            Payment(
                session_id=cdr.session_id,
                provider="stripe",
                currency="EUR",
                amount_authorized=5000,
                psp_reference="pi_1",
                status=PaymentStatus.AUTHORIZED,
            )
        )

    while_authorized = await issue(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await db_session.execute(
            update(Payment).values(status=PaymentStatus.CAPTURED, amount_captured=396)
        )
    after_capture = await issue(database, brand)

    assert while_authorized == []
    assert [(r.number, r.total_gross, r.paid, r.due_date) for r in after_capture] == [
        ("RCT-2026-000001", 396, 396, None)
    ]
    assert document_of(after_capture[0]).payable == 0


async def test_a_fleets_month_ends_in_one_invoice_in_its_locale_and_the_brands_timezone(
    database: Database, make_brand, open_charger
) -> None:
    brand = await charging_brand(database, make_brand)
    account = await fleet_account(database, brand)
    other = await fleet_account(database, brand, name="Other fleet", vat_id=None)
    await add_token(
        database,
        brand,
        "FLEET01",
        account_id=account,
        label="Card 01",
        driver_name="Jana Weber",
        vehicle="B-SL 101E",
        cost_centre="Sales",
    )
    await add_token(
        database,
        brand,
        "FLEET02",
        account_id=account,
        driver_name="Ole Brandt",
        vehicle="B-SL 202E",
        cost_centre="Service",
    )
    await add_token(database, brand, "OTHER01", account_id=other)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    await charge(cp, meter, "FLEET01", "2026-10-02T08:00:00Z", "2026-10-02T09:00:00Z", 10_000)
    await charge(cp, meter, "FLEET02", "2026-10-15T08:00:00Z", "2026-10-15T08:30:00Z", 3_333)
    # 31 October 23:10-23:40 UTC is 1 November 00:10-00:40 in Berlin: November's invoice.
    await charge(cp, meter, "FLEET01", "2026-10-31T23:10:00Z", "2026-10-31T23:40:00Z", 5_000)
    await charge(cp, meter, "OTHER01", "2026-10-20T08:00:00Z", "2026-10-20T08:30:00Z", 1_000)
    await rate_all(database, brand)

    receipts = await issue(database, brand)  # fleet sessions never get receipts
    async with database.tenant_session(brand.key) as db_session:
        due = await accounts_to_invoice(db_session, brand, OCTOBER)
    async with database.tenant_transaction(brand.key) as db_session:
        invoice = await invoice_account(db_session, brand, account, OCTOBER, now=NOW)
    async with database.tenant_transaction(brand.key) as db_session:
        again = await invoice_account(db_session, brand, account, OCTOBER, now=NOW)

    assert receipts == []
    assert sorted(due) == sorted([account, other])
    assert invoice is not None
    assert again is not None
    assert again.id == invoice.id
    assert [d.number for d in await documents(database, brand)] == ["INV-2026-000001"]
    # 10 kWh: 3.90 + 0.50 = 4.40; 3.333 kWh: 1.29987 -> 1.30, + 0.50 = 1.80. Net 6.20,
    # VAT 19 % on 6.20 = 1.178 -> 1.18 (once on the sum, EN 16931 BR-CO-17).
    assert (invoice.total_net, invoice.total_vat, invoice.total_gross) == (620, 118, 738)
    assert (invoice.period_start, invoice.period_end) == (OCTOBER, date(2026, 10, 31))
    assert (invoice.issue_date, invoice.due_date) == (date(2026, 11, 24), date(2026, 12, 24))
    document = document_of(invoice)
    assert document.locale == "de_DE"
    assert document.buyer.name == "Spree Logistik GmbH"
    assert document.buyer.vat_id == "DE811111111"
    assert document.buyer_reference == "PO-4711"
    assert document.payment_terms == "Zahlbar innerhalb von 30 Tagen ab Rechnungsdatum."
    assert [
        (ln.description, ln.net, ln.card, ln.driver, ln.vehicle, ln.cost_centre)
        for ln in document.lines
    ] == [
        ("Ladevorgang an Site of CP16", 440, "Card 01", "Jana Weber", "B-SL 101E", "Sales"),
        ("Ladevorgang an Site of CP16", 180, "FLEET02", "Ole Brandt", "B-SL 202E", "Service"),
    ]
    assert document.lines[1].details[0] == "3,333 kWh geladen"
    # The November session is still to be billed; the other fleet's CDR too.
    async with database.tenant_session(brand.key) as db_session:
        billed = await db_session.scalar(select(func.count()).select_from(InvoiceCdr))
    assert billed == 2


async def test_a_month_with_nothing_to_bill_makes_no_invoice(
    database: Database, make_brand
) -> None:
    brand = await charging_brand(database, make_brand)
    account = await fleet_account(database, brand)

    async with database.tenant_transaction(brand.key) as db_session:
        invoice = await invoice_account(db_session, brand, account, OCTOBER, now=NOW)

    assert invoice is None
    assert await documents(database, brand) == []


async def test_a_credited_cdr_gets_a_credit_note_that_corrects_its_receipt(
    database: Database, make_brand, open_charger
) -> None:
    brand = await one_rated_session(database, make_brand, open_charger)
    (receipt,) = await issue(database, brand)
    cdr = (await cdrs(database, brand))[0]
    async with database.tenant_transaction(brand.key) as db_session:
        await billing.credit_cdr(db_session, cdr.id, reason="Charger fault")

    (credit_note,) = await issue(database, brand)
    again = await issue(database, brand)

    assert again == []
    assert (credit_note.number, credit_note.kind.value, credit_note.corrects_id) == (
        "CRN-2026-000001",
        "credit_note",
        receipt.id,
    )
    assert (credit_note.total_net, credit_note.total_vat, credit_note.total_gross) == (333, 63, 396)
    document = document_of(credit_note)
    assert (document.corrects, document.corrects_issue_date) == (
        "RCT-2026-000001",
        date(2026, 11, 24),
    )
    assert document.notes == ("Reason: Charger fault",)
    assert [(ln.description, ln.net) for ln in document.lines] == [
        ("Energy", 283),
        ("Session fee", 50),
    ]


async def test_a_cdr_credited_before_it_was_billed_is_settled_without_documents(
    database: Database, make_brand, open_charger
) -> None:
    brand = await one_rated_session(database, make_brand, open_charger)
    cdr = (await cdrs(database, brand))[0]
    async with database.tenant_transaction(brand.key) as db_session:
        await billing.credit_cdr(db_session, cdr.id, reason="Test session")

    issued = await issue(database, brand)

    assert issued == []
    async with database.tenant_session(brand.key) as db_session:
        settled = (await db_session.execute(select(InvoiceCdr.cdr_id, InvoiceCdr.invoice_id))).all()
    assert len(settled) == 2
    assert {invoice_id for _, invoice_id in settled} == {None}


async def test_numbers_are_gap_free_when_an_issue_rolls_back_and_when_runs_race(
    database: Database, make_brand, open_charger
) -> None:
    brand = await charging_brand(database, make_brand)
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    for n in range(6):
        start = f"2026-11-24T{n + 8:02d}:00:00Z"
        await charge(cp, meter, "RFID0001", start, f"2026-11-24T{n + 8:02d}:30:00Z", 1_000)
    await rate_all(database, brand)

    numbered_then_failed: list[str] = []

    async def fail_after_numbering() -> None:
        async with database.tenant_transaction(brand.key) as db_session:
            issued = await issue_documents(db_session, brand, now=NOW, limit=1)
            numbered_then_failed.extend(r.number for r in issued)
            raise RuntimeError("the job failed after the receipt was numbered")

    with pytest.raises(RuntimeError, match="after the receipt"):
        await fail_after_numbering()

    # Two runs at once: each takes CDRs the other has not locked.
    async def run() -> list[Invoice]:
        async with database.tenant_transaction(brand.key) as db_session:
            return await issue_documents(db_session, brand, now=NOW, limit=3)

    await asyncio.gather(run(), run())
    await issue(database, brand)

    assert numbered_then_failed == ["RCT-2026-000001"]
    numbers = [d.number for d in await documents(database, brand)]
    assert numbers == [f"RCT-2026-{n:06d}" for n in range(1, 7)]
    async with database.tenant_session(brand.key) as db_session:
        counter = await db_session.get(InvoiceCounter, ("RCT", 2026))
    assert counter is not None
    assert counter.last_number == 6


async def test_an_issued_document_cannot_be_changed_or_deleted(
    database: Database, make_brand, open_charger
) -> None:
    brand = await one_rated_session(database, make_brand, open_charger)
    (receipt,) = await issue(database, brand)

    schema = f'"tenant_{brand.key}"'
    for statement in (
        f"UPDATE {schema}.invoices SET total_net = 1, total_gross = 64",
        f"UPDATE {schema}.invoices SET document = '{{}}'",
        f"DELETE FROM {schema}.invoices",
        f"DELETE FROM {schema}.invoice_cdrs",
    ):
        with pytest.raises(DBAPIError, match="issued documents are immutable"):
            async with database.tenant_transaction(brand.key) as db_session:
                await db_session.execute(text(statement))
    async with database.tenant_transaction(brand.key) as db_session:
        await db_session.execute(update(Invoice).values(paid=396))

    (stored,) = await documents(database, brand)
    assert (stored.number, stored.total_net, stored.total_gross, stored.paid) == (
        receipt.number,
        333,
        396,
        396,
    )
    assert stored.document == receipt.document


async def test_a_brand_without_a_legal_entity_issues_nothing_and_says_why(
    database: Database, make_brand, open_charger
) -> None:
    brand = await one_rated_session(database, make_brand, open_charger, legal=None)

    with pytest.raises(InvoicingNotConfiguredError, match=r"has no \[legal\] section"):
        await issue(database, brand)

    assert await documents(database, brand) == []
    async with database.tenant_session(brand.key) as db_session:
        assert await db_session.scalar(select(func.count()).select_from(InvoiceCdr)) == 0


async def test_the_documents_of_real_sessions_validate_as_ubl_and_read_back_as_pdf(
    database: Database, make_brand, open_charger
) -> None:
    brand = await charging_brand(database, make_brand)
    account = await fleet_account(database, brand)
    await add_token(database, brand, "RFID0001")
    await add_token(database, brand, "FLEET01", account_id=account, cost_centre="Sales")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    await charge(cp, meter, "FLEET01", "2026-10-02T08:00:00Z", "2026-10-02T09:00:00Z", 10_000)
    await charge(cp, meter, "RFID0001", "2026-11-24T10:00:00Z", "2026-11-24T10:45:00Z", 7_250)
    await rate_all(database, brand)
    (receipt,) = await issue(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        invoice = await invoice_account(db_session, brand, account, OCTOBER, now=NOW)
        assert invoice is not None
        credit_note = await credit_document(
            db_session, brand, invoice.id, reason="Wrong card", now=NOW
        )

    rendered = {
        doc.number: (
            render_document(doc, DocumentFormat.UBL)[0],
            PdfReader(io.BytesIO(render_document(doc, DocumentFormat.PDF)[0])),
        )
        for doc in (receipt, invoice, credit_note)
    }

    receipt_xml, receipt_pdf = rendered["RCT-2026-000001"]
    invoice_xml, invoice_pdf = rendered["INV-2026-000001"]
    credit_xml, credit_pdf = rendered["CRN-2026-000001"]
    receipt_root = valid(receipt_xml)
    invoice_root = valid(invoice_xml)
    credit_root = valid(credit_xml, "CreditNote")
    assert ubl_text(receipt_root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "3.96"
    assert ubl_text(invoice_root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount") == "5.24"
    assert ubl_text(invoice_root, "cbc:BuyerReference") == "PO-4711"
    assert ubl_text(invoice_root, "cac:InvoiceLine/cbc:AccountingCost") == "Sales"
    assert ubl_text(credit_root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID") == (
        "INV-2026-000001"
    )
    receipt_page = receipt_pdf.pages[0].extract_text().replace("\xa0", " ")
    assert f"{brand.name} Receipt" in receipt_page
    assert "Number RCT-2026-000001" in receipt_page
    assert "Total incl. VAT €3.96" in receipt_page
    invoice_page = invoice_pdf.pages[0].extract_text().replace("\xa0", " ")
    assert f"{brand.name} Rechnung" in invoice_page
    assert "Nummer INV-2026-000001" in invoice_page
    assert "Summe brutto 5,24 €" in invoice_page
    assert "Ihre Referenz PO-4711" in invoice_page
    credit_page = credit_pdf.pages[0].extract_text().replace("\xa0", " ")
    assert "Korrigiert INV-2026-000001 vom 24.11.2026" in credit_page
    assert "Summe brutto 5,24 €" in credit_page


async def test_a_fleets_waiting_sessions_never_hold_up_a_drivers_receipt(
    database: Database, make_brand, open_charger
) -> None:
    brand = await charging_brand(database, make_brand)
    account = await fleet_account(database, brand)
    await add_token(database, brand, "FLEET01", account_id=account)
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    for hour in (8, 9, 10):  # older than the driver's session: first in CDR order
        start, stop = f"2026-11-24T{hour:02d}:00:00Z", f"2026-11-24T{hour:02d}:30:00Z"
        await charge(cp, meter, "FLEET01", start, stop, 1_000)
    await charge(cp, meter, "RFID0001", "2026-11-24T11:00:00Z", "2026-11-24T11:30:00Z", 1_000)
    await rate_all(database, brand)

    async with database.tenant_transaction(brand.key) as db_session:
        issued = await issue_documents(db_session, brand, now=NOW, limit=1)

    assert [(r.number, r.account_id) for r in issued] == [("RCT-2026-000001", None)]
