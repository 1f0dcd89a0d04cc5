"""Reading issued documents."""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.documents.model import InvoiceDocument
from voltlane.billing.documents.pdf import render_pdf
from voltlane.billing.documents.stored import document_from_json
from voltlane.billing.documents.ubl import render_ubl
from voltlane.billing.errors import InvoiceNotFoundError
from voltlane.billing.invoice_repository import InvoiceRepository
from voltlane.models.tenant import Cdr, Invoice, InvoiceKind


async def get_invoice(db_session: AsyncSession, invoice_id: uuid.UUID) -> Invoice:
    invoice = await InvoiceRepository(db_session).invoice(invoice_id)
    if invoice is None:
        raise InvoiceNotFoundError(f"no document {invoice_id}", field="invoice_id")
    return invoice


async def list_invoices(
    db_session: AsyncSession,
    *,
    kind: str | None = None,
    account_id: uuid.UUID | None = None,
    limit: int,
    offset: int,
) -> tuple[list[Invoice], int]:
    return await InvoiceRepository(db_session).invoices(
        kind=kind, account_id=account_id, limit=limit, offset=offset
    )


async def cdrs_on(db_session: AsyncSession, invoice_id: uuid.UUID) -> list[Cdr]:
    """The CDRs a document bills (for a credit note: the credit CDRs)."""
    return await InvoiceRepository(db_session).cdrs_on(invoice_id)


def document_of(invoice: Invoice) -> InvoiceDocument:
    return document_from_json(invoice.document)


def document_signature(secret_key: str, tenant_key: str, invoice_id: uuid.UUID) -> str:
    """The key of a document's link: valid for as long as the document exists (documents
    are never deleted, so a link in an e-mail keeps working), useless for any other
    document or brand, and revoked for all documents only by rotating the secret key."""
    mac = hmac.new(
        secret_key.encode(), f"document:{tenant_key}:{invoice_id}".encode(), hashlib.sha256
    )
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


def signature_valid(secret_key: str, tenant_key: str, invoice_id: uuid.UUID, given: str) -> bool:
    expected = document_signature(secret_key, tenant_key, invoice_id)
    return hmac.compare_digest(expected.encode(), given.encode())


class DocumentFormat(enum.StrEnum):
    PDF = "pdf"
    UBL = "ubl"


DOCUMENTS_PATH = "/documents"


def document_link(
    secret_key: str, tenant_key: str, invoice_id: uuid.UUID, form: DocumentFormat | None = None
) -> str:
    """The path of a document's never-expiring link on its brand's host (without a format:
    the common part of its ``/pdf`` and ``/ubl`` links)."""
    signature = document_signature(secret_key, tenant_key, invoice_id)
    base = f"{DOCUMENTS_PATH}/{invoice_id}/{signature}"
    return f"{base}/{form.value}" if form is not None else base


MEDIA_TYPES = {DocumentFormat.PDF: "application/pdf", DocumentFormat.UBL: "application/xml"}
_SUFFIX = {DocumentFormat.PDF: "pdf", DocumentFormat.UBL: "xml"}


def render_document(invoice: Invoice, form: DocumentFormat) -> tuple[bytes, str]:
    """The document's bytes and file name, rendered from what was stored when it was issued."""
    document = document_of(invoice)
    data = render_pdf(document) if form is DocumentFormat.PDF else render_ubl(document)
    return data, f"{invoice.number}.{_SUFFIX[form]}"


@dataclass(frozen=True, slots=True)
class DocumentFilter:
    """What the finance back office looks for among issued documents (all optional)."""

    kind: InvoiceKind | None = None
    number: str | None = None  # part of the number
    customer: str | None = None  # part of the customer's name
    issued_from: date | None = None  # issue dates, inclusive
    issued_to: date | None = None
    paid: bool | None = None  # True: paid in full; False: something left to pay
    overdue_on: date | None = None  # not paid in full and due before this day


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """An issued document with the name of its customer."""

    invoice: Invoice
    customer: str

    def overdue(self, today: date) -> bool:
        """Something is left to pay after the due date."""
        due = self.invoice.due_date
        return self.payable > 0 and due is not None and due < today

    @property
    def payable(self) -> int:
        """What is left to pay (nothing on a credit note, which pays back)."""
        if self.invoice.kind is InvoiceKind.CREDIT_NOTE:
            return 0
        return max(self.invoice.total_gross - self.invoice.paid, 0)


async def find_documents(
    db_session: AsyncSession, where: DocumentFilter, *, limit: int, offset: int
) -> list[DocumentRow]:
    """Receipts, invoices and credit notes matching ``where``, newest first."""
    rows = await InvoiceRepository(db_session).documents_matching(
        kind=where.kind,
        number=where.number,
        customer=where.customer,
        issued_from=where.issued_from,
        issued_to=where.issued_to,
        paid=where.paid,
        overdue_on=where.overdue_on,
        limit=limit,
        offset=offset,
    )
    return [DocumentRow(invoice, customer) for invoice, customer in rows]


async def credit_notes_of(db_session: AsyncSession, invoice_id: uuid.UUID) -> list[Invoice]:
    """The credit notes issued against a receipt or invoice, oldest first."""
    return await InvoiceRepository(db_session).credit_notes_of(invoice_id)


async def receipt_of_session(db_session: AsyncSession, session_id: uuid.UUID) -> Invoice | None:
    """The receipt of a charging session, once it has been issued."""
    return await InvoiceRepository(db_session).receipt_of_session(session_id)


@dataclass(frozen=True, slots=True)
class InvoicePeriod:
    """The monthly invoices of one month (minor units of ``currency``)."""

    period_start: date
    currency: str
    invoices: int
    total_gross: int
    paid: int


async def invoice_periods(
    db_session: AsyncSession, *, limit: int, offset: int
) -> list[InvoicePeriod]:
    """What each month's invoice runs issued, the latest month first."""
    rows = await InvoiceRepository(db_session).invoice_periods(limit=limit, offset=offset)
    return [
        InvoicePeriod(first, currency, int(count), int(gross or 0), int(paid or 0))
        for first, currency, count, gross, paid in rows
    ]
