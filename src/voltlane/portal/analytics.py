"""Analytics in the portal: availability, utilization, energy and revenue per station, site,
segment and day for a date range, with CSV exports; planned downtime windows."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.monitoring import analytics
from voltlane.monitoring.errors import InvalidInputError
from voltlane.portal.pages import (
    CSV_MAX_ROWS,
    Format,
    PageNumber,
    Pager,
    audit,
    csv_response,
    render,
)
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import current_tenant

Table = FromQuery[Literal["stations", "sites", "segments", "days"]]
MAX_FIELD = 200

USAGE_COLUMNS = (
    ("period_seconds", lambda r: r.period_seconds),
    ("available_seconds", lambda r: r.available_seconds),
    ("charging_seconds", lambda r: r.charging_seconds),
    ("availability_percent", lambda r: r.availability),
    ("utilization_percent", lambda r: r.utilization),
    ("sessions", lambda r: r.sessions),
    ("energy_kwh", lambda r: r.energy_kwh),
    ("revenue_minor", lambda r: r.revenue),
    ("currency", lambda r: r.currency),
)
COLUMNS: dict[str, tuple[tuple[str, Any], ...]] = {
    "stations": (
        ("station_id", lambda r: r.key),
        ("location", lambda r: r.location),
        *USAGE_COLUMNS,
    ),
    "sites": (("location", lambda r: r.key), *USAGE_COLUMNS),
    "segments": (
        ("segment", lambda r: r.key),
        ("sessions", lambda r: r.sessions),
        ("energy_kwh", lambda r: r.energy_kwh),
        ("revenue_minor", lambda r: r.revenue),
        ("currency", lambda r: r.currency),
    ),
    "days": (
        ("day", lambda r: r.day),
        ("sessions", lambda r: r.sessions),
        ("energy_kwh", lambda r: r.energy_kwh),
        ("revenue_minor", lambda r: r.revenue),
    ),
}
DOWNTIME_COLUMNS = (
    ("id", lambda d: d.id),
    ("station_id", lambda d: d.station_id),
    ("starts_at", lambda d: d.starts_at),
    ("ends_at", lambda d: d.ends_at),
    ("reason", lambda d: d.reason),
    ("created_by", lambda d: d.created_by),
)
READ = {"reader": Provide(requires(Permission.STATIONS_READ))}
WRITE = {"writer": Provide(requires(Permission.STATIONS_WRITE))}
EMPTY_DOWNTIME = {"station": "", "starts": "", "ends": "", "reason": ""}


class AnalyticsController(Controller):
    path = "/portal/analytics"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/", dependencies=READ)
    async def index(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        first: Annotated[str | None, QueryParameter(name="from")] = None,
        to: FromQuery[str | None] = None,
        table: Table = "stations",
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        """The range's figures, the station table paged; ``?format=csv&table=...`` exports
        one of its tables in full."""
        brand = current_tenant(request)
        default_first, default_last = analytics.default_range(brand.timezone)
        values = {
            "from": (first or default_first)[:MAX_FIELD],
            "to": (to or default_last)[:MAX_FIELD],
        }
        try:
            days = analytics.date_range(values["from"], values["to"], brand.timezone)
        except InvalidInputError as exc:
            return render(
                request,
                reader,
                "portal/analytics/index.html",
                {"values": values, "errors": exc.errors, "usage": None},
                status_code=400,
            )
        usage = await analytics.usage(db_session, brand, days)
        if format == "csv":
            return csv_response(
                f"analytics-{table}-{days.first}-{days.last}.csv",
                COLUMNS[table],
                getattr(usage, table),
            )
        pager = Pager(page)
        range_query = {"from": days.first.isoformat(), "to": days.last.isoformat()}
        return render(
            request,
            reader,
            "portal/analytics/index.html",
            {
                "values": values,
                "errors": {},
                "usage": usage,
                "stations": pager.page(
                    usage.stations[pager.offset : pager.offset + pager.limit], query=range_query
                ),
                "query": f"from={days.first}&to={days.last}",
                "currency": brand.currency,
            },
            fragment="portal/analytics/_stations_table.html",
        )

    @get("/downtime", dependencies=READ)
    async def downtime(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        """Planned downtime windows, latest first, with the form to add one."""
        if format == "csv":
            rows = await analytics.list_downtimes(db_session, limit=CSV_MAX_ROWS, offset=0)
            return csv_response("planned-downtime.csv", DOWNTIME_COLUMNS, rows)
        return await self._downtime_page(request, db_session, reader, page, EMPTY_DOWNTIME, {})

    @post("/downtime", dependencies=WRITE, status_code=303)
    async def add_downtime(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        """Record a window; a wrong field comes back beside its field and nothing is saved."""
        form = await request.form()
        values = {name: str(form.get(name) or "")[: MAX_FIELD + 1] for name in EMPTY_DOWNTIME}
        data = analytics.DowntimeInput(**values)
        try:
            row = await analytics.add_downtime(
                db_session, current_tenant(request).timezone, data, by=writer.email
            )
        except InvalidInputError as exc:
            return await self._downtime_page(
                request, db_session, writer, 1, values, exc.errors, status_code=400
            )
        await audit(
            db_session,
            request,
            writer,
            action="planned_downtime.create",
            entity="planned_downtime",
            entity_id=row.id,
            detail={
                "charging_station_id": str(row.charging_station_id),
                "starts_at": row.starts_at.isoformat(),
                "ends_at": row.ends_at.isoformat(),
                "reason": row.reason,
            },
        )
        return Redirect("/portal/analytics/downtime", status_code=303)

    @post("/downtime/{downtime_id:uuid}/delete", dependencies=WRITE, status_code=303)
    async def remove_downtime(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        downtime_id: FromPath[uuid.UUID],
    ) -> Redirect:
        row = await analytics.remove_downtime(db_session, downtime_id)
        await audit(
            db_session,
            request,
            writer,
            action="planned_downtime.delete",
            entity="planned_downtime",
            entity_id=row.id,
            detail={"charging_station_id": str(row.charging_station_id), "reason": row.reason},
        )
        return Redirect("/portal/analytics/downtime", status_code=303)

    @staticmethod
    async def _downtime_page(  # noqa: PLR0917 - one page, its form and its list
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        number: int,
        values: dict[str, str],
        errors: dict[str, str],
        *,
        status_code: int = 200,
    ) -> Response[str]:
        pager = Pager(number)
        rows = await analytics.list_downtimes(db_session, limit=pager.limit, offset=pager.offset)
        return render(
            request,
            staff,
            "portal/analytics/downtime.html",
            {
                "page": pager.page(rows),
                "stations": [
                    (str(s.id), s.station_id) for s in await analytics.station_options(db_session)
                ],
                "values": values,
                "errors": errors,
            },
            fragment="portal/analytics/_downtime_table.html",
            status_code=status_code,
        )
