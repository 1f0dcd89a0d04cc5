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

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    literal,
    literal_column,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    ChargingStation,
    Connector,
    ConnectorStandard,
    Evse,
    Location,
    RegistrationStatus,
)
from voltlane.models.tenant.station import LOCATION_SEARCH_DOCUMENT
from voltlane.station.geometry import Position, bounding_box, distance_m
from voltlane.station.opening_hours import is_open, read_hours, zone_of

AVAILABLE = "Available"
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
    return is_open(read_hours(hours), zone_of(zone), now)


def text_query(text: str) -> str | None:
    """The words of ``text`` as a prefix query (``hamb:* & 203:*``), None without words."""
    words = _WORD.findall(text.lower())
    return " & ".join(f"{word}:*" for word in words) if words else None


@dataclass(frozen=True, slots=True)
class _Ring:
    """A bounding box and the distances (m) it covers: (``beyond``, ``within``]."""

    box: list[ColumnElement[bool]]
    beyond: float | None = None
    within: float | None = None


def _next_radius(radius_km: float, found: int, limit: int) -> float:
    """The next ring's radius: as far as the matches found so far suggest a full page
    lies (their density), at least twice and at most eight times this one."""
    growth = 1.2 * math.sqrt(limit / max(found, 0.5))
    return radius_km * min(max(growth, 2.0), 8.0)


def _static_filters(search: StationSearch) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if search.standards:
        conditions.append(Connector.standard.in_(search.standards))
    if search.min_power_w is not None:
        conditions.append(Connector.max_electric_power >= search.min_power_w)
    return conditions


_ACCEPTED = ChargingStation.registration_status == RegistrationStatus.ACCEPTED


def _connector_filters(search: StationSearch) -> list[ColumnElement[bool]]:
    conditions = [*_static_filters(search), _ACCEPTED]
    if search.available:
        conditions.append(Connector.status == AVAILABLE)
    return conditions


def _facts(search: StationSearch, location_id: ColumnElement[uuid.UUID]) -> Any:
    """Per location (a LATERAL subquery): its accepted stations' EVSEs, those available,
    the highest power, the standards, and how many connectors meet every filter."""
    filters = [c for c in _connector_filters(search) if c is not _ACCEPTED]
    matching = func.count().filter(and_(*filters)) if filters else func.count()
    return (
        select(
            func.count(Evse.id.distinct()).label("evse_count"),
            func.count(Evse.id.distinct()).filter(Connector.status == AVAILABLE).label("available"),
            func.max(Connector.max_electric_power).label("max_power_w"),
            func.array_agg(Connector.standard.distinct()).label("standards"),
            matching.label("matching"),
        )
        .select_from(ChargingStation)
        .join(Evse, Evse.charging_station_id == ChargingStation.id)
        .join(Connector, Connector.evse_pk == Evse.id)
        .where(ChargingStation.location_id == location_id, _ACCEPTED)
        .lateral("facts")
    )


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
    static = _static_filters(search)
    if not static:
        return None
    key = _common_key(db_session, search)
    if _COMMON.get(key, 0.0) > time.monotonic():
        return None
    # In the index's order: a plain LIMIT lets the planner bet on a table scan that stops
    # early, and lose the whole table's read when nothing matches.
    order = (
        [Connector.standard, Connector.max_electric_power]
        if search.standards
        else [Connector.max_electric_power]
    )
    connectors = list(
        await db_session.scalars(
            select(Connector.id).where(*static).order_by(*order).limit(RARE_CONNECTORS + 1)
        )
    )
    if len(connectors) > RARE_CONNECTORS:
        if len(_COMMON) >= _COMMON_MAX:
            _COMMON.clear()
        _COMMON[key] = time.monotonic() + _COMMON_FOR
        return None
    if not connectors:
        return []
    # By primary key from the few connectors found: a plan that cannot scan all EVSEs.
    rows = await db_session.scalars(
        select(ChargingStation.location_id)
        .distinct()
        .select_from(Connector)
        .join(Evse, Evse.id == Connector.evse_pk)
        .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
        .where(
            Connector.id.in_(connectors),
            ChargingStation.location_id.is_not(None),
            *_connector_filters(search),
        )
    )
    return [pk for pk in rows if pk is not None]


def _query(
    search: StationSearch,
    ring: _Ring,
    known: list[uuid.UUID] | None,
    after: _Candidate | None,
    limit: int,
) -> Select[Any]:
    """One batch of candidates in ``ring``, in order, after ``after``. The inner query orders
    the ring's box by distance and is fenced (OFFSET 0), so the distance is computed once per
    row and each location's connectors are read (``_facts``) for the nearest rows only, until
    the batch is full."""
    distance = distance_m(search.position) if search.position else literal(None)
    conditions = [Location.publish.is_(True), *ring.box]
    words = text_query(search.text)
    if words is not None:
        document: ColumnElement[Any] = literal_column(LOCATION_SEARCH_DOCUMENT)
        conditions.append(document.op("@@")(func.to_tsquery(literal_column("'simple'"), words)))
    if known is not None:
        conditions.append(Location.id.in_(known))
    key: list[Any] = [Location.name, Location.id]
    values: list[Any] = [after.name, after.id] if after is not None else []
    if search.position is not None:
        key.insert(0, distance)
        values.insert(0, after.distance if after is not None else None)
    if after is not None:
        conditions.append(tuple_(*key) > tuple_(*(literal(v) for v in values)))
    inner = (
        select(
            Location.id,
            distance.label("distance"),
            Location.name,
            Location.address,
            Location.postal_code,
            Location.city,
            Location.latitude,
            Location.longitude,
            Location.opening_hours,
            Location.timezone,
        )
        .where(*conditions)
        .order_by(*key)
        .offset(0)
        .subquery()
    )
    facts = _facts(search, inner.c.id)
    outer: list[ColumnElement[bool]] = [facts.c.matching > 0]
    if ring.beyond is not None:
        outer.append(inner.c.distance > ring.beyond)
    if ring.within is not None:
        outer.append(inner.c.distance <= ring.within)
    order = [inner.c.name, inner.c.id]
    if search.position is not None:
        order.insert(0, inner.c.distance)
    return (
        select(
            *inner.c,
            facts.c.evse_count,
            facts.c.available,
            facts.c.max_power_w,
            facts.c.standards,
        )
        .select_from(inner.join(facts, true()))
        .where(*outer)
        .order_by(*order)
        .limit(limit)
    )


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
        rows = [
            _Candidate(*row)
            for row in await db_session.execute(_query(search, ring, known, after, batch))
        ]
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
        await _fill(db_session, search, _Ring([], None, limit_m), known, now=now, found=found)
        return found
    inner: float | None = None
    radius = FIRST_RING_KM
    while True:
        if limit_m is not None and radius * 1000 >= limit_m:
            ring, last = _Ring(bounding_box(position, limit_m / 1000), inner, limit_m), True
        elif radius > LAST_RING_KM:
            ring, last = _Ring([], inner), True  # the rest of the network
        else:
            ring, last = _Ring(bounding_box(position, radius), inner, radius * 1000), False
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
