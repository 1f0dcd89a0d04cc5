"""The portal's home and station list."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.pages import CSV_MAX_ROWS, Format, PageNumber, Pager, csv_response, render
from voltlane.station import service as stations
from voltlane.web.auth import provide_staff, requires

STATION_COLUMNS = (
    ("station_id", lambda s: s.station_id),
    ("location", lambda s: s.location_name),
    ("city", lambda s: s.city),
    ("vendor", lambda s: s.vendor),
    ("model", lambda s: s.model),
    ("protocol", lambda s: s.protocol),
    ("evses", lambda s: s.evse_count),
    ("connectors", lambda s: s.connector_count),
    ("max_power_w", lambda s: s.max_power_w),
    ("security_profile", lambda s: s.security_profile),
    ("registration", lambda s: s.registration_status),
)


class PortalController(Controller):
    path = "/portal"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        staff: NamedDependency[StaffIdentity],
    ) -> Response[str]:
        counts = await stations.network_counts(db_session)
        return render(request, staff, "portal/index.html", {"counts": counts})

    @get(
        "/stations",
        dependencies={"reader": Provide(requires(Permission.STATIONS_READ))},
    )
    async def stations(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        if format == "csv":
            rows = await stations.list_stations(db_session, limit=CSV_MAX_ROWS, offset=0)
            return csv_response("stations.csv", STATION_COLUMNS, rows)
        pager = Pager(page)
        rows = await stations.list_stations(db_session, limit=pager.limit, offset=pager.offset)
        return render(
            request,
            reader,
            "portal/stations/index.html",
            {"page": pager.page(rows)},
            fragment="portal/stations/_table.html",
        )
