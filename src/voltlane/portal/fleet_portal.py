"""The fleet manager's portal: their own fleet account's drivers, cards, sessions, documents
and cost by cost centre. The account comes from the signed-in fleet manager, never from the
URL, so another fleet's card, session or document is simply not found.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import accounts, fleet_reports, invoicing
from voltlane.core.clock import utcnow
from voltlane.core.errors import VoltlaneError
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.listing import ListView, list_response
from voltlane.portal.pages import Fetch, Format, PageNumber, csv_response, render
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_

FLEET_HOME = "/portal/fleet"
MAX_FILTER = 120
ONE_DAY = timedelta(days=1)

DRIVER_COLUMNS = (
    ("driver", lambda d: d.name),
    ("cards", lambda d: d.cards),
    ("active_cards", lambda d: d.active_cards),
    ("vehicles", lambda d: d.vehicles),
)
CARD_COLUMNS = (
    ("card", lambda c: c.id_token),
    ("type", lambda c: c.type),
    ("status", lambda c: c.status),
    ("label", lambda c: c.label),
    ("driver", lambda c: c.driver_name),
    ("vehicle", lambda c: c.vehicle),
    ("cost_centre", lambda c: c.cost_centre),
    ("created_at", lambda c: c.created_at),
)
SESSION_COLUMNS = (
    ("session_id", lambda s: s.id),
    ("started_at", lambda s: s.started_at),
    ("stopped_at", lambda s: s.stopped_at),
    ("status", lambda s: s.status),
    ("station_id", lambda s: s.station_id),
    ("card", lambda s: s.card),
    ("driver", lambda s: s.driver),
    ("vehicle", lambda s: s.vehicle),
    ("cost_centre", lambda s: s.cost_centre),
    ("energy_wh", lambda s: s.energy_wh),
    ("total_excl_vat", lambda s: s.total_excl_vat),
    ("total_incl_vat", lambda s: s.total_incl_vat),
    ("currency", lambda s: s.currency),
    ("credited", lambda s: "yes" if s.credited else "no"),
)
INVOICE_COLUMNS = (
    ("number", lambda i: i.number),
    ("kind", lambda i: i.kind),
    ("issue_date", lambda i: i.issue_date),
    ("due_date", lambda i: i.due_date),
    ("period_start", lambda i: i.period_start),
    ("period_end", lambda i: i.period_end),
    ("total_excl_vat", lambda i: i.total_net),
    ("total_vat", lambda i: i.total_vat),
    ("total_incl_vat", lambda i: i.total_gross),
    ("paid", lambda i: i.paid),
    ("currency", lambda i: i.currency),
)
COST_COLUMNS = (
    ("cost_centre", lambda c: c.cost_centre),
    ("sessions", lambda c: c.sessions),
    ("energy_kwh", lambda c: c.energy_kwh),
    ("total_excl_vat", lambda c: c.total_excl_vat),
    ("total_vat", lambda c: c.total_vat),
    ("total_incl_vat", lambda c: c.total_incl_vat),
    ("currency", lambda c: c.currency),
)


DRIVERS = ListView(
    "fleet-drivers.csv", DRIVER_COLUMNS, "portal/fleet/index.html", "portal/fleet/_drivers.html"
)
CARDS = ListView(
    "fleet-cards.csv", CARD_COLUMNS, "portal/fleet/cards.html", "portal/fleet/_cards.html"
)
SESSIONS = ListView(
    "fleet-sessions.csv",
    SESSION_COLUMNS,
    "portal/fleet/sessions.html",
    "portal/fleet/_sessions.html",
)
INVOICES = ListView(
    "fleet-invoices.csv",
    INVOICE_COLUMNS,
    "portal/fleet/invoices.html",
    "portal/fleet/_invoices.html",
)


def fleet_of(manager: StaffIdentity) -> uuid.UUID:
    """The one fleet account a fleet manager sees (the database guarantees they have one)."""
    if manager.fleet_account_id is None:
        raise VoltlaneError("This sign-in is not tied to a fleet account.")
    return manager.fleet_account_id


def text_filter(value: str | None) -> str:
    return (value or "").strip()[:MAX_FILTER]


def parse_local_date(value: str, field: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = N_("Enter a date as YYYY-MM-DD.")
        return None


def date_range(
    filters: Mapping[str, str], timezone: str, errors: dict[str, str]
) -> tuple[datetime | None, datetime | None]:
    """The UTC bounds [since, until) of the local days ``filters["since"]`` to
    ``filters["until"]`` (both optional), with errors beside those two filters."""
    first = parse_local_date(filters["since"], "since", errors)
    last = parse_local_date(filters["until"], "until", errors)
    if first and last and last < first:
        errors["until"] = N_("The last day comes before the first.")
    return (
        fleet_reports.local_midnight(first, timezone) if first else None,
        fleet_reports.local_midnight(last, timezone) + ONE_DAY if last else None,
    )


def _month(value: str, today: date, errors: dict[str, str]) -> date:
    if not value:
        return today.replace(day=1)
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        errors["month"] = N_("Enter a month as YYYY-MM.")
        return today.replace(day=1)


async def fleet_page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    manager: StaffIdentity,
    template: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
) -> Response[str]:
    """A page of the fleet portal, headed by the manager's fleet account."""
    account = await accounts.get_account(db_session, fleet_of(manager))
    return render(
        request,
        manager,
        template,
        {"account": account, "currency": current_tenant(request).currency, **context},
        status_code=status_code,
    )


async def fleet_list(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    manager: StaffIdentity,
    view: ListView,
    fetch: Fetch,
    *,
    page: int,
    format: str,  # noqa: A002 - the query parameter's name
    filters: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> Response[Any]:
    """A list of the fleet portal (CSV or a page), headed by the manager's fleet account."""
    account = await accounts.get_account(db_session, fleet_of(manager))
    return await list_response(
        request,
        manager,
        view,
        fetch,
        page=page,
        format=format,
        filters=filters,
        errors=errors,
        context={"account": account, "currency": current_tenant(request).currency},
    )


# Every fleet portal route: a signed-in fleet manager, of their own fleet.
FLEET_DEPENDENCIES = {
    "staff": Provide(provide_staff),
    "manager": Provide(requires(Permission.FLEET_OWN)),
}


class FleetPortalController(Controller):
    path = FLEET_HOME
    include_in_schema = False
    dependencies = FLEET_DEPENDENCIES

    @get("/")
    async def drivers(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        manager: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        account_id = fleet_of(manager)

        async def fetch(limit: int, offset: int) -> Sequence[Any]:
            return await fleet_reports.list_drivers(
                db_session, account_id, limit=limit, offset=offset
            )

        return await fleet_list(
            request, db_session, manager, DRIVERS, fetch, page=page, format=format
        )

    @get("/sessions")
    async def sessions(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        manager: NamedDependency[StaffIdentity],
        driver: FromQuery[str] = "",
        card: FromQuery[str] = "",
        vehicle: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        account_id = fleet_of(manager)
        filters = {
            "driver": text_filter(driver),
            "card": text_filter(card),
            "vehicle": text_filter(vehicle),
            "since": text_filter(since),
            "until": text_filter(until),
        }
        errors: dict[str, str] = {}
        since_at, until_at = date_range(filters, current_tenant(request).timezone, errors)
        query = fleet_reports.SessionFilter(
            driver=filters["driver"] or None,
            card=filters["card"] or None,
            vehicle=filters["vehicle"] or None,
            since=since_at,
            until=until_at,
        )

        async def fetch(limit: int, offset: int) -> Sequence[Any]:
            return await fleet_reports.list_sessions(
                db_session, account_id, query, limit=limit, offset=offset
            )

        return await fleet_list(
            request,
            db_session,
            manager,
            SESSIONS,
            fetch,
            page=page,
            format=format,
            filters=filters,
            errors=errors,
        )

    @get("/invoices")
    async def invoices(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        manager: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        account_id = fleet_of(manager)

        async def fetch(limit: int, offset: int) -> Sequence[Any]:
            return await fleet_reports.list_documents(
                db_session, account_id, limit=limit, offset=offset
            )

        return await fleet_list(
            request, db_session, manager, INVOICES, fetch, page=page, format=format
        )

    @get("/invoices/{invoice_id:uuid}/pdf")
    async def invoice_pdf(
        self,
        db_session: NamedDependency[AsyncSession],
        manager: NamedDependency[StaffIdentity],
        invoice_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        return await _document(db_session, manager, invoice_id, invoicing.DocumentFormat.PDF)

    @get("/invoices/{invoice_id:uuid}/ubl")
    async def invoice_ubl(
        self,
        db_session: NamedDependency[AsyncSession],
        manager: NamedDependency[StaffIdentity],
        invoice_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        return await _document(db_session, manager, invoice_id, invoicing.DocumentFormat.UBL)

    @get("/costs")
    async def costs(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        manager: NamedDependency[StaffIdentity],
        month: FromQuery[str] = "",
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        account_id = fleet_of(manager)
        brand = current_tenant(request)
        errors: dict[str, str] = {}
        today = utcnow().astimezone(ZoneInfo(brand.timezone)).date()
        first = _month(text_filter(month), today, errors)
        rows = await fleet_reports.cost_by_cost_centre(
            db_session, account_id, first, brand.timezone
        )
        if format == "csv" and not errors:
            return csv_response(f"fleet-costs-{first:%Y-%m}.csv", COST_COLUMNS, rows)
        return await fleet_page(
            request,
            db_session,
            manager,
            "portal/fleet/costs.html",
            {
                "rows": rows,
                "month": first,
                "month_value": text_filter(month) if errors else f"{first:%Y-%m}",
                "errors": errors,
            },
            status_code=400 if errors else 200,
        )


async def _document(
    db_session: AsyncSession,
    manager: StaffIdentity,
    invoice_id: uuid.UUID,
    form: invoicing.DocumentFormat,
) -> Response[bytes]:
    invoice = await fleet_reports.get_document(db_session, fleet_of(manager), invoice_id)
    data, filename = invoicing.render_document(invoice, form)
    return Response(
        data,
        media_type=invoicing.MEDIA_TYPES[form],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )
