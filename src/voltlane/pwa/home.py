"""The driver app's home: find a station, as a list (``/``) or on a map (``/map``).

Both read the same query (pwa.finder_query), so a search keeps in the URL when the driver
switches between them. The list answers an HTMX request with the results alone; without
JavaScript the form is a normal GET. The map draws the brand's tiles (``[app] map_tiles``)
with static/js/map.js over the same list, which stays the answer when there are no tiles.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.pwa.finder_query import MAP_LIMIT, PAGE_LIMIT, FinderParams, finder_params, read_query
from voltlane.station.search import FoundLocation, search_locations
from voltlane.web.context import current_tenant, web_state

# Radius choices the filter offers once the driver's position is known (km).
RADIUS_CHOICES = ("5", "10", "25", "50", "100")


def distance_words(distance_m: int) -> tuple[str, Decimal]:
    """A distance as the list shows it: metres (to 10 m) below 1 km, else km to 0.1 km."""
    if distance_m < 1000:
        return "m", Decimal(distance_m).quantize(Decimal(10), rounding=ROUND_HALF_UP)
    km = (Decimal(distance_m) / 1000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return "km", km


def _map_settings(request: Request[Any, Any, Any]) -> tuple[str | None, str | None]:
    app = current_tenant(request).app
    tiles = app.get("map_tiles")
    attribution = app.get("map_attribution")
    return (
        tiles if isinstance(tiles, str) and tiles else None,
        attribution if isinstance(attribution, str) and attribution else None,
    )


async def _finder(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    params: FinderParams,
    *,
    view: str,
) -> Response[str]:
    read = read_query(params, default_limit=MAP_LIMIT if view == "map" else PAGE_LIMIT)
    results: list[FoundLocation] = []
    if read.search is not None:
        results = await search_locations(db_session, read.search, now=utcnow())
    tiles, attribution = _map_settings(request)
    context = {
        "view": view,
        "params": params,
        "errors": read.errors,
        "results": results,
        "has_position": bool(params.lat and params.lon and "lat" not in read.errors),
        "filtered": bool(params.standard or params.min_kw or params.available or params.open_now),
        "radius_choices": RADIUS_CHOICES,
        "distance_words": distance_words,
        "tiles": tiles,
        "attribution": attribution,
    }
    return web_state(request).renderer.render(
        request,
        "pwa/map.html" if view == "map" else "pwa/index.html",
        context,
        fragment="pwa/_finder_results.html" if view == "list" else None,
        status_code=400 if read.errors else 200,
    )


class DriverHomeController(Controller):
    path = "/"
    include_in_schema = False
    dependencies = {"params": Provide(finder_params, sync_to_thread=False)}

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        params: NamedDependency[FinderParams],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[str]:
        return await _finder(request, db_session, params, view="list")

    @get("/map")
    async def map(
        self,
        request: Request[Any, Any, Any],
        params: NamedDependency[FinderParams],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[str]:
        return await _finder(request, db_session, params, view="map")
