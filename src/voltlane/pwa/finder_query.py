"""The station finder's query: the same parameters for the list, the map and the JSON API.

``lat``/``lon`` (the phone's position, both or neither), ``radius_km`` (with a position),
``standard`` (ConnectorStandard values; repeated or comma-separated), ``min_kw``,
``available`` and ``open_now`` (true/false), ``q`` (part of a name, address, postal code or
city) and ``limit``. They arrive as text through one dependency and are read by one function,
so a page shows each error beside its field and the API answers it as problem details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlencode

from litestar.params import QueryParameter

from voltlane.models.tenant import ConnectorStandard
from voltlane.station.geometry import Position
from voltlane.station.search import StationSearch
from voltlane.web.i18n import N_

MAX_TEXT = 100
MAX_RADIUS_KM = Decimal(20_000)  # half the Earth's circumference
MAX_KW = Decimal(1_000)
MAX_LIMIT = 200
PAGE_LIMIT = 50
MAP_LIMIT = 200
_TRUE = frozenset({"true", "1", "on", "yes"})
_FALSE = frozenset({"false", "0", "off", "no", ""})


@dataclass(frozen=True, slots=True)
class FinderParams:
    """The query as sent, text only (what a form redisplays)."""

    lat: str = ""
    lon: str = ""
    radius_km: str = ""
    standard: tuple[str, ...] = ()
    min_kw: str = ""
    available: str = ""
    open_now: str = ""
    q: str = ""
    limit: str = ""

    def query_string(self, **changes: str | None) -> str:
        """These parameters as a URL query (empty ones left out), with ``changes`` applied
        (None removes a parameter)."""
        values: dict[str, str | tuple[str, ...]] = {
            "lat": self.lat,
            "lon": self.lon,
            "radius_km": self.radius_km,
            "standard": self.standard,
            "min_kw": self.min_kw,
            "available": self.available,
            "open_now": self.open_now,
            "q": self.q,
            "limit": self.limit,
        }
        for name, value in changes.items():
            values[name] = "" if value is None else value
        pairs = [
            (name, item)
            for name, value in values.items()
            for item in (value if isinstance(value, tuple) else (value,))
            if item
        ]
        return urlencode(pairs)


@dataclass(frozen=True, slots=True)
class ReadQuery:
    """The search to run (None when a parameter is wrong) and the error of each field."""

    search: StationSearch | None
    errors: dict[str, str] = field(default_factory=dict)


def finder_params(
    *,
    lat: Annotated[
        str | None, QueryParameter(description="Latitude of the driver (WGS 84, -90..90)")
    ] = None,
    lon: Annotated[
        str | None, QueryParameter(description="Longitude of the driver (WGS 84, -180..180)")
    ] = None,
    radius_km: Annotated[
        str | None, QueryParameter(description="Only within this many km of lat/lon")
    ] = None,
    standard: Annotated[
        list[str] | None,
        QueryParameter(description="Connector standards (OCPI ConnectorType), any of them"),
    ] = None,
    min_kw: Annotated[
        str | None, QueryParameter(description="A connector of at least this power (kW)")
    ] = None,
    available: Annotated[
        str | None, QueryParameter(description="true: a matching connector is Available")
    ] = None,
    open_now: Annotated[
        str | None, QueryParameter(description="true: open now, in the location's timezone")
    ] = None,
    q: Annotated[
        str | None, QueryParameter(description="Part of the name, address, postal code or city")
    ] = None,
    limit: Annotated[str | None, QueryParameter(description="At most this many (1-200)")] = None,
) -> FinderParams:
    """The finder's query parameters as text (a dependency of the list, map and API)."""
    standards = tuple(
        part.strip() for value in standard or () for part in value.split(",") if part.strip()
    )
    return FinderParams(
        lat=(lat or "").strip(),
        lon=(lon or "").strip(),
        radius_km=(radius_km or "").strip(),
        standard=standards,
        min_kw=(min_kw or "").strip(),
        available=(available or "").strip().lower(),
        open_now=(open_now or "").strip().lower(),
        q=(q or "").strip(),
        limit=(limit or "").strip(),
    )


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _coordinate(text: str, bound: int, name: str, errors: dict[str, str]) -> Decimal | None:
    if not text:
        return None
    value = _decimal(text)
    if value is None or not -bound <= value <= bound:
        errors[name] = (
            N_("Enter a latitude between -90 and 90.")
            if bound == 90
            else N_("Enter a longitude between -180 and 180.")
        )
        return None
    return value.quantize(Decimal("0.0000001"))


def _flag(text: str, name: str, errors: dict[str, str]) -> bool:
    if text in _TRUE:
        return True
    if text not in _FALSE:
        errors[name] = N_("Use true or false.")
    return False


def _position(params: FinderParams, errors: dict[str, str]) -> Position | None:
    lat = _coordinate(params.lat, 90, "lat", errors)
    lon = _coordinate(params.lon, 180, "lon", errors)
    if (lat is None) != (lon is None) and not errors:
        errors["lat" if lat is None else "lon"] = N_("Give both latitude and longitude.")
    return Position(lat, lon) if lat is not None and lon is not None else None


def _radius(
    params: FinderParams, position: Position | None, errors: dict[str, str]
) -> Decimal | None:
    if not params.radius_km:
        return None
    radius = _decimal(params.radius_km)
    if radius is None or not 0 < radius <= MAX_RADIUS_KM:
        errors["radius_km"] = N_("Enter a radius above 0 and up to 20,000 km.")
    elif position is None and "lat" not in errors and "lon" not in errors:
        errors["radius_km"] = N_("A radius needs a position (lat and lon).")
    return radius


def _standards(params: FinderParams, errors: dict[str, str]) -> tuple[ConnectorStandard, ...]:
    standards = []
    for value in params.standard:
        try:
            standards.append(ConnectorStandard(value))
        except ValueError:
            errors["standard"] = N_("Choose a connector from the list.")
    return tuple(dict.fromkeys(standards))


def _min_power_w(params: FinderParams, errors: dict[str, str]) -> int | None:
    if not params.min_kw:
        return None
    kw = _decimal(params.min_kw)
    if kw is None or not 0 <= kw <= MAX_KW:
        errors["min_kw"] = N_("Enter a power from 0 to 1,000 kW.")
        return None
    return int(kw * 1000)


def _limit(params: FinderParams, default: int, errors: dict[str, str]) -> int:
    if not params.limit:
        return default
    if not params.limit.isdigit() or not 1 <= int(params.limit) <= MAX_LIMIT:
        errors["limit"] = N_("Ask for 1 to 200 stations.")
        return default
    return int(params.limit)


def read_query(params: FinderParams, *, default_limit: int = PAGE_LIMIT) -> ReadQuery:
    """The search that ``params`` ask for, or every field's error."""
    errors: dict[str, str] = {}
    position = _position(params, errors)
    search = StationSearch(
        position=position,
        radius_km=_radius(params, position, errors),
        standards=_standards(params, errors),
        min_power_w=_min_power_w(params, errors),
        available=_flag(params.available, "available", errors),
        open_now=_flag(params.open_now, "open_now", errors),
        text=params.q,
        limit=_limit(params, default_limit, errors),
    )
    if len(params.q) > MAX_TEXT:
        errors["q"] = N_("Search with at most 100 characters.")
    return ReadQuery(None, errors) if errors else ReadQuery(search)
