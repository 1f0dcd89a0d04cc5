"""Numbering and storing a document: the one place a document comes into being."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from voltlane.billing.documents.model import (
    DocumentKind,
    DocumentLine,
    InvoiceDocument,
    Party,
    vat_subtotals,
)
from voltlane.billing.documents.stored import document_to_json
from voltlane.billing.documents.text import DocumentText
from voltlane.billing.errors import DocumentConflictError
from voltlane.billing.invoice_repository import InvoiceRepository
from voltlane.billing.invoicing.seller import Seller
from voltlane.core.ids import new_id
from voltlane.models.tenant import Invoice, InvoiceKind

log = logging.getLogger(__name__)

SERIES = {
    InvoiceKind.RECEIPT: "RCT",
    InvoiceKind.INVOICE: "INV",
    InvoiceKind.CREDIT_NOTE: "CRN",
}
_DOCUMENT_KIND = {
    InvoiceKind.RECEIPT: DocumentKind.RECEIPT,
    InvoiceKind.INVOICE: DocumentKind.INVOICE,
    InvoiceKind.CREDIT_NOTE: DocumentKind.CREDIT_NOTE,
}


@dataclass(frozen=True, slots=True)
class Draft:
    kind: InvoiceKind
    lines: list[DocumentLine]
    buyer: Party
    account_id: uuid.UUID | None = None
    session_id: uuid.UUID | None = None
    corrects: Invoice | None = None
    paid: int = 0
    due_in_days: int | None = None
    period: tuple[date, date] | None = None
    buyer_reference: str | None = None
    notes: tuple[str, ...] = ()


async def issue(
    repo: InvoiceRepository,
    seller: Seller,
    draft: Draft,
    cdr_ids: list[uuid.UUID],
    *,
    now: datetime,
    locale: str,
) -> Invoice:
    """Number, store and link a document in the caller's transaction."""
    text = DocumentText(locale, seller.currency, seller.timezone)
    issue_date = seller.today(now)
    vat = vat_subtotals(draft.lines)
    total_net = sum(line.net for line in draft.lines)
    total_vat = sum(v.vat for v in vat)
    transfer_due = draft.kind is not InvoiceKind.CREDIT_NOTE and total_net + total_vat > draft.paid
    series = SERIES[draft.kind]
    number = f"{series}-{issue_date.year}-{await repo.next_number(series, issue_date.year):06d}"
    due_date = (
        issue_date + timedelta(days=draft.due_in_days) if draft.due_in_days is not None else None
    )
    document = InvoiceDocument(
        kind=_DOCUMENT_KIND[draft.kind],
        number=number,
        issue_date=issue_date,
        currency=seller.currency,
        locale=locale,
        seller=seller.party,
        buyer=draft.buyer,
        lines=tuple(draft.lines),
        vat=vat,
        total_net=total_net,
        total_vat=total_vat,
        total_gross=total_net + total_vat,
        paid=draft.paid,
        due_date=due_date,
        period_start=draft.period[0] if draft.period else None,
        period_end=draft.period[1] if draft.period else None,
        timezone=seller.timezone,
        corrects=draft.corrects.number if draft.corrects else None,
        corrects_issue_date=draft.corrects.issue_date if draft.corrects else None,
        buyer_reference=draft.buyer_reference,
        payment_terms=(
            text.label("payment_terms", days=draft.due_in_days)
            if draft.kind is InvoiceKind.INVOICE and draft.due_in_days is not None
            else None
        ),
        # Bank details only where a transfer is due: a paid receipt was paid by card.
        payment_iban=seller.iban if transfer_due else None,
        payment_bic=seller.bic if transfer_due else None,
        notes=draft.notes,
        brand_color=seller.brand_color,
        brand_name=seller.brand_name,
    )
    invoice = Invoice(
        id=new_id(),
        number=number,
        series=series,
        kind=draft.kind,
        account_id=draft.account_id,
        session_id=draft.session_id,
        corrects_id=draft.corrects.id if draft.corrects else None,
        issue_date=issue_date,
        due_date=due_date,
        period_start=document.period_start,
        period_end=document.period_end,
        currency=seller.currency,
        total_net=document.total_net,
        total_vat=document.total_vat,
        total_gross=document.total_gross,
        paid=document.paid,
        document=document_to_json(document),
        issued_at=now,
    )
    repo.add(invoice)
    await repo.db_session.flush()
    if await repo.mark_billed(cdr_ids, invoice.id) != len(cdr_ids):
        # Another run billed one of these CDRs between our read and our lock: nothing of
        # this document may stay (the caller's transaction rolls back, the number with it).
        raise DocumentConflictError(f"a CDR of {number} was billed concurrently")
    log.info(
        "document issued",
        extra={"number": number, "kind": draft.kind.value, "total": document.total_gross},
    )
    return invoice
