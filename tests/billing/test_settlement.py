"""A session charged through the gateway ends in a CDR, a captured payment and a receipt, all
with the cents of the live cost the driver saw when charging stopped."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from ocpp.v16 import call as call16
from pypdf import PdfReader

from tests.billing.documents.test_ubl import text as ubl_text
from tests.billing.documents.test_ubl import valid
from tests.billing.providers.test_providers import stripe_at
from tests.billing.test_cdrs import (
    ENERGY_039,
    SESSION_FEE,
    add_tariff,
    meter,
    ocpi_tariff,
    only_session,
)
from tests.billing.test_invoicing import NOW
from tests.billing.test_payments import fake_stripe, pre_authorize
from tests.factories import BERLIN_SELLER
from tests.ocpp.conftest import add_ocpp_station, add_token, gateway, open_charger
from voltlane import billing
from voltlane.billing import payments
from voltlane.billing.invoicing import DocumentFormat, document_of, issue_documents, render_document
from voltlane.core.db import Database
from voltlane.models.tenant import PaymentStatus

__all__ = ["fake_stripe", "gateway", "open_charger"]


async def test_live_cost_cdr_capture_and_receipt_show_the_same_cents(
    database: Database, make_brand, open_charger, fake_stripe
) -> None:
    fake, url = fake_stripe
    stripe = stripe_at(url)
    brand = await make_brand(legal=BERLIN_SELLER, payments="stripe", locale="de_DE")
    await add_ocpp_station(database, brand, "CP16")
    await add_token(database, brand, "RFID0001")
    await add_tariff(database, brand, ocpi_tariff("AC-STD", ENERGY_039, SESSION_FEE))
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    started = await cp.call(
        call16.StartTransaction(
            connector_id=1, id_tag="RFID0001", meter_start=1_000_000, timestamp=NOW.isoformat()
        )
    )
    session_id = (await only_session(database, brand)).id
    authorized = await pre_authorize(database, brand, session_id, stripe, "pm_card_visa")
    await cp.call(
        call16.MeterValues(
            connector_id=1,
            transaction_id=started.transaction_id,
            meter_value=[meter("2026-11-24T12:40:00Z", 1_012_345)],
        )
    )
    async with database.tenant_session(brand.key) as db_session:
        seen = await billing.live_cost(
            db_session, session_id, now=datetime(2026, 11, 24, 12, 40, tzinfo=UTC)
        )
    await cp.call(
        call16.StopTransaction(
            transaction_id=started.transaction_id,
            meter_stop=1_012_345,
            timestamp="2026-11-24T12:40:00Z",
            reason="EVDisconnected",
        )
    )
    async with database.tenant_transaction(brand.key) as db_session:
        cdr = await billing.rate_session(db_session, session_id)
    assert cdr is not None
    captured = await payments.capture_cdr(database, brand.key, cdr.id, provider=stripe)
    async with database.tenant_transaction(brand.key) as db_session:
        (receipt,) = await issue_documents(db_session, brand, now=NOW)

    # 12.345 kWh x 0.39 = 4.81455 -> 4.81; + 0.50 = 5.31 net; VAT 19 % = 1.0089 -> 1.01.
    assert (seen.total_excl_vat, seen.total_vat, seen.total_incl_vat) == (531, 101, 632)
    assert (cdr.total_excl_vat, cdr.total_vat, cdr.total_incl_vat) == (531, 101, 632)
    assert captured is not None
    assert (captured.status, captured.amount_captured) == (PaymentStatus.CAPTURED, 632)
    assert fake.captured_amounts == {authorized.psp_reference: 632}
    assert (receipt.total_net, receipt.total_vat, receipt.total_gross, receipt.paid) == (
        531,
        101,
        632,
        632,
    )
    document = document_of(receipt)
    assert (document.payable, document.payment_iban, document.due_date) == (0, None, None)
    root = valid(render_document(receipt, DocumentFormat.UBL)[0])
    assert ubl_text(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == "48"
    assert ubl_text(root, "cac:LegalMonetaryTotal/cbc:PrepaidAmount") == "6.32"
    assert ubl_text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "0.00"
    page = PdfReader(io.BytesIO(render_document(receipt, DocumentFormat.PDF)[0])).pages[0]
    printed = page.extract_text().replace("\xa0", " ")
    assert "Quittung" in printed
    assert "Summe brutto 6,32 €" in printed
    assert "Bezahlt 6,32 €" in printed
    assert "Nichts zu zahlen: dieser Beleg ist bezahlt." in printed
