"""Documents issued to customers: receipts, invoices, credit notes; invoice runs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.common import DEFAULT_LIMIT, Limit, Offset, audit
from voltlane.billing import invoicing
from voltlane.core.clock import utcnow
from voltlane.models.tenant import Invoice, InvoiceKind
from voltlane.web.context import current_tenant, web_state

Reason = Annotated[str, Meta(min_length=1, max_length=255)]


class InvoiceRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    number: str
    kind: InvoiceKind
    account_id: uuid.UUID | None
    session_id: uuid.UUID | None
    corrects_id: uuid.UUID | None
    issue_date: date
    due_date: date | None
    period_start: date | None
    period_end: date | None
    currency: str
    total_net: int = msgspec.field(name="total_excl_vat")
    total_vat: int
    total_gross: int = msgspec.field(name="total_incl_vat")
    paid: int
    payable: int
    # Links that need no API key and never expire: for e-mails and the driver's app.
    pdf_url: str
    ubl_url: str
    issued_at: datetime

    @classmethod
    def of(cls, request: Request[Any, Any, Any], invoice: Invoice) -> InvoiceRead:
        base = document_path(request, invoice.id)
        return cls(
            id=invoice.id,
            number=invoice.number,
            kind=invoice.kind,
            account_id=invoice.account_id,
            session_id=invoice.session_id,
            corrects_id=invoice.corrects_id,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            period_start=invoice.period_start,
            period_end=invoice.period_end,
            currency=invoice.currency,
            total_net=invoice.total_net,
            total_vat=invoice.total_vat,
            total_gross=invoice.total_gross,
            paid=invoice.paid,
            payable=invoice.total_gross - invoice.paid,
            pdf_url=f"{base}/pdf",
            ubl_url=f"{base}/ubl",
            issued_at=invoice.issued_at,
        )


class InvoicePage(msgspec.Struct):
    items: list[InvoiceRead]
    total: int


class CreditDocument(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason


class InvoiceRunCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    period_start: Annotated[date, Meta(description="Any day of the month to invoice")]


class InvoiceRunRead(msgspec.Struct, kw_only=True):
    period_start: date
    status: str


def document_path(request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> str:
    """The document's link without its format (``/pdf`` or ``/ubl`` is appended)."""
    secret = web_state(request).settings.secret_key
    return invoicing.document_link(secret, current_tenant(request).key, invoice_id)


def document_response(invoice: Invoice, form: invoicing.DocumentFormat) -> Response[bytes]:
    data, filename = invoicing.render_document(invoice, form)
    return Response(
        data,
        media_type=invoicing.MEDIA_TYPES[form],
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            # An issued document never changes: caches may keep it, but only privately.
            "Cache-Control": "private, max-age=86400, immutable",
        },
    )


class InvoiceController(Controller):
    path = "/invoices"
    tags = ["Invoicing"]

    @get("/", summary="List receipts, invoices and credit notes, newest first")
    async def list_(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        *,
        kind: FromQuery[InvoiceKind | None] = None,
        account_id: FromQuery[uuid.UUID | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> InvoicePage:
        rows, total = await invoicing.list_invoices(
            db_session, kind=kind, account_id=account_id, limit=limit, offset=offset
        )
        return InvoicePage([InvoiceRead.of(request, i) for i in rows], total)

    @get("/{invoice_id:uuid}", summary="Get a document")
    async def get_one(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        invoice_id: FromPath[uuid.UUID],
    ) -> InvoiceRead:
        return InvoiceRead.of(request, await invoicing.get_invoice(db_session, invoice_id))

    @get("/{invoice_id:uuid}/pdf", summary="The document as PDF")
    async def pdf(
        self, db_session: NamedDependency[AsyncSession], invoice_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        invoice = await invoicing.get_invoice(db_session, invoice_id)
        return document_response(invoice, invoicing.DocumentFormat.PDF)

    @get("/{invoice_id:uuid}/ubl", summary="The document as EN 16931 e-invoice (UBL 2.1)")
    async def ubl(
        self, db_session: NamedDependency[AsyncSession], invoice_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        invoice = await invoicing.get_invoice(db_session, invoice_id)
        return document_response(invoice, invoicing.DocumentFormat.UBL)

    @post(
        "/{invoice_id:uuid}/credit",
        summary="Cancel a receipt or invoice: credit CDRs and one credit note",
    )
    async def credit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        invoice_id: FromPath[uuid.UUID],
        data: JSONBody[CreditDocument],
    ) -> InvoiceRead:
        credit_note = await invoicing.credit_document(
            db_session, current_tenant(request), invoice_id, reason=data.reason, now=utcnow()
        )
        await audit(
            db_session,
            request,
            caller,
            action="api.invoice.credit",
            entity="invoice",
            entity_id=invoice_id,
            detail={"credit_note": credit_note.number, "reason": data.reason},
        )
        return InvoiceRead.of(request, credit_note)


class InvoiceRunController(Controller):
    path = "/invoice-runs"
    tags = ["Invoicing"]

    @post("/", summary="Invoice a month now (monthly accounts; nothing is billed twice)")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        data: JSONBody[InvoiceRunCreate],
    ) -> Response[InvoiceRunRead]:
        first = invoicing.request_invoice_run(
            db_session, current_tenant(request).key, data.period_start
        )
        await audit(
            db_session,
            request,
            caller,
            action="api.invoice_run.create",
            entity="invoice_run",
            entity_id=first.isoformat(),
            detail={"period_start": first.isoformat()},
        )
        return Response(InvoiceRunRead(period_start=first, status="queued"), status_code=202)
