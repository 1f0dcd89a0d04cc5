"""The driver app's home: the brand's public stations."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.station import service as stations
from voltlane.web.context import web_state

LIST_SIZE = 50


class DriverHomeController(Controller):
    path = "/"
    include_in_schema = False

    @get("/")
    async def index(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[str]:
        locations = await stations.list_published_locations(db_session, limit=LIST_SIZE, offset=0)
        return web_state(request).renderer.render(
            request, "pwa/index.html", {"locations": locations}
        )
