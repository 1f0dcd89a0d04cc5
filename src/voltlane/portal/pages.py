"""What every portal page shares: the menu by role, paging, CSV export, rendering.

A list page reads ``page`` (and its filters) from the query string, asks its service for one
row more than a page holds (so it knows whether a next page exists without counting), and
renders the full page, or only its table for an HTMX request.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.params import FromQuery, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity import service as identity
from voltlane.identity.roles import Permission, has_permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.web.context import client_ip, web_state
from voltlane.web.i18n import N_

T = TypeVar("T")

PAGE_SIZE = 25
MAX_PAGE = 100_000
CSV_MAX_ROWS = 100_000
MAX_INPUT = 500  # longer form values are cut before they are checked

# Query parameters of every list page.
PageNumber = Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)]
Format = FromQuery[Literal["html", "csv"]]


@dataclass(frozen=True, slots=True)
class MenuItem:
    path: str
    label: str  # an English msgid, translated by the layout
    permission: Permission


# In the order of the menu. Fleet managers see their fleet's pages only.
MENU: tuple[MenuItem, ...] = (
    MenuItem("/portal/", N_("Dashboard"), Permission.STATIONS_READ),
    MenuItem("/portal/stations", N_("Stations"), Permission.STATIONS_READ),
    MenuItem("/portal/sites", N_("Sites"), Permission.STATIONS_READ),
    MenuItem("/portal/sessions", N_("Sessions"), Permission.STATIONS_READ),
    MenuItem("/portal/tariffs", N_("Tariffs"), Permission.FINANCE_READ),
    MenuItem("/portal/drivers", N_("Drivers"), Permission.DRIVERS_READ),
    MenuItem("/portal/fleets", N_("Fleets"), Permission.DRIVERS_READ),
    MenuItem("/portal/finance", N_("Finance"), Permission.FINANCE_READ),
    MenuItem("/portal/analytics", N_("Analytics"), Permission.STATIONS_READ),
    MenuItem("/portal/alerts", N_("Alerts"), Permission.STATIONS_READ),
    MenuItem("/portal/roaming", N_("Roaming"), Permission.STATIONS_WRITE),
    MenuItem("/portal/settings", N_("Settings"), Permission.SETTINGS_WRITE),
    MenuItem("/portal/audit", N_("Audit log"), Permission.AUDIT_READ),
    MenuItem("/portal/fleet", N_("My fleet"), Permission.FLEET_OWN),
)


def menu_for(staff: StaffIdentity, available: frozenset[str]) -> list[MenuItem]:
    """The menu entries this staff member's role opens, among the pages that exist."""
    return [
        item
        for item in MENU
        if item.path in available and has_permission(staff.role, item.permission)
    ]


@dataclass(frozen=True, slots=True)
class Pager:
    """Page ``number`` of ``size`` rows; services are asked for ``limit`` = size + 1 rows."""

    number: int = 1
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def limit(self) -> int:
        return self.size + 1

    def page(self, rows: Sequence[T], *, query: Mapping[str, str] | None = None) -> PageOf[T]:
        return PageOf(
            items=list(rows[: self.size]),
            number=self.number,
            has_next=len(rows) > self.size,
            query={k: v for k, v in (query or {}).items() if v not in ("", None)},
        )


@dataclass(frozen=True, slots=True)
class PageOf(Generic[T]):
    """One page of a list, with what the pager needs to link to its neighbours."""

    items: list[T]
    number: int
    has_next: bool
    query: Mapping[str, str]  # the filters, kept on every page link

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    def link(self, number: int) -> str:
        return "?" + urlencode({**self.query, "page": str(number)})

    @property
    def csv_link(self) -> str:
        return "?" + urlencode({**self.query, "format": "csv"})


def render(
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    fragment: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    """A portal page (or its ``fragment`` for HTMX) with the menu of ``staff``'s role."""
    state = web_state(request)
    return state.renderer.render(
        request,
        template,
        {
            "staff": staff,
            "menu": menu_for(staff, portal_pages(request)),
            "can": lambda permission: has_permission(staff.role, Permission(permission)),
            **(context or {}),
        },
        fragment=fragment,
        status_code=status_code,
        headers=headers,
    )


def portal_pages(request: Request[Any, Any, Any]) -> frozenset[str]:
    """The menu paths this app serves (sections land one by one)."""
    paths: frozenset[str] | None = request.app.state.get("portal_menu_paths")
    if paths is None:
        routes = {route.path.rstrip("/") for route in request.app.routes}
        paths = frozenset(item.path for item in MENU if item.path.rstrip("/") in routes)
        request.app.state["portal_menu_paths"] = paths
    return paths


def csv_cell(value: Any) -> str:
    """A CSV cell: times in ISO 8601 UTC, nothing that a spreadsheet would run as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value.value if hasattr(value, "value") and not isinstance(value, str) else value)
    # A leading =, +, - or @ would be a formula in a spreadsheet (CSV injection).
    if text[:1] in {"=", "+", "-", "@"} and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def csv_response(
    filename: str,
    columns: Sequence[tuple[str, Callable[[Any], Any]]],
    rows: Iterable[Any],
) -> Response[bytes]:
    """``rows`` as a CSV download: one header line of column names, then one line per row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([name for name, _ in columns])
    for row in rows:
        writer.writerow([csv_cell(read(row)) for _, read in columns])
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


async def read_form(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The submitted fields as trimmed strings (files and repeated names ignored)."""
    form = await request.form()
    return {key: value.strip()[:MAX_INPUT] for key, value in form.items() if isinstance(value, str)}


async def audit(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    *,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record a portal write by ``staff`` in the brand's audit log, in the request's
    transaction (who, from which address, what, on which entity)."""
    await identity.audit_staff(
        db_session,
        staff,
        action=action,
        entity=entity,
        entity_id=entity_id,
        detail=detail,
        ip=client_ip(request),
    )


# Rows of a list from (limit, offset).
Fetch = Callable[[int, int], Awaitable[Sequence[Any]]]


async def list_page(
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    fetch: Fetch,
    *,
    page: int,
    format: str,  # noqa: A002 - the query parameter's name
    filename: str,
    columns: Sequence[tuple[str, Callable[[Any], Any]]],
    template: str,
    fragment: str,
    query: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
    status_code: int | None = None,
) -> Response[Any]:
    """A list as the CSV file ``filename`` (up to CSV_MAX_ROWS rows) or one page of it (its
    ``fragment`` alone for HTMX), the filters ``query`` kept on every link. With filter
    ``errors`` there are no rows and the page answers 400 (the template shows the errors
    beside the filters); ``status_code`` answers a form of the page that was refused."""
    if format == "csv" and not errors:
        return csv_response(filename, columns, await fetch(CSV_MAX_ROWS, 0))
    pager = Pager(page)
    rows = [] if errors else await fetch(pager.limit, pager.offset)
    return render(
        request,
        staff,
        template,
        {"page": pager.page(rows, query=query), **(context or {})},
        fragment=fragment,
        status_code=status_code or (400 if errors else 200),
    )
