"""The portal's home."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.pages import render
from voltlane.station import service as stations
from voltlane.web.auth import provide_staff


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
