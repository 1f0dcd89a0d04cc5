"""Finance: documents: receipts, invoices and credit notes; a document's page; crediting
a document with a reason."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import invoicing
from voltlane.billing.errors import InvoicingNotConfiguredError, NotCreditableError
from voltlane.billing.invoicing.access import (
    DocumentFilter,
    DocumentRow,
    credit_notes_of,
    find_documents,
)
from voltlane.billing.payments.sessions import payment_of_session
from voltlane.core.clock import utcnow
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import InvoiceKind
from voltlane.portal.finance.forms import Filters, brand_today, list_page
from voltlane.portal.pages import Format, PageNumber, audit, read_form, render
from voltlane.web.auth import requires
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import N_

FILTERS = ("kind", "number", "customer", "issued_from", "issued_to", "paid")
PAID = {"paid": True, "unpaid": False, "overdue": None}
REASON_MAX = 255

COLUMNS = (
    ("number", lambda r: r.invoice.number),
    ("kind", lambda r: r.invoice.kind),
    ("issued_at", lambda r: r.invoice.issued_at),
    ("customer", lambda r: r.customer),
    ("total_net", lambda r: r.invoice.total_net),
    ("total_vat", lambda r: r.invoice.total_vat),
    ("total_gross", lambda r: r.invoice.total_gross),
    ("currency", lambda r: r.invoice.currency),
    ("paid", lambda r: r.invoice.paid),
)


def document_filter(filters: Filters, today: date) -> DocumentFilter:
    issued_from, issued_to = filters.days("issued_from", "issued_to")
    paid = filters.values["paid"]
    if paid and paid not in PAID:
        filters.errors["paid"] = N_("Choose one of the options.")
    return DocumentFilter(
        kind=filters.choice("kind", InvoiceKind),
        number=filters.text("number"),
        customer=filters.text("customer"),
        issued_from=issued_from,
        issued_to=issued_to,
        paid=PAID.get(paid),
        overdue_on=today if paid == "overdue" else None,
    )


class DocumentController(Controller):
    path = "/documents"
    include_in_schema = False
    dependencies = {"reader": Provide(requires(Permission.FINANCE_READ))}

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        filters = Filters.of(request, FILTERS)
        today = brand_today(current_tenant(request))
        where = document_filter(filters, today)

        async def fetch(limit: int, offset: int) -> list[DocumentRow]:
            return await find_documents(db_session, where, limit=limit, offset=offset)

        return await list_page(
            request,
            reader,
            tab="documents",
            fetch=fetch,
            columns=COLUMNS,
            page=page,
            fmt=format,
            filters=filters,
            context={"kinds": list(InvoiceKind), "today": today},
        )

    @get("/{invoice_id:uuid}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        invoice_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        return await self._page(request, db_session, reader, invoice_id)

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        invoice_id: uuid.UUID,
        *,
        template: str = "portal/finance/documents/show.html",
        form: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        invoice = await invoicing.get_invoice(db_session, invoice_id)
        corrected = (
            await invoicing.get_invoice(db_session, invoice.corrects_id)
            if invoice.corrects_id is not None
            else None
        )
        credit_notes = await credit_notes_of(db_session, invoice.id)
        payment = (
            await payment_of_session(db_session, invoice.session_id)
            if invoice.kind is InvoiceKind.RECEIPT and invoice.session_id is not None
            else None
        )
        secret = web_state(request).settings.secret_key
        brand = current_tenant(request).key
        return render(
            request,
            staff,
            template,
            {
                "tab": "documents",
                "invoice": invoice,
                "document": invoicing.document_of(invoice),
                "corrected": corrected,
                "credit_notes": credit_notes,
                "payment": payment,
                "creditable": invoice.kind is not InvoiceKind.CREDIT_NOTE
                and sum(c.total_gross for c in credit_notes) < invoice.total_gross,
                "links": {
                    form.value: invoicing.document_link(secret, brand, invoice.id, form)
                    for form in invoicing.DocumentFormat
                },
                "form": form or {"values": {"reason": ""}, "errors": {}, "error": None},
                "credited": request.query_params.get("credited") == "1",
            },
            status_code=status_code,
        )

    @get(
        "/{invoice_id:uuid}/credit",
        dependencies={"writer": Provide(requires(Permission.FINANCE_WRITE))},
    )
    async def credit_form(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        invoice_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        return await self._page(
            request,
            db_session,
            writer,
            invoice_id,
            template="portal/finance/documents/credit.html",
        )

    @post(
        "/{invoice_id:uuid}/credit",
        dependencies={"writer": Provide(requires(Permission.FINANCE_WRITE))},
        status_code=303,
    )
    async def credit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        invoice_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        await invoicing.get_invoice(db_session, invoice_id)  # another brand's id: 404
        data = await read_form(request)
        reason = data.get("reason", "")
        errors: dict[str, str] = {}
        if not reason:
            errors["reason"] = N_("Give the reason for the credit note.")
        elif len(reason) > REASON_MAX:
            errors["reason"] = N_("At most 255 characters.")
        error = None
        if not errors:
            brand = current_tenant(request)
            try:
                credit_note = await invoicing.credit_document(
                    db_session, brand, invoice_id, reason=reason, now=utcnow()
                )
            except NotCreditableError:
                error = N_("Everything on this document has been credited already.")
            except InvoicingNotConfiguredError:
                error = N_(
                    "The brand's invoice details are incomplete: no credit note can be issued."
                )
            else:
                settings = web_state(request).settings
                links = invoicing.Links(str(request.base_url).rstrip("/"), settings.secret_key)
                await invoicing.mail_document(db_session, brand, credit_note, links)
                await audit(
                    db_session,
                    request,
                    writer,
                    action="portal.invoice.credit",
                    entity="invoice",
                    entity_id=invoice_id,
                    detail={"credit_note": credit_note.number, "reason": reason},
                )
                return Redirect(
                    f"/portal/finance/documents/{credit_note.id}?credited=1", status_code=303
                )
        return await self._page(
            request,
            db_session,
            writer,
            invoice_id,
            template="portal/finance/documents/credit.html",
            form={"values": {"reason": reason}, "errors": errors, "error": error},
            status_code=409 if error else 400,
        )
