"""The driver's station search: published locations near a position or matching a text,
narrowed by connector standard, power, availability and opening hours.

Nearest first without PostGIS, in rings: each ring is a bounding box on the indexed latitude
and longitude (``ix_locations_latitude_longitude``) minus the circle already searched, its
candidates ordered by exact great-circle distance (haversine) and then checked, in that
order, for a matching connector, until the page is full. A search in a city thus checks a
few dozen locations, however large the network. Text matches word beginnings of the name,
address, postal code and city through a full-text index (``ix_locations_search``).

When the connector filters are rare (few connectors of that standard or power at all), the
locations holding them are looked up first (``ix_connectors_standard_power``,
``ix_connectors_power``), so a search for a plug nobody nearby has does not walk the whole
network. Whether a location is open is decided in Python from its OCPI hours
(``station.opening_hours``), batch by batch of the same order.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import ConnectorStandard
from voltlane.station import search_sql
from voltlane.station.geometry import Box, Position, box_around, box_params, distance_params
from voltlane.station.opening_hours import is_open, read_hours, zone_of
from voltlane.station.search_sql import PlugFilter

# Rings around a position (km): the first, and the widest before the rest of the network.
# Each next ring is sized by the density of matches found so far (see _next_radius).
FIRST_RING_KM = 2.0
LAST_RING_KM = 1500.0
# Connector filters matched by at most this many connectors are looked up connector first.
RARE_CONNECTORS = 500
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class StationSearch:
    """What the driver asks for; empty values mean "any"."""

    position: Position | None = None
    radius_km: Decimal | None = None  # only with a position
    standards: tuple[ConnectorStandard, ...] = ()
    min_power_w: int | None = None
    available: bool = False  # a matching connector reports Available
    open_now: bool = False
    text: str = ""  # word beginnings of the name, address, postal code or city
    limit: int = 50

    @property
    def filters_connectors(self) -> bool:
        return bool(self.standards) or self.min_power_w is not None or self.available


@dataclass(frozen=True, slots=True)
class FoundLocation:
    """A location in the driver's list or on the map, with its live availability."""

    id: uuid.UUID
    name: str
    address: str
    postal_code: str | None
    city: str
    latitude: Decimal
    longitude: Decimal
    distance_m: int | None
    evse_count: int
    available_evses: int
    max_power_w: int | None
    standards: tuple[str, ...]
    open_now: bool


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A location that passed the filters, with what the list shows of it."""

    id: uuid.UUID
    distance: float | None
    name: str
    address: str
    postal_code: str | None
    city: str
    latitude: Decimal
    longitude: Decimal
    opening_hours: dict[str, Any]
    timezone: str
    evse_count: int
    available_evses: int
    max_power_w: int | None
    standards: list[str | None]

    def open_at(self, now: datetime) -> bool:
        return _open(self.opening_hours, self.timezone, now)

    def found(self, now: datetime) -> FoundLocation:
        return FoundLocation(
            id=self.id,
            name=self.name,
            address=self.address,
            postal_code=self.postal_code,
            city=self.city,
            latitude=self.latitude,
            longitude=self.longitude,
            distance_m=None if self.distance is None else round(self.distance),
            evse_count=int(self.evse_count),
            available_evses=int(self.available_evses),
            max_power_w=self.max_power_w,
            standards=tuple(sorted(str(v) for v in self.standards if v is not None)),
            open_now=self.open_at(now),
        )


def _open(hours: dict[str, Any], zone: str, now: datetime) -> bool:
    if hours.get("twentyfourseven") is True and not hours.get("exceptional_closings"):
        return True  # most locations: no need to read the rest
    return is_open(read_hours(hours), zone_of(zone), now)


def text_query(text: str) -> str | None:
    """The words of ``text`` as a prefix query (``hamb:* & 203:*``), None without words."""
    words = _WORD.findall(text.lower())
    return " & ".join(f"{word}:*" for word in words) if words else None


@dataclass(frozen=True, slots=True)
class _Ring:
    """A bounding box and the distances (m) it covers: (``beyond``, ``within``]."""

    box: Box | None
    beyond: float | None = None
    within: float | None = None


def _next_radius(radius_km: float, found: int, limit: int) -> float:
    """The next ring's radius: as far as the matches found so far suggest a full page
    lies (their density), at least twice and at most eight times this one."""
    growth = 1.2 * math.sqrt(limit / max(found, 0.5))
    return radius_km * min(max(growth, 2.0), 8.0)


def _plugs(search: StationSearch) -> PlugFilter:
    return PlugFilter(
        standards=bool(search.standards),
        min_power=search.min_power_w is not None,
        available=search.available,
    )


def _filter_params(search: StationSearch) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if search.standards:
        params["standards"] = [str(s) for s in search.standards]
    if search.min_power_w is not None:
        params["min_power_w"] = search.min_power_w
    return params


# (brand, standards, minimum power) -> until when many connectors are known to match. Only
# a shortcut past the rare-plug lookup, never an answer: a stale entry costs time, not rows.
_COMMON: dict[tuple[object, ...], float] = {}
_COMMON_FOR = 300.0  # seconds
_COMMON_MAX = 4096


def _common_key(db_session: AsyncSession, search: StationSearch) -> tuple[object, ...]:
    return (db_session.info.get("tenant_key"), search.standards, search.min_power_w)


async def _rare_locations(
    db_session: AsyncSession, search: StationSearch
) -> list[uuid.UUID] | None:
    """The locations with a matching connector when few connectors have the standard and
    power asked for; None when many do (the rings find them faster)."""
    plugs = _plugs(search)
    if not plugs.static:
        return None
    key = _common_key(db_session, search)
    if _COMMON.get(key, 0.0) > time.monotonic():
        return None
    params = _filter_params(search)
    connectors = list(
        await db_session.scalars(
            search_sql.rare_connectors(plugs), {**params, "limit": RARE_CONNECTORS + 1}
        )
    )
    if len(connectors) > RARE_CONNECTORS:
        if len(_COMMON) >= _COMMON_MAX:
            _COMMON.clear()
        _COMMON[key] = time.monotonic() + _COMMON_FOR
        return None
    if not connectors:
        return []
    rows = await db_session.scalars(
        search_sql.locations_of_connectors(plugs), {**params, "connectors": connectors}
    )
    return [pk for pk in rows if pk is not None]


def _query(
    search: StationSearch,
    ring: _Ring,
    known: list[uuid.UUID] | None,
    after: _Candidate | None,
    limit: int,
) -> tuple[Select[Any], dict[str, Any]]:
    """One batch of candidates in ``ring``, in order, after ``after``: the statement of its
    shape and the values to bind."""
    words = text_query(search.text)
    shape = search_sql.Shape(
        position=search.position is not None,
        words=words is not None,
        plugs=_plugs(search),
        known=known is not None,
        after=after is not None,
        spread=ring.box.spread if ring.box is not None else None,
        beyond=ring.beyond is not None,
        within=ring.within is not None,
    )
    params: dict[str, Any] = {"limit": limit, **_filter_params(search)}
    if search.position is not None:
        params.update(distance_params(search.position))
    if ring.box is not None:
        params.update(box_params(ring.box))
    if words is not None:
        params["words"] = words
    if known is not None:
        params["known"] = known
    if after is not None:
        params.update(after_distance=after.distance, after_name=after.name, after_id=after.id)
    if ring.beyond is not None:
        params["beyond"] = ring.beyond
    if ring.within is not None:
        params["within"] = ring.within
    return search_sql.batch(shape), params


async def _fill(
    db_session: AsyncSession,
    search: StationSearch,
    ring: _Ring,
    known: list[uuid.UUID] | None,
    *,
    now: datetime,
    found: list[_Candidate],
) -> bool:
    """Add the ring's matches to ``found`` in order, batch by batch; True once it is full."""
    after = None
    while True:
        need = search.limit - len(found)
        batch = max(2 * need, 20) if search.open_now else need
        statement, params = _query(search, ring, known, after, batch)
        rows = [_Candidate(*row) for row in await db_session.execute(statement, params)]
        found.extend(row for row in rows if not search.open_now or row.open_at(now))
        if len(found) >= search.limit:
            del found[search.limit :]
            return True
        if len(rows) < batch:
            return False
        after = rows[-1]


async def _candidates(
    db_session: AsyncSession, search: StationSearch, now: datetime
) -> list[_Candidate]:
    """The first ``limit`` locations in the search's order that pass every filter."""
    known = await _rare_locations(db_session, search) if search.filters_connectors else None
    if known == []:
        return []
    found: list[_Candidate] = []
    position = search.position
    limit_m = None if search.radius_km is None else float(search.radius_km) * 1000
    if position is None or text_query(search.text) is not None:
        # Without a position one pass by name. Words pick few locations through their own
        # index: those are ordered by distance at once (a box would only tempt the planner
        # to read every row in it).
        await _fill(db_session, search, _Ring(None, None, limit_m), known, now=now, found=found)
        return found
    inner: float | None = None
    radius = FIRST_RING_KM
    while True:
        if limit_m is not None and radius * 1000 >= limit_m:
            ring, last = _Ring(box_around(position, limit_m / 1000), inner, limit_m), True
        elif radius > LAST_RING_KM:
            ring, last = _Ring(None, inner), True  # the rest of the network
        else:
            ring, last = _Ring(box_around(position, radius), inner, radius * 1000), False
        if await _fill(db_session, search, ring, known, now=now, found=found) or last:
            return found
        inner = radius * 1000
        radius = _next_radius(radius, len(found), search.limit)


async def search_locations(
    db_session: AsyncSession, search: StationSearch, *, now: datetime
) -> list[FoundLocation]:
    """Published locations for the driver's list and map: nearest first from
    ``search.position`` (within ``radius_km`` when given), else by name; each with its EVSE
    count, EVSEs available now, highest power and connector standards."""
    return [row.found(now) for row in await _candidates(db_session, search, now)]
