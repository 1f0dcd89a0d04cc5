"""Finance in the operator portal, driven over HTTP as a browser would: documents, payments
and refunds, failed payments in dunning, outstanding settlements, invoice runs, e-mails."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from tests.api.test_notifications_api import write
from tests.billing.providers.test_providers import stripe_at
from tests.billing.test_invoicing import (
    NOW,
    Meter,
    charge,
    charging_brand,
    driver_account,
    issue,
    rate_all,
)
from tests.billing.test_payments import add_cdr, fake_stripe, finished_session, pre_authorize
from tests.factories import BERLIN_SELLER, add_fleet_account, add_user
from tests.fakes.smtp import smtp_server
from tests.fakes.webhooks import STRIPE_WEBHOOK_SECRET
from tests.ocpp.conftest import add_token, gateway, open_charger
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.billing import payments
from voltlane.billing.dunning import open_dunning
from voltlane.billing.invoicing import invoice_account
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.core.mail import SmtpServer
from voltlane.identity.notifications import send_notification
from voltlane.models.tenant import (
    AuditEntry,
    ChargingSession,
    Invoice,
    Notification,
    Payment,
    PaymentOperation,
    PaymentStatus,
    Role,
)
from voltlane.tenancy import TenantInfo
from voltlane.worker import outbox as outbox_module
from voltlane.worker.models import OutboxMessage

__all__ = ["fake_stripe", "gateway", "open_charger"]

PASSWORD = "correct horse battery"
FINANCE = "fin@example.com"
READER = "ro@example.com"
ROW_RE = re.compile(r'<tr data-document="([^"]+)">')


async def add_staff(database: Database, brand: TenantInfo) -> None:
    """A finance clerk (may write) and a read-only colleague."""
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, FINANCE, PASSWORD, Role.FINANCE, name="Fina Clerk")
        await add_user(db_session, READER, PASSWORD, Role.READ_ONLY, name="Rea Der")


async def billed_brand(
    database: Database, make_brand: Any, open_charger: Any, *, invoiced_at: datetime = NOW
) -> TenantInfo:
    """A Berlin brand with a receipt of an ad-hoc driver (RCT-2026-000001: 3.33 + 0.63 =
    3.96 EUR, unpaid, issued at NOW) and Spree Logistik's November invoice (INV-2026-000001:
    1.28 + 0.24 = 1.52 EUR, due 30 days after ``invoiced_at``)."""
    brand = await charging_brand(database, make_brand)
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = (await add_fleet_account(db_session)).id
    await add_token(database, brand, "RFID0001")
    await add_token(database, brand, "RFID0002", account_id=fleet, label="Van 7")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    await charge(cp, meter, "RFID0001", "2026-11-24T10:00:00Z", "2026-11-24T10:45:00Z", 7_250)
    await charge(cp, meter, "RFID0002", "2026-11-24T11:00:00Z", "2026-11-24T11:20:00Z", 2_000)
    await rate_all(database, brand)
    await issue(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await invoice_account(db_session, brand, fleet, date(2026, 11, 1), now=invoiced_at)
    await add_staff(database, brand)
    return brand


async def document_id(database: Database, brand: TenantInfo, number: str) -> uuid.UUID:
    async with database.tenant_session(brand.key) as db_session:
        found = await db_session.scalar(select(Invoice.id).where(Invoice.number == number))
    assert found is not None
    return found


async def documents(database: Database, brand: TenantInfo) -> list[tuple[str, str | None]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.execute(
            select(Invoice.number, Invoice.corrects_id).order_by(Invoice.number)
        )
        return [(number, str(corrects) if corrects else None) for number, corrects in rows]


async def audit_log(database: Database, brand: TenantInfo) -> list[tuple[Any, ...]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.startswith("portal."))
            .order_by(AuditEntry.id)
        )
        return [(a.action, a.actor_email, a.entity, a.entity_id, a.detail) for a in rows]


async def test_documents_are_filtered_paged_and_exported(
    database: Database, make_brand, client_for, open_charger
) -> None:
    brand = await billed_brand(database, make_brand, open_charger)
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = await add_fleet_account(db_session, name="Other fleet")
        await add_user(
            db_session, "fm@example.com", PASSWORD, Role.FLEET_MANAGER, fleet_account_id=fleet.id
        )
    receipt = await document_id(database, brand, "RCT-2026-000001")

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "fm@example.com", PASSWORD)
        fleet_list = await client.get("/portal/finance/documents", headers=HTML)
        fleet_page = await client.get(f"/portal/finance/documents/{receipt}", headers=HTML)
        fleet_csv = await client.get("/portal/finance/payments?format=csv", headers=HTML)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        home = await client.get("/portal/finance", headers=HTML)
        every = await client.get("/portal/finance/documents", headers=HTML)
        invoices = await client.get("/portal/finance/documents?kind=invoice", headers=HTML)
        spree = await client.get("/portal/finance/documents?customer=SPREE", headers=HTML)
        receipts = await client.get("/portal/finance/documents?number=rct-2026", headers=HTML)
        unpaid = await client.get("/portal/finance/documents?paid=unpaid", headers=HTML)
        paid = await client.get("/portal/finance/documents?paid=paid", headers=HTML)
        later = await client.get("/portal/finance/documents?issued_from=2026-11-25", headers=HTML)
        that_day = await client.get(
            "/portal/finance/documents?issued_from=2026-11-24&issued_to=2026-11-24", headers=HTML
        )
        csv = await client.get("/portal/finance/documents?format=csv&kind=", headers=HTML)
        runs = await client.get("/portal/finance/invoice-runs", headers=HTML)
        runs_csv = await client.get("/portal/finance/invoice-runs?format=csv")
        backwards = await client.get(
            "/portal/finance/documents?issued_from=2026-11-24&issued_to=2026-11-01&number=INV",
            headers=HTML,
        )
        bad_kind = await client.get("/portal/finance/documents?kind=bill", headers=HTML)
        fragment = await client.get(
            "/portal/finance/documents?page=2", headers={**HTML, "HX-Request": "true"}
        )

    # Fleet managers see their own fleet's pages only, never the brand's finance.
    assert (fleet_list.status_code, fleet_page.status_code, fleet_csv.status_code) == (
        403,
        403,
        403,
    )
    assert (home.status_code, home.headers["location"]) == (303, "/portal/finance/documents")
    assert ROW_RE.findall(every.text) == ["RCT-2026-000001", "INV-2026-000001"]
    assert '<a href="/portal/finance" aria-current="page">Finance</a>' in every.text
    assert "<td>Ad-hoc customer</td>" in every.text
    assert '<td class="num">€3.96</td>' in every.text
    assert ROW_RE.findall(invoices.text) == ["INV-2026-000001"]
    assert ROW_RE.findall(spree.text) == ["INV-2026-000001"]
    assert ROW_RE.findall(receipts.text) == ["RCT-2026-000001"]
    assert ROW_RE.findall(unpaid.text) == ["RCT-2026-000001", "INV-2026-000001"]
    assert ROW_RE.findall(paid.text) == []
    assert "No documents match." in paid.text
    assert ROW_RE.findall(later.text) == []
    assert ROW_RE.findall(that_day.text) == ["RCT-2026-000001", "INV-2026-000001"]
    assert csv.headers["content-disposition"] == 'attachment; filename="documents.csv"'
    assert csv.text.split("\r\n") == [
        "number,kind,issued_at,customer,total_net,total_vat,total_gross,currency,paid",
        "RCT-2026-000001,receipt,2026-11-24T12:00:00+00:00,Ad-hoc customer,333,63,396,EUR,0",
        "INV-2026-000001,invoice,2026-11-24T12:00:00+00:00,Spree Logistik GmbH,128,24,152,EUR,0",
        "",
    ]
    # What each month's invoice runs issued.
    assert re.findall(r'<tr data-period="([^"]+)">', runs.text) == ["2026-11"]
    assert '<td class="num">€1.52</td>' in runs.text
    assert runs_csv.text.split("\r\n") == [
        "period_start,currency,invoices,total_gross,paid",
        "2026-11-01,EUR,1,152,0",
        "",
    ]
    # A wrong filter is shown beside its field, with what was typed kept.
    assert backwards.status_code == 400
    assert (
        '<p class="field-error" id="issued_to-error">The end date is before the start date.</p>'
        in backwards.text
    )
    assert 'name="number" type="text" value="INV"' in backwards.text
    assert ROW_RE.findall(backwards.text) == []
    assert bad_kind.status_code == 400
    assert '<p class="field-error" id="kind-error">Choose one of the options.</p>' in bad_kind.text
    # HTMX pages swap only the table.
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<table class="table">')
    assert 'rel="prev"' in fragment.text


async def test_a_document_page_shows_its_lines_totals_and_downloads(
    database: Database, make_brand, client_for, open_charger
) -> None:
    brand = await billed_brand(database, make_brand, open_charger)
    receipt = await document_id(database, brand, "RCT-2026-000001")
    other = await make_brand()

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        page = await client.get(f"/portal/finance/documents/{receipt}", headers=HTML)
        pdf_link = re.search(r'href="(/documents/[^"]+/pdf)"', page.text)
        ubl_link = re.search(r'href="(/documents/[^"]+/ubl)"', page.text)
        assert pdf_link is not None
        assert ubl_link is not None
        pdf = await client.get(pdf_link.group(1))
        ubl = await client.get(ubl_link.group(1))
        credit_form = await client.get(f"/portal/finance/documents/{receipt}/credit", headers=HTML)
    async with client_for(f"{other.slug}.localhost") as client:
        await add_staff(database, other)
        await sign_in(client, READER, PASSWORD)
        elsewhere = await client.get(f"/portal/finance/documents/{receipt}", headers=HTML)

    assert page.status_code == 200
    assert "<h2>Receipt RCT-2026-000001</h2>" in page.text
    assert re.findall(r'<tr>\s*<th scope="row">([^<]+)', page.text) == ["Energy", "Session fee"]
    assert '<td class="num">7.25 kWh</td>' in page.text
    assert '<td class="num">1</td>' in page.text
    assert '<td class="num">€0.39</td>' in page.text
    assert '<dd data-testid="total">€3.96</dd>' in page.text
    assert '<td class="num" data-testid="payable">€3.96</td>' in page.text
    assert "VAT 19 % on €3.33" in page.text
    # A read-only role sees no way to credit the document, and cannot open the form.
    assert "Credit this document" not in page.text
    assert credit_form.status_code == 403
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF-")
    assert ubl.status_code == 200
    assert b"<cbc:ID>RCT-2026-000001</cbc:ID>" in ubl.content
    assert elsewhere.status_code == 404


async def test_crediting_a_document_asks_for_a_reason_and_issues_a_credit_note(
    database: Database, make_brand, client_for, open_charger
) -> None:
    brand = await billed_brand(database, make_brand, open_charger)
    receipt = await document_id(database, brand, "RCT-2026-000001")
    other = await make_brand()
    await add_staff(database, other)
    path = f"/portal/finance/documents/{receipt}/credit"

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        page = await client.get(f"/portal/finance/documents/{receipt}", headers=HTML)
        refused = await client.post(
            path, data={"reason": "Broken cable", "_csrf_token": csrf_token(page.text)}
        )
    async with client_for(f"{other.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get("/portal/finance/documents", headers=HTML)
        elsewhere = await client.post(
            path, data={"reason": "Broken cable", "_csrf_token": csrf_token(page.text)}
        )
    before = await documents(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        shown = await client.get(f"/portal/finance/documents/{receipt}", headers=HTML)
        form = await client.get(path, headers=HTML)
        token = csrf_token(form.text)
        empty = await client.post(path, data={"reason": "  ", "_csrf_token": token}, headers=HTML)
        after_empty = await documents(database, brand)
        too_long = await client.post(
            path, data={"reason": "x" * 256, "_csrf_token": token}, headers=HTML
        )
        credited = await client.post(
            path, data={"reason": "Broken cable", "_csrf_token": token}, headers=HTML
        )
        note_page = await client.get(credited.headers["location"], headers=HTML)
        again = await client.post(
            path, data={"reason": "Twice", "_csrf_token": token}, headers=HTML
        )
        invoice = await document_id(database, brand, "INV-2026-000001")
        fleet_credit = await client.post(
            f"/portal/finance/documents/{invoice}/credit",
            data={"reason": "Wrong contract price", "_csrf_token": token},
            headers=HTML,
        )

    assert refused.status_code == 403
    assert elsewhere.status_code == 404
    assert before == after_empty == [("INV-2026-000001", None), ("RCT-2026-000001", None)]
    assert "Credit this document" in shown.text
    assert empty.status_code == 400
    assert (
        '<p class="field-error" id="reason-error">Give the reason for the credit note.</p>'
        in empty.text
    )
    assert too_long.status_code == 400
    assert '<p class="field-error" id="reason-error">At most 255 characters.</p>' in too_long.text
    assert ">" + "x" * 256 + "</textarea>" in too_long.text
    note = await document_id(database, brand, "CRN-2026-000001")
    assert credited.status_code == 303
    assert credited.headers["location"] == f"/portal/finance/documents/{note}?credited=1"
    invoice = await document_id(database, brand, "INV-2026-000001")
    assert await documents(database, brand) == [
        ("CRN-2026-000001", str(receipt)),
        ("CRN-2026-000002", str(invoice)),
        ("INV-2026-000001", None),
        ("RCT-2026-000001", None),
    ]
    assert "The credit note was issued." in note_page.text
    assert "<h2>Credit note CRN-2026-000001</h2>" in note_page.text
    assert f'<a href="/portal/finance/documents/{receipt}">Receipt RCT-2026-000001</a>' in (
        note_page.text
    )
    assert "Credit this document" not in note_page.text
    assert again.status_code == 409
    assert "Everything on this document has been credited already." in again.text
    # The fleet's credit note is mailed to its accounts payable with its never-expiring links.
    fleet_note = await document_id(database, brand, "CRN-2026-000002")
    assert fleet_credit.headers["location"] == f"/portal/finance/documents/{fleet_note}?credited=1"
    [mail] = [
        n
        for n in await rows_of(database, brand, Notification, Notification.created_at)
        if n.kind == "document.credit_note"
    ]
    assert (mail.reference, mail.recipient) == (str(fleet_note), "ap@spree-logistik.example")
    assert f"http://{brand.slug}.localhost/documents/{fleet_note}/" in mail.body
    assert await audit_log(database, brand) == [
        (
            "portal.invoice.credit",
            FINANCE,
            "invoice",
            str(receipt),
            {"credit_note": "CRN-2026-000001", "reason": "Broken cable"},
        ),
        (
            "portal.invoice.credit",
            FINANCE,
            "invoice",
            str(invoice),
            {"credit_note": "CRN-2026-000002", "reason": "Wrong contract price"},
        ),
    ]


def use_fake_stripe(brand: TenantInfo, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The brand's Stripe account is the fake one at ``url``."""
    prefix = f"VOLTLANE_{brand.key.upper()}_"
    monkeypatch.setenv(f"{prefix}STRIPE_API_KEY", "sk_test_brand")
    monkeypatch.setenv(f"{prefix}STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET)
    monkeypatch.setenv(f"{prefix}STRIPE_API_BASE", url)


async def rows_of(database: Database, brand: TenantInfo, model: Any, *order: Any) -> list[Any]:
    async with database.tenant_session(brand.key) as db_session:
        return list((await db_session.scalars(select(model).order_by(*order))).all())


PAYMENT_ROW_RE = re.compile(r'<tr data-payment="([^"]+)">')


async def test_payments_are_filtered_exported_and_refunded_in_parts(
    database: Database, make_brand, client_for, fake_stripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = fake_stripe
    brand = await make_brand(payments="stripe")
    use_fake_stripe(brand, url, monkeypatch)
    stripe = stripe_at(url)
    paid_session = await finished_session(database, brand)
    await pre_authorize(database, brand, paid_session, stripe, "pm_card_visa")
    cdr_id = await add_cdr(database, brand, paid_session, total=1234)
    captured = await payments.capture_cdr(database, brand.key, cdr_id, provider=stripe)
    assert captured is not None
    fake.decline_next = 1
    declined = await pre_authorize(
        database, brand, await finished_session(database, brand), stripe, "pm_card_visa"
    )
    lena = await driver_account(database, brand)
    await payments.top_up_wallet(
        database,
        brand.key,
        lena,
        provider=stripe,
        amount=2500,
        currency="EUR",
        payment_method="pm_card_visa",
    )
    await add_staff(database, brand)
    other = await make_brand()
    await add_staff(database, other)
    page_path = f"/portal/finance/payments/{captured.id}"
    refund_path = f"{page_path}/refund"

    async with client_for(f"{other.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        listed_elsewhere = await client.get("/portal/finance/payments", headers=HTML)
        elsewhere = await client.get(page_path, headers=HTML)
        refund_elsewhere = await client.post(
            refund_path, data={"amount": "", "_csrf_token": csrf_token(listed_elsewhere.text)}
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        every = await client.get("/portal/finance/payments", headers=HTML)
        refused = await client.post(
            refund_path, data={"amount": "1.00", "_csrf_token": csrf_token(every.text)}
        )
        only_captured = await client.get("/portal/finance/payments?status=captured", headers=HTML)
        only_failed = await client.get("/portal/finance/payments?status=failed", headers=HTML)
        top_ups = await client.get("/portal/finance/payments?purpose=wallet_topup", headers=HTML)
        adyen = await client.get("/portal/finance/payments?provider=adyen", headers=HTML)
        unknown = await client.get("/portal/finance/payments?provider=paypal", headers=HTML)
        long_ago = await client.get("/portal/finance/payments?created_to=2020-01-31", headers=HTML)
        far = await client.get("/portal/finance/payments?created_to=9999-12-31", headers=HTML)
        csv = await client.get("/portal/finance/payments?status=captured&format=csv")
        read_only_page = await client.get(page_path, headers=HTML)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get(page_path, headers=HTML)
        token = csrf_token(page.text)
        bad = {
            typed: await client.post(
                refund_path, data={"amount": typed, "_csrf_token": token}, headers=HTML
            )
            for typed in ("abc", "12.35", "0", "1.234")
        }
        untouched = fake.refunds.copy()
        monkeypatch.setenv(f"VOLTLANE_{brand.key.upper()}_STRIPE_API_BASE", "http://127.0.0.1:9")
        unreachable = await client.post(
            refund_path, data={"amount": "2,34", "_csrf_token": token}, headers=HTML
        )
        monkeypatch.setenv(f"VOLTLANE_{brand.key.upper()}_STRIPE_API_BASE", url)
        part = await client.post(
            refund_path, data={"amount": "2,34", "_csrf_token": token}, headers=HTML
        )
        after_part = await client.get(page_path, headers=HTML)
        rest = await client.post(refund_path, data={"amount": "", "_csrf_token": token})
        after_rest = await client.get(page_path, headers=HTML)

    [payment, failed, top_up] = await rows_of(database, brand, Payment, Payment.created_at)
    assert failed.id == declined.id
    operations = await rows_of(
        database, brand, PaymentOperation, PaymentOperation.created_at, PaymentOperation.id
    )
    captured_ops = [op for op in operations if op.payment_id == payment.id]
    assert PAYMENT_ROW_RE.findall(listed_elsewhere.text) == []
    assert elsewhere.status_code == 404
    assert refund_elsewhere.status_code == 404
    assert refused.status_code == 403
    assert PAYMENT_ROW_RE.findall(every.text) == [str(top_up.id), str(failed.id), str(payment.id)]
    assert PAYMENT_ROW_RE.findall(only_captured.text) == [str(top_up.id), str(payment.id)]
    assert PAYMENT_ROW_RE.findall(only_failed.text) == [str(failed.id)]
    assert PAYMENT_ROW_RE.findall(top_ups.text) == [str(top_up.id)]
    assert "<td>Lena Fischer</td>\n      <td>Wallet top-up</td>" in top_ups.text
    assert PAYMENT_ROW_RE.findall(adyen.text) == []
    assert PAYMENT_ROW_RE.findall(long_ago.text) == []
    assert far.status_code == 400
    assert (
        '<p class="field-error" id="created_to-error">Enter a date between 1970 and 9998.</p>'
        in (far.text)
    )
    assert unknown.status_code == 400
    assert '<p class="field-error" id="provider-error">Choose one of the options.</p>' in (
        unknown.text
    )
    assert csv.text.split("\r\n") == [
        "id,created_at,purpose,status,provider,psp_reference,customer,currency,"
        "amount_authorized,amount_captured,amount_refunded,dunning_state,last_error",
        f"{top_up.id},{top_up.created_at.isoformat()},wallet_topup,captured,stripe,"
        f"{top_up.psp_reference},Lena Fischer,EUR,2500,2500,0,,",
        f"{payment.id},{payment.created_at.isoformat()},session,captured,stripe,"
        f"{payment.psp_reference},,EUR,5000,1234,0,,",
        "",
    ]
    # The payment's page: every PSP call with its idempotency key; no refund for a reader.
    assert [op.kind.value for op in captured_ops] == ["authorize", "capture", "refund", "refund"]
    for op in captured_ops[:2]:
        assert f"<code>{op.idempotency_key}</code>" in read_only_page.text
    assert '<dd data-testid="status">Captured</dd>' in read_only_page.text
    assert "Amount to refund" not in read_only_page.text
    assert "Leave empty to refund everything that is left: €12.34." in page.text
    assert f'<a href="/portal/sessions/{paid_session}">Open the session</a>' in page.text
    errors = {
        typed: re.findall(r'<p class="field-error" id="amount-error">([^<]+)</p>', r.text)
        for typed, r in bad.items()
    }
    assert {typed: r.status_code for typed, r in bad.items()} == dict.fromkeys(bad, 400)
    assert errors == {
        "abc": ["Enter an amount such as 12.50."],
        "12.35": ["That is more than can be refunded."],
        "0": ["Enter an amount greater than zero."],
        "1.234": ["The currency has no smaller unit than that."],
    }
    assert 'value="12.35"' in bad["12.35"].text
    assert untouched == {}
    # The PSP did not answer: nothing was refunded, and the retry sent the same key.
    assert unreachable.status_code == 502
    assert (
        "The payment provider could not be reached. Try again: the refund is sent only once."
        in unreachable.text
    )
    assert 'value="2,34"' in unreachable.text
    assert (part.status_code, part.headers["location"]) == (303, page_path)
    assert '<dd data-testid="refunded">€2.34</dd>' in after_part.text
    assert "Leave empty to refund everything that is left: €10.00." in after_part.text
    assert rest.status_code == 303
    assert '<dd data-testid="status">Refunded</dd>' in after_rest.text
    assert "Amount to refund" not in after_rest.text
    assert (payment.amount_refunded, payment.status) == (1234, PaymentStatus.REFUNDED)
    assert [(op.idempotency_key, op.state.value, op.amount) for op in captured_ops[2:]] == [
        (f"voltlane-refund-{payment.id}-1", "succeeded", 234),
        (f"voltlane-refund-{payment.id}-2", "succeeded", 1000),
    ]
    assert await audit_log(database, brand) == [
        (
            "portal.payment.refund",
            FINANCE,
            "payment",
            str(payment.id),
            {"amount": 234, "currency": "EUR"},
        ),
        (
            "portal.payment.refund",
            FINANCE,
            "payment",
            str(payment.id),
            {"amount": 1000, "currency": "EUR"},
        ),
    ]


async def unpaid_brand(
    database: Database, make_brand: Any, open_charger: Any, fake: Any, url: str
) -> tuple[TenantInfo, uuid.UUID, uuid.UUID]:
    """Lena Fischer's card was declined for her session of 3.96 EUR, and dunning follows it
    (first retry at NOW + 1 day); an ad-hoc driver owes 1.52 EUR by transfer for his. Both
    sessions have their receipt. Returns the brand, Lena's account and her payment."""
    brand = await charging_brand(database, make_brand, payments="stripe")
    lena = await driver_account(database, brand)
    await add_token(database, brand, "RFID0001", account_id=lena, label="Lenas Karte")
    await add_token(database, brand, "RFID0002")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    await charge(cp, meter, "RFID0001", "2026-11-24T10:00:00Z", "2026-11-24T10:45:00Z", 7_250)
    await charge(cp, meter, "RFID0002", "2026-11-24T11:00:00Z", "2026-11-24T11:20:00Z", 2_000)
    [session] = [
        s for s in await rows_of(database, brand, ChargingSession) if s.id_token == "RFID0001"
    ]
    fake.decline_next = 1
    declined = await pre_authorize(database, brand, session.id, stripe_at(url), "pm_card_visa")
    await rate_all(database, brand)
    await issue(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        assert await open_dunning(db_session, brand, now=NOW) == [declined.id]
    await add_staff(database, brand)
    return brand, lena, declined.id


async def test_failed_payments_show_their_dunning_and_are_retried_on_request(
    database: Database,
    make_brand,
    client_for,
    open_charger,
    fake_stripe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox_module, "_relay", None)
    fake, url = fake_stripe
    brand, _, payment_id = await unpaid_brand(database, make_brand, open_charger, fake, url)
    other = await make_brand()
    await add_staff(database, other)
    retry_path = f"/portal/finance/dunning/{payment_id}/retry"

    async with client_for(f"{other.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        listed_elsewhere = await client.get("/portal/finance/dunning", headers=HTML)
        elsewhere = await client.post(
            retry_path, data={"_csrf_token": csrf_token(listed_elsewhere.text)}
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        read_only = await client.get("/portal/finance/dunning", headers=HTML)
        refused = await client.post(retry_path, data={"_csrf_token": csrf_token(read_only.text)})
        recovered = await client.get("/portal/finance/dunning?state=recovered", headers=HTML)
        bad_state = await client.get("/portal/finance/dunning?state=lost", headers=HTML)
        csv = await client.get("/portal/finance/dunning?format=csv")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get("/portal/finance/dunning?state=scheduled", headers=HTML)
        before = await client.get(f"/portal/finance/payments/{payment_id}", headers=HTML)
        retried = await client.post(retry_path, data={"_csrf_token": csrf_token(page.text)})
        after = await client.get(retried.headers["location"], headers=HTML)

    [payment] = [p for p in await rows_of(database, brand, Payment) if p.id == payment_id]
    async with database.tenant_session(brand.key) as db_session:
        jobs = (
            await db_session.scalars(
                select(OutboxMessage).where(OutboxMessage.actor_name == "billing.dunning_run")
            )
        ).all()
    assert PAYMENT_ROW_RE.findall(listed_elsewhere.text) == []
    assert elsewhere.status_code == 404
    assert refused.status_code == 403
    assert PAYMENT_ROW_RE.findall(read_only.text) == [str(payment_id)]
    assert "Retry now" not in read_only.text
    cells = re.findall(r"<td[^>]*>(.*?)</td>", read_only.text, re.S)
    assert [c.strip() for c in cells[:6]] == [
        "Lenas Karte",
        "€3.96",
        "Retry scheduled",
        "0",
        "25/11/2026, 13:00",
        payment.last_error,
    ]
    assert PAYMENT_ROW_RE.findall(recovered.text) == []
    assert bad_state.status_code == 400
    assert csv.text.split("\r\n") == [
        "payment_id,customer,card,card_blocked,status,dunning_state,dunning_attempts,"
        "next_retry_at,owed,currency,last_error",
        f"{payment_id},Lena Fischer,RFID0001,no,failed,scheduled,0,2026-11-25T12:00:00+00:00,"
        f"396,EUR,{payment.last_error}",
        "",
    ]
    assert "Retry now" in page.text
    assert "Retry scheduled, next retry 25/11/2026, 13:00 (0 retries so far)" in before.text
    assert f'<form method="post" action="{retry_path}" class="form">' in before.text
    receipt = await document_id(database, brand, "RCT-2026-000001")
    assert f'<a href="/portal/finance/documents/{receipt}">RCT-2026-000001</a>' in before.text
    assert (retried.status_code, retried.headers["location"]) == (
        303,
        f"/portal/finance/dunning?queued={payment_id}",
    )
    assert "The retry is queued" in after.text
    assert payment.next_dunning_at is not None
    assert payment.next_dunning_at <= utcnow()
    assert [j.message["kwargs"] for j in jobs] == [{"tenant": brand.key}]
    assert await audit_log(database, brand) == [
        ("portal.payment.retry", FINANCE, "payment", str(payment_id), {})
    ]


async def test_outstanding_settlements_are_summed_per_customer(
    database: Database, make_brand, client_for, open_charger, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand, lena, payment_id = await unpaid_brand(database, make_brand, open_charger, fake, url)

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        page = await client.get("/portal/finance/outstanding", headers=HTML)
        csv = await client.get("/portal/finance/outstanding?format=csv")
        receipt = await client.get(
            f"/portal/finance/documents/{await document_id(database, brand, 'RCT-2026-000001')}",
            headers=HTML,
        )

    rows = re.findall(r'<tr data-account="([^"]*)">', page.text)
    assert rows == [str(lena), ""]
    assert (
        '<a href="/portal/finance/documents?customer=Lena%20Fischer&amp;paid=unpaid">'
        "Lena Fischer</a>" in page.text
    )
    assert "Ad-hoc customers" in page.text
    assert f'<a href="/portal/finance/payments/{payment_id}">Failed, €0.00 captured</a>' in (
        receipt.text
    )
    assert csv.text.split("\r\n") == [
        "account_id,customer,email,sessions,owed,at_psp,payment_failed,transfer_due,currency,"
        "oldest_session_at",
        f"{lena},Lena Fischer,lena@example.com,1,396,0,396,0,EUR,2026-11-24T10:00:00+00:00",
        ",,,1,152,0,0,152,EUR,2026-11-24T11:00:00+00:00",
        "",
    ]


async def test_a_month_is_invoiced_by_hand_only_once_it_has_ended(
    database: Database, make_brand, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "_relay", None)
    brand = await make_brand(legal=BERLIN_SELLER)
    await add_staff(database, brand)
    this_month = utcnow().astimezone(ZoneInfo(brand.timezone)).strftime("%Y-%m")

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        read_only = await client.get("/portal/finance/invoice-runs", headers=HTML)
        refused = await client.post(
            "/portal/finance/invoice-runs",
            data={"month": "2026-10", "_csrf_token": csrf_token(read_only.text)},
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get("/portal/finance/invoice-runs", headers=HTML)
        token = csrf_token(page.text)
        bad = {
            typed: await client.post(
                "/portal/finance/invoice-runs",
                data={"month": typed, "_csrf_token": token},
                headers=HTML,
            )
            for typed in ("", "2026-13", "October", "0000-05", this_month)
        }
        queued = await client.post(
            "/portal/finance/invoice-runs", data={"month": "2026-10", "_csrf_token": token}
        )
        after = await client.get(queued.headers["location"], headers=HTML)
    unconfigured = await make_brand()
    await add_staff(database, unconfigured)
    async with client_for(f"{unconfigured.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get("/portal/finance/invoice-runs", headers=HTML)
        no_seller = await client.post(
            "/portal/finance/invoice-runs",
            data={"month": "2026-10", "_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )

    assert no_seller.status_code == 409
    incomplete = "The brand&#39;s invoice details are incomplete: nothing can be invoiced."
    assert incomplete in no_seller.text
    async with database.tenant_session(brand.key) as db_session:
        jobs = (
            await db_session.scalars(
                select(OutboxMessage).where(OutboxMessage.actor_name == "billing.invoice_brand")
            )
        ).all()
    assert "Month to invoice" not in read_only.text
    assert refused.status_code == 403
    assert 'type="month"' in page.text
    assert "No monthly invoices yet." in page.text
    assert {typed: r.status_code for typed, r in bad.items()} == dict.fromkeys(bad, 400)
    assert {
        typed: re.findall(r'<p class="field-error" id="month-error">([^<]+)</p>', r.text)
        for typed, r in bad.items()
    } == {
        "": ["Choose the month to invoice."],
        "2026-13": ["Enter a month as YYYY-MM."],
        "October": ["Enter a month as YYYY-MM."],
        "0000-05": ["Enter a month between 1970 and 9998."],
        this_month: ["Only a month that has ended can be invoiced."],
    }
    assert 'value="October"' in bad["October"].text
    assert (queued.status_code, queued.headers["location"]) == (
        303,
        "/portal/finance/invoice-runs?queued=2026-10",
    )
    assert "The invoice run for 2026-10 is queued." in after.text
    assert [j.message["kwargs"] for j in jobs] == [
        {"tenant": brand.key, "period_start": "2026-10-01"}
    ]
    assert await audit_log(database, brand) == [
        (
            "portal.invoice_run.create",
            FINANCE,
            "invoice_run",
            "2026-10-01",
            {"period_start": "2026-10-01"},
        )
    ]


async def test_customer_emails_show_why_they_were_not_sent_and_are_sent_again(
    database: Database, make_brand, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox_module, "_relay", None)
    brand = await make_brand()
    await add_staff(database, brand)
    sent = await write(database, brand, "a", "lena@example.com")
    unsent = await write(database, brand, "b", "ole@example.com")
    with smtp_server() as (_, smtp_url):
        await send_notification(
            database,
            brand.key,
            sent,
            server=SmtpServer.parse(smtp_url),
            sender_name="V",
            sender="v@x.io",
        )
    await send_notification(
        database, brand.key, unsent, server=None, sender_name="V", sender="v@x.io"
    )
    other = await make_brand()
    await add_staff(database, other)
    resend = f"/portal/finance/emails/{unsent}/resend"
    row_re = re.compile(r'<tr data-notification="([^"]+)">')

    async with client_for(f"{other.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        listed_elsewhere = await client.get("/portal/finance/emails", headers=HTML)
        elsewhere = await client.post(
            resend, data={"_csrf_token": csrf_token(listed_elsewhere.text)}
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        read_only = await client.get("/portal/finance/emails", headers=HTML)
        refused = await client.post(resend, data={"_csrf_token": csrf_token(read_only.text)})
        not_sent = await client.get("/portal/finance/emails?sent=unsent", headers=HTML)
        to_lena = await client.get(
            "/portal/finance/emails?recipient=LENA@example.com", headers=HTML
        )
        bad = await client.get("/portal/finance/emails?sent=maybe", headers=HTML)
        csv = await client.get("/portal/finance/emails?format=csv&sent=unsent")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get("/portal/finance/emails", headers=HTML)
        resent = await client.post(resend, data={"_csrf_token": csrf_token(page.text)})
        twice = await client.post(
            f"/portal/finance/emails/{sent}/resend",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )

    [mail] = [n for n in await rows_of(database, brand, Notification) if n.id == unsent]
    async with database.tenant_session(brand.key) as db_session:
        jobs = (
            await db_session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.actor_name == "identity.send_notification"
                )
            )
        ).all()
    assert row_re.findall(listed_elsewhere.text) == []
    assert elsewhere.status_code == 404
    assert refused.status_code == 403
    assert row_re.findall(read_only.text) == [str(unsent), str(sent)]
    assert "Send again" not in read_only.text
    assert "Not sent: no SMTP server configured (VOLTLANE_SMTP_URL) (1 attempt)" in read_only.text
    assert row_re.findall(not_sent.text) == [str(unsent)]
    assert row_re.findall(to_lena.text) == [str(sent)]
    assert bad.status_code == 400
    assert csv.text.split("\r\n") == [
        "id,created_at,kind,recipient,subject,sent_at,attempts,last_error",
        f"{unsent},{mail.created_at.isoformat()},test.hello,ole@example.com,"
        "Hello b,,1,no SMTP server configured (VOLTLANE_SMTP_URL)",
        "",
    ]
    assert page.text.count(">Send again</button>") == 1
    assert (resent.status_code, resent.headers["location"]) == (
        303,
        f"/portal/finance/emails?resent={unsent}",
    )
    assert twice.status_code == 409
    # One job per written mail, and one more for the resend.
    assert [j.message["kwargs"]["notification_id"] for j in jobs].count(str(unsent)) == 2
    assert await audit_log(database, brand) == [
        (
            "portal.notification.resend",
            FINANCE,
            "notification",
            str(unsent),
            {"recipient": "ole@example.com", "kind": "test.hello"},
        )
    ]


async def test_lists_page_by_25_and_keep_their_filters_on_every_link(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await add_staff(database, brand)
    for n in range(26):
        await write(database, brand, f"m{n}", "many@example.com")
    await write(database, brand, "other", "ole@example.com")
    row_re = re.compile(r'<tr data-notification="([^"]+)">')

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        first = await client.get("/portal/finance/emails?recipient=many@example.com", headers=HTML)
        second = await client.get(
            "/portal/finance/emails?recipient=many%40example.com&page=2",
            headers={**HTML, "HX-Request": "true"},
        )
        csv = await client.get("/portal/finance/emails?recipient=many%40example.com&format=csv")

    assert len(row_re.findall(first.text)) == 25
    assert 'href="?recipient=many%40example.com&amp;page=2"' in first.text
    assert 'rel="prev"' not in first.text
    assert 'href="?recipient=many%40example.com&amp;format=csv" download' in first.text
    assert len(row_re.findall(second.text)) == 1
    assert 'href="?recipient=many%40example.com&amp;page=1"' in second.text
    assert 'rel="next"' not in second.text
    assert len(csv.text.split("\r\n")) == 1 + 26 + 1


async def test_documents_due_before_today_and_not_paid_are_overdue(
    database: Database, make_brand, client_for, open_charger
) -> None:
    # Issued on 1 October with 30 days to pay: overdue since 31 October.
    invoiced_at = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
    brand = await billed_brand(database, make_brand, open_charger, invoiced_at=invoiced_at)

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        every = await client.get("/portal/finance/documents", headers=HTML)
        overdue = await client.get("/portal/finance/documents?paid=overdue", headers=HTML)

    assert ROW_RE.findall(every.text) == ["RCT-2026-000001", "INV-2026-000001"]
    assert every.text.count('<span class="tag overdue">Overdue</span>') == 1
    assert '€1.52 <span class="tag overdue">Overdue</span>' in every.text
    assert ROW_RE.findall(overdue.text) == ["INV-2026-000001"]
    assert '<option value="overdue" selected>Overdue</option>' in overdue.text
