"""The portal's home."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.identity.roles import Permission, has_permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import AlertStatus
from voltlane.monitoring import service as monitoring
from voltlane.portal.pages import menu_for, portal_pages, render
from voltlane.station import service as stations
from voltlane.web.auth import provide_staff
from voltlane.web.context import current_tenant

LATEST_ALERTS = 5  # the open alerts the dashboard lists (all are under /portal/alerts)


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
    ) -> Response[Any]:
        """The network now: the tiles refresh themselves as an HTMX fragment. A role that
        does not see the network (a fleet manager) lands on its first page instead."""
        if not has_permission(staff.role, Permission.STATIONS_READ):
            menu = menu_for(staff, portal_pages(request))
            pages = [item for item in menu if item.path != "/portal/"]
            if pages:
                return Redirect(pages[0].path, status_code=303)
            return render(request, staff, "portal/index.html", {"counts": None, "live": None})
        counts = await stations.network_counts(db_session)
        live = await monitoring.live_counts(db_session, current_tenant(request))
        latest = await monitoring.list_alerts(
            db_session, AlertStatus.OPEN, limit=LATEST_ALERTS, offset=0
        )
        return render(
            request,
            staff,
            "portal/index.html",
            {"counts": counts, "live": live, "latest": latest, "now": utcnow()},
            fragment="portal/dashboard/_tiles.html",
        )
