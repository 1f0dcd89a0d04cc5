"""Receipts for settled sessions and credit notes for credit CDRs."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.cdrs import credit_cdr
from voltlane.billing.credit_refunds import queue_refund_of_credit
from voltlane.billing.documents.model import DocumentLine
from voltlane.billing.documents.stored import document_from_json
from voltlane.billing.documents.text import DocumentText
from voltlane.billing.errors import DocumentMismatchError, InvoiceNotFoundError, NotCreditableError
from voltlane.billing.invoice_repository import BilledCdr, InvoiceRepository
from voltlane.billing.invoicing.issue import Draft, issue
from voltlane.billing.invoicing.lines import charge_lines, session_lines, vat_category
from voltlane.billing.invoicing.seller import DEFAULT_PAYMENT_TERMS_DAYS, Seller, buyer_of
from voltlane.billing.settlement import Discount, discount_of, reverse_settlement, settle
from voltlane.billing.shortfall_repository import ShortfallRepository
from voltlane.models.tenant import (
    CdrKind,
    CustomerAccount,
    Invoice,
    InvoiceKind,
    Payment,
    PaymentStatus,
    SessionSettlement,
)
from voltlane.tariff.rounding import from_minor
from voltlane.tenancy import TenantInfo

_PAYMENT_SETTLED = frozenset(
    {
        PaymentStatus.CAPTURED,
        PaymentStatus.CANCELLED,
        PaymentStatus.FAILED,
        PaymentStatus.REFUNDED,
    }
)


async def issue_documents(
    db_session: AsyncSession, brand: TenantInfo, *, now: datetime, limit: int = 200
) -> list[Invoice]:
    """Receipts for settled sessions of drivers and ad-hoc customers, and credit notes for
    credit CDRs; one batch (the sweep takes the rest). Monthly accounts' CDRs wait for
    their invoice run. Idempotent: a CDR is billed once."""
    repo = InvoiceRepository(db_session)
    seller = Seller.of(brand)
    issued: list[Invoice] = []
    credit_cdrs = await repo.unbilled(kind=CdrKind.CREDIT, limit=limit)
    if credit_cdrs:
        issued += await _credit_notes(repo, seller, credit_cdrs, now=now)
    # Monthly accounts' CDRs wait for their invoice run, unlocked.
    per_session = await repo.unbilled(kind=CdrKind.CDR, limit=limit, per_session=True)
    credited = await repo.credit_of([item.cdr.id for item in per_session])
    payments = await repo.payments_of([item.cdr.session_id for item in per_session])
    shortfalls = await ShortfallRepository(db_session).shortfalls_of(
        [item.cdr.id for item in per_session]
    )
    accounts = {
        item.account_id: await repo.account(item.account_id)
        for item in per_session
        if item.account_id is not None
    }
    for item in per_session:
        cdr = item.cdr
        if cdr.id in credited:
            continue  # its credit note run settles both
        payment = payments.get(cdr.session_id)
        if payment is not None and payment.status not in _PAYMENT_SETTLED:
            continue
        shortfall = shortfalls.get(cdr.id)
        if shortfall is not None and shortfall.status not in _PAYMENT_SETTLED:
            continue  # the receipt says what the charge above the hold did
        account = accounts.get(item.account_id) if item.account_id else None
        if account is None and cdr.total_incl_vat == 0 and payment is None:
            # A free session of an anonymous driver: there is no one to give a receipt to.
            await repo.mark_billed([cdr.id], None)
            continue
        settlement = await settle(db_session, brand, cdr)
        issued.append(
            await _receipt(
                repo,
                seller,
                item,
                account,
                payment,
                settlement=settlement,
                shortfall=shortfall,
                now=now,
            )
        )
    return issued


def _discount_lines(discount: Discount, text: DocumentText, currency: str) -> list[DocumentLine]:
    """The loyalty discount as lines, one per VAT rate: a quantity of -1 at a positive price
    (EN 16931 BR-27: no negative item price)."""
    lines = []
    for rate, part in discount.by_rate:
        category, value = vat_category(rate)
        lines.append(
            DocumentLine(
                description=text.label("loyalty_discount", points=discount.points),
                quantity=Decimal(-1),
                unit="C62",
                unit_price=from_minor(part, currency),
                net=-part,
                vat_category=category,
                vat_rate=value,
            )
        )
    return lines


async def _receipt(
    repo: InvoiceRepository,
    seller: Seller,
    item: BilledCdr,
    account: CustomerAccount | None,
    payment: Payment | None,
    *,
    settlement: SessionSettlement,
    shortfall: Payment | None,
    now: datetime,
) -> Invoice:
    locale = account.locale if account is not None else seller.locale
    text = DocumentText(locale, seller.currency, seller.timezone)
    cdr = item.cdr
    discount = discount_of(settlement, cdr)
    lines = [*charge_lines(item, text), *_discount_lines(discount, text, cdr.currency)]
    paid = settlement.wallet_paid
    notes: tuple[str, ...] = ()
    if settlement.wallet_paid:
        notes += (text.label("wallet_paid", amount=text.money(settlement.wallet_paid)),)
    if payment is not None and payment.status is PaymentStatus.CAPTURED:
        by_card = payment.amount_captured
        if shortfall is not None:
            notes += _shortfall_notes(text, payment, shortfall)
            by_card += shortfall.amount_captured
        paid += min(by_card, settlement.amount_due)
    owed = settlement.wallet_paid + settlement.amount_due
    draft = Draft(
        kind=InvoiceKind.RECEIPT,
        lines=lines,
        buyer=buyer_of(account, seller, text),
        account_id=account.id if account else None,
        session_id=cdr.session_id,
        paid=paid,
        due_in_days=(
            None
            if paid >= owed
            else account.payment_terms_days
            if account
            else DEFAULT_PAYMENT_TERMS_DAYS
        ),
        buyer_reference=account.buyer_reference if account else None,
        notes=notes,
    )
    invoice = await issue(repo, seller, draft, [cdr.id], now=now, locale=locale)
    expected = (cdr.total_excl_vat - discount.net, cdr.total_vat - discount.vat)
    if (invoice.total_net, invoice.total_vat) != expected:
        raise DocumentMismatchError(
            f"receipt {invoice.number} totals {invoice.total_net}+{invoice.total_vat}"
            f" differ from CDR {cdr.number} after its discount {expected[0]}+{expected[1]}"
        )
    return invoice


def _shortfall_notes(text: DocumentText, hold: Payment, shortfall: Payment) -> tuple[str, ...]:
    """What the hold paid and what was above it: charged separately, or still open."""
    above = shortfall.amount_authorized
    charged = shortfall.status is PaymentStatus.CAPTURED
    return (
        text.label("hold_paid", amount=text.money(hold.amount_captured)),
        text.label("shortfall_charged" if charged else "shortfall_open", amount=text.money(above)),
    )


async def _credit_notes(
    repo: InvoiceRepository, seller: Seller, credit_cdrs: list[BilledCdr], *, now: datetime
) -> list[Invoice]:
    originals = await repo.documents_of([c.cdr.credit_of for c in credit_cdrs if c.cdr.credit_of])
    by_document: dict[uuid.UUID, list[BilledCdr]] = defaultdict(list)
    for item in credit_cdrs:
        credit_of = item.cdr.credit_of
        assert credit_of is not None
        await reverse_settlement(repo.db_session, item.cdr)
        await queue_refund_of_credit(repo.db_session, item.cdr)
        if credit_of not in originals:
            # Credited before it was billed: both are settled, with no document.
            await repo.mark_billed([credit_of, item.cdr.id], None)
            continue
        document_id = originals[credit_of]
        if document_id is None:
            await repo.mark_billed([item.cdr.id], None)
            continue
        by_document[document_id].append(item)
    issued = []
    for document_id, items in by_document.items():
        corrected = await repo.invoice(document_id)
        assert corrected is not None
        issued.append(await _credit_note(repo, seller, corrected, items, now=now))
    return issued


async def _credited_sessions(
    repo: InvoiceRepository, credit_cdrs: list[BilledCdr], text: DocumentText
) -> list[DocumentLine]:
    """The fleet-invoice lines of the sessions the credit CDRs cancel."""
    credited = await repo.cdrs_by_id([c.cdr.credit_of for c in credit_cdrs if c.cdr.credit_of])
    lines: list[DocumentLine] = []
    for item in credit_cdrs:
        assert item.cdr.credit_of is not None
        source = replace(item, cdr=credited[item.cdr.credit_of])
        lines += session_lines(source, text)
    return lines


async def _credit_note(
    repo: InvoiceRepository,
    seller: Seller,
    corrected: Invoice,
    credit_cdrs: list[BilledCdr],
    *,
    now: datetime,
) -> Invoice:
    original = document_from_json(corrected.document)
    text = DocumentText(original.locale, seller.currency, seller.timezone)
    if corrected.kind is InvoiceKind.RECEIPT:
        # A receipt bills one CDR: its credit takes back every line, discounts included.
        lines = list(original.lines)
    else:
        lines = await _credited_sessions(repo, credit_cdrs, text)
    remarks = {c.cdr.remark for c in credit_cdrs if c.cdr.remark}
    reasons = tuple(sorted(text.label("credit_reason", reason=r) for r in remarks))
    draft = Draft(
        kind=InvoiceKind.CREDIT_NOTE,
        lines=lines,
        buyer=original.buyer,
        account_id=corrected.account_id,
        session_id=corrected.session_id,
        corrects=corrected,
        buyer_reference=original.buyer_reference,
        notes=reasons,
    )
    return await issue(
        repo, seller, draft, [c.cdr.id for c in credit_cdrs], now=now, locale=original.locale
    )


async def credit_document(
    db_session: AsyncSession,
    brand: TenantInfo,
    invoice_id: uuid.UUID,
    *,
    reason: str,
    now: datetime,
) -> Invoice:
    """Cancel a receipt or invoice: a credit CDR for each of its CDRs not credited yet and
    one credit note for them, in the caller's transaction."""
    repo = InvoiceRepository(db_session)
    seller = Seller.of(brand)
    corrected = await repo.invoice(invoice_id)
    if corrected is None:
        raise InvoiceNotFoundError(f"no document {invoice_id}", field="invoice_id")
    if corrected.kind is InvoiceKind.CREDIT_NOTE:
        raise NotCreditableError("a credit note cannot be credited", field="invoice_id")
    on_document = [cdr.id for cdr in await repo.cdrs_on(corrected.id)]
    open_cdrs = [i for i in on_document if i not in await repo.credit_of(on_document)]
    if not open_cdrs:
        raise NotCreditableError(
            f"{corrected.number} has been credited in full already", field="invoice_id"
        )
    credit_ids = [(await credit_cdr(db_session, i, reason=reason)).id for i in open_cdrs]
    (credit_note,) = await _credit_notes(
        repo, seller, await repo.unbilled_by_id(credit_ids), now=now
    )
    return credit_note
