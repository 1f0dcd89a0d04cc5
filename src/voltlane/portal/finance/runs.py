"""Finance: invoice runs (a month invoiced by hand) and the e-mails written to customers,
sent or not and why, with resending."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import invoicing
from voltlane.billing.errors import InvoicingNotConfiguredError
from voltlane.billing.invoicing.access import InvoicePeriod, invoice_periods
from voltlane.identity import notifications
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import Notification
from voltlane.portal.finance.forms import (
    Filters,
    list_page,
    parse_month,
    this_month,
)
from voltlane.portal.pages import Format, PageNumber, audit, read_form
from voltlane.web.auth import requires
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_

READ = {"reader": Provide(requires(Permission.FINANCE_READ))}
WRITE = {"writer": Provide(requires(Permission.FINANCE_WRITE))}
SENT = {"sent": False, "unsent": True}  # the list's filter -> list_notifications(unsent=)

RUN_COLUMNS = (
    ("period_start", lambda p: p.period_start),
    ("currency", lambda p: p.currency),
    ("invoices", lambda p: p.invoices),
    ("total_gross", lambda p: p.total_gross),
    ("paid", lambda p: p.paid),
)
EMAIL_COLUMNS = (
    ("id", lambda n: n.id),
    ("created_at", lambda n: n.created_at),
    ("kind", lambda n: n.kind),
    ("recipient", lambda n: n.recipient),
    ("subject", lambda n: n.subject),
    ("sent_at", lambda n: n.sent_at),
    ("attempts", lambda n: n.attempts),
    ("last_error", lambda n: n.last_error),
)


class InvoiceRunController(Controller):
    path = "/invoice-runs"
    include_in_schema = False

    @get("/", dependencies=READ)
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        return await self._page(
            request,
            db_session,
            reader,
            page=page,
            fmt=format,
            month="",
            queued=request.query_params.get("queued"),
        )

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        *,
        page: int = 1,
        fmt: str = "html",
        month: str,
        errors: dict[str, str] | None = None,
        form_error: str | None = None,
        queued: str | None = None,
        status_code: int | None = None,
    ) -> Response[Any]:
        latest = this_month(current_tenant(request))

        async def fetch(limit: int, offset: int) -> list[InvoicePeriod]:
            return await invoice_periods(db_session, limit=limit, offset=offset)

        return await list_page(
            request,
            staff,
            tab="runs",
            fetch=fetch,
            columns=RUN_COLUMNS,
            page=page,
            fmt=fmt,
            context={
                "month": month,
                "errors": errors or {},
                "form_error": form_error,
                "queued": queued,
                # The latest month that can be invoiced: the one before this one.
                "last_month": (latest - timedelta(days=1)).strftime("%Y-%m"),
            },
            status_code=status_code,
        )

    @post("/", dependencies=WRITE, status_code=303)
    async def run(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        data = await read_form(request)
        raw = data.get("month", "")
        brand = current_tenant(request)
        first, error = parse_month(raw) if raw else (None, N_("Choose the month to invoice."))
        if first is not None and first >= this_month(brand):
            error = N_("Only a month that has ended can be invoiced.")
        if error is not None or first is None:
            return await self._page(
                request,
                db_session,
                writer,
                month=raw,
                errors={"month": error or ""},
                status_code=400,
            )
        try:
            invoicing.Seller.of(brand)
        except InvoicingNotConfiguredError:
            return await self._page(
                request,
                db_session,
                writer,
                month=raw,
                form_error=N_(
                    "The brand's invoice details are incomplete: nothing can be invoiced."
                ),
                status_code=409,
            )
        invoicing.request_invoice_run(db_session, brand.key, first)
        await audit(
            db_session,
            request,
            writer,
            action="portal.invoice_run.create",
            entity="invoice_run",
            entity_id=first.isoformat(),
            detail={"period_start": first.isoformat()},
        )
        return Redirect(f"/portal/finance/invoice-runs?queued={first:%Y-%m}", status_code=303)


class EmailController(Controller):
    path = "/emails"
    include_in_schema = False

    @get("/", dependencies=READ)
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        filters = Filters.of(request, ("recipient", "sent"))
        sent = filters.values["sent"]
        if sent and sent not in SENT:
            filters.errors["sent"] = N_("Choose one of the options.")
        recipient = filters.text("recipient")
        if recipient is not None and len(recipient) > 254:
            filters.errors["recipient"] = N_("At most 254 characters.")

        async def fetch(limit: int, offset: int) -> list[Notification]:
            rows, _total = await notifications.list_notifications(
                db_session, recipient=recipient, unsent=SENT.get(sent), limit=limit, offset=offset
            )
            return rows

        return await list_page(
            request,
            reader,
            tab="emails",
            fetch=fetch,
            columns=EMAIL_COLUMNS,
            page=page,
            fmt=format,
            filters=filters,
            context={"resent": request.query_params.get("resent")},
        )

    @post("/{notification_id:uuid}/resend", dependencies=WRITE, status_code=303)
    async def resend(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        notification_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        notification = await notifications.resend(
            db_session, current_tenant(request).key, notification_id
        )
        await audit(
            db_session,
            request,
            writer,
            action="portal.notification.resend",
            entity="notification",
            entity_id=notification_id,
            detail={"recipient": notification.recipient, "kind": notification.kind},
        )
        return Redirect(f"/portal/finance/emails?resent={notification_id}", status_code=303)
