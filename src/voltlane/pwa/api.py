"""The driver app's station search as JSON, for the app and its map: public (no sign-in), the
brand from the host, bad parameters answered as RFC 9457 problem details."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.pwa.finder_query import FinderParams, finder_params, read_query
from voltlane.station.search import FoundLocation, search_locations
from voltlane.web.problems import PROBLEM_JSON, problem_body

API_PATH = "/api/app/v1/stations"
# Availability changes by the minute: browsers and the service worker revalidate each time.
CACHE = {"Cache-Control": "no-cache"}

# English messages of the parameters' errors (the pages show them translated).
_MESSAGES = {
    "lat": "must be a number from -90 to 90, given together with lon",
    "lon": "must be a number from -180 to 180, given together with lat",
    "radius_km": "must be above 0 and at most 20000, and needs lat and lon",
    "standard": "must be OCPI connector types such as IEC_62196_T2 or CHADEMO",
    "min_kw": "must be a number from 0 to 1000",
    "available": "must be true or false",
    "open_now": "must be true or false",
    "q": "must be at most 100 characters",
    "limit": "must be a whole number from 1 to 200",
}


class StationItem(msgspec.Struct, kw_only=True):
    """A published location with what a driver decides by."""

    id: uuid.UUID
    name: str
    address: str
    postal_code: str | None
    city: str
    latitude: float
    longitude: float
    distance_m: int | None  # from lat/lon; null without a position
    evse_count: int
    available_evses: int  # EVSEs with a connector reporting Available
    max_power_kw: float | None
    standards: list[str]
    open_now: bool
    url: str  # the station page in the app

    @classmethod
    def of(cls, found: FoundLocation) -> StationItem:
        return cls(
            id=found.id,
            name=found.name,
            address=found.address,
            postal_code=found.postal_code,
            city=found.city,
            latitude=float(found.latitude),
            longitude=float(found.longitude),
            distance_m=found.distance_m,
            evse_count=found.evse_count,
            available_evses=found.available_evses,
            max_power_kw=None if found.max_power_w is None else found.max_power_w / 1000,
            standards=list(found.standards),
            open_now=found.open_now,
            url=f"/stations/{found.id}",
        )


class StationList(msgspec.Struct):
    stations: list[StationItem]
    count: int


class StationSearchController(Controller):
    path = API_PATH
    tags = ["Driver app"]
    dependencies = {"params": Provide(finder_params, sync_to_thread=False)}

    @get(
        "/",
        summary="Find charging stations",
        description=(
            "The brand's published locations, nearest first from lat/lon (else by name),"
            " narrowed by connector standard, power, availability, opening hours and text."
        ),
    )
    async def stations(
        self, params: NamedDependency[FinderParams], db_session: NamedDependency[AsyncSession]
    ) -> Response[StationList | dict[str, object]]:
        read = read_query(params)
        if read.search is None:
            errors = [{"field": name, "detail": _MESSAGES[name]} for name in read.errors]
            body = problem_body(
                status=400,
                title="Bad request",
                detail="; ".join(f"{e['field']} {e['detail']}" for e in errors),
                errors=errors,
            )
            return Response(body, status_code=400, media_type=PROBLEM_JSON)
        found = await search_locations(db_session, read.search, now=utcnow())
        items = [StationItem.of(f) for f in found]
        return Response(StationList(items, len(items)), headers=CACHE)
