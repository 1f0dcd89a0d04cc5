"""The portal's home and station list."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.station import service as stations
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import web_state

PAGE_SIZE = 25


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
        return web_state(request).renderer.render(
            request, "portal/index.html", {"staff": staff, "counts": counts}
        )

    @get(
        "/stations",
        dependencies={"reader": Provide(requires(Permission.STATIONS_READ))},
    )
    async def stations(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: Annotated[int, Parameter(ge=1, le=100_000)] = 1,
    ) -> Response[str]:
        rows = await stations.list_stations(
            db_session, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
        return web_state(request).renderer.render(
            request,
            "portal/stations/index.html",
            {
                "staff": reader,
                "stations": rows[:PAGE_SIZE],
                "page": page,
                "has_next": len(rows) > PAGE_SIZE,
            },
            fragment="portal/stations/_table.html",
        )
