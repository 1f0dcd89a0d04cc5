"""Customer accounts, the documents issued to them, credit notes and invoice runs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.common import DEFAULT_LIMIT, Limit, Offset, audit, given
from voltlane.billing import accounts, invoicing, settlement
from voltlane.core.clock import utcnow
from voltlane.models.tenant import AccountKind, CustomerAccount, Invoice, InvoiceKind, Invoicing
from voltlane.web.context import current_tenant, web_state

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
LocaleTag = Annotated[str, Meta(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$", max_length=16)]
Country = Annotated[str, Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Street = Annotated[str, Meta(min_length=1, max_length=200)]
PostalCode = Annotated[str, Meta(min_length=1, max_length=20)]
City = Annotated[str, Meta(min_length=1, max_length=100)]
VatId = Annotated[str, Meta(pattern=r"^[A-Z]{2}[A-Za-z0-9+*.]{2,30}$")]
Reference = Annotated[str, Meta(min_length=1, max_length=100)]
Terms = Annotated[int, Meta(ge=0, le=120, description="Days from the invoice date")]
Reason = Annotated[str, Meta(min_length=1, max_length=255)]


class AccountCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: AccountKind
    name: Name
    locale: LocaleTag
    country: Country
    invoicing: Invoicing = Invoicing.PER_SESSION
    email: Email | None = None
    street: Street | None = None
    street2: Street | None = None
    postal_code: PostalCode | None = None
    city: City | None = None
    vat_id: VatId | None = None
    buyer_reference: Reference | None = None
    payment_terms_days: Terms = 14
    redeem_points: bool = False


class AccountUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields left out keep their value; documents issued before keep what they print."""

    name: Name | UnsetType = UNSET
    locale: LocaleTag | UnsetType = UNSET
    country: Country | UnsetType = UNSET
    invoicing: Invoicing | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    street: Street | UnsetType | None = UNSET
    street2: Street | UnsetType | None = UNSET
    postal_code: PostalCode | UnsetType | None = UNSET
    city: City | UnsetType | None = UNSET
    vat_id: VatId | UnsetType | None = UNSET
    buyer_reference: Reference | UnsetType | None = UNSET
    payment_terms_days: Terms | UnsetType = UNSET
    redeem_points: bool | UnsetType = UNSET


class AccountRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: AccountKind
    name: str
    locale: str
    country: str
    invoicing: Invoicing
    email: str | None
    street: str | None
    street2: str | None
    postal_code: str | None
    city: str | None
    vat_id: str | None
    buyer_reference: str | None
    payment_terms_days: int
    redeem_points: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: CustomerAccount) -> AccountRead:
        return cls(
            id=a.id,
            kind=a.kind,
            name=a.name,
            locale=a.locale,
            country=a.country,
            invoicing=a.invoicing,
            email=a.email,
            street=a.street,
            street2=a.street2,
            postal_code=a.postal_code,
            city=a.city,
            vat_id=a.vat_id,
            buyer_reference=a.buyer_reference,
            payment_terms_days=a.payment_terms_days,
            redeem_points=a.redeem_points,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )


class AccountPage(msgspec.Struct):
    items: list[AccountRead]
    total: int


class LoyaltyEntryRead(msgspec.Struct, kw_only=True):
    kind: str
    points: int
    cdr_id: uuid.UUID | None
    created_at: datetime


class LoyaltyRead(msgspec.Struct, kw_only=True):
    balance: int
    entries: list[LoyaltyEntryRead]  # newest first


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


DOCUMENTS_PATH = "/documents"


def document_path(request: Request[Any, Any, Any], invoice_id: uuid.UUID) -> str:
    secret = web_state(request).settings.secret_key
    signature = invoicing.document_signature(secret, current_tenant(request).key, invoice_id)
    return f"{DOCUMENTS_PATH}/{invoice_id}/{signature}"


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


class CustomerAccountController(Controller):
    path = "/customer-accounts"
    tags = ["Invoicing"]

    @post("/", summary="Add a driver or fleet account that cards are billed to")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        data: JSONBody[AccountCreate],
    ) -> AccountRead:
        account = await accounts.create_account(
            db_session, accounts.AccountCreate(**msgspec.structs.asdict(data))
        )
        await audit(
            db_session,
            request,
            caller,
            action="api.customer_account.create",
            entity="customer_account",
            entity_id=account.id,
            detail={"kind": account.kind.value, "invoicing": account.invoicing.value},
        )
        return AccountRead.of(account)

    @get("/", summary="List customer accounts")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        kind: FromQuery[AccountKind | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> AccountPage:
        rows, total = await accounts.list_accounts(
            db_session, kind=kind, limit=limit, offset=offset
        )
        return AccountPage([AccountRead.of(a) for a in rows], total)

    @get("/{account_id:uuid}", summary="Get a customer account")
    async def get_one(
        self, db_session: NamedDependency[AsyncSession], account_id: FromPath[uuid.UUID]
    ) -> AccountRead:
        return AccountRead.of(await accounts.get_account(db_session, account_id))

    @patch("/{account_id:uuid}", summary="Change an account's billing details")
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        account_id: FromPath[uuid.UUID],
        data: JSONBody[AccountUpdate],
    ) -> AccountRead:
        account = await accounts.update_account(
            db_session, account_id, accounts.AccountUpdate(**given(data))
        )
        await audit(
            db_session,
            request,
            caller,
            action="api.customer_account.update",
            entity="customer_account",
            entity_id=account.id,
            detail={"changes": sorted(given(data))},
        )
        return AccountRead.of(account)

    @get("/{account_id:uuid}/loyalty", summary="An account's loyalty points and latest moves")
    async def loyalty(
        self,
        db_session: NamedDependency[AsyncSession],
        account_id: FromPath[uuid.UUID],
        limit: Limit = DEFAULT_LIMIT,
    ) -> LoyaltyRead:
        await accounts.get_account(db_session, account_id)
        balance, entries = await settlement.loyalty_of(db_session, account_id, limit=limit)
        return LoyaltyRead(
            balance=balance,
            entries=[
                LoyaltyEntryRead(
                    kind=e.kind.value, points=e.points, cdr_id=e.cdr_id, created_at=e.created_at
                )
                for e in entries
            ],
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
