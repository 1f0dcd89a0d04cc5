"""The statements of the station search (station.search), each built once per shape with
its values bound: a search costs SQLAlchemy a cache lookup, not a new expression tree."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    Uuid,
    and_,
    bindparam,
    func,
    literal,
    literal_column,
    select,
    true,
    tuple_,
)

from voltlane.models.tenant import ChargingStation, Connector, Evse, Location, RegistrationStatus
from voltlane.models.tenant.station import LOCATION_SEARCH_DOCUMENT
from voltlane.station.geometry import Spread, box_conditions, distance_expression

AVAILABLE = "Available"
_ACCEPTED = ChargingStation.registration_status == RegistrationStatus.ACCEPTED


@dataclass(frozen=True, slots=True)
class PlugFilter:
    """Which connector filters a search sets (values are bound: ``standards``,
    ``min_power_w``)."""

    standards: bool = False
    min_power: bool = False
    available: bool = False

    @property
    def static(self) -> bool:
        return self.standards or self.min_power

    def static_conditions(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.standards:
            conditions.append(Connector.standard.in_(bindparam("standards", expanding=True)))
        if self.min_power:
            conditions.append(Connector.max_electric_power >= bindparam("min_power_w"))
        return conditions

    def conditions(self) -> list[ColumnElement[bool]]:
        """Every condition a connector must meet, its station being accepted among them."""
        conditions = [*self.static_conditions(), _ACCEPTED]
        if self.available:
            conditions.append(Connector.status == AVAILABLE)
        return conditions


def facts(plugs: PlugFilter, location_id: ColumnElement[uuid.UUID]) -> Any:
    """Per location (a LATERAL subquery): its accepted stations' EVSEs, those available,
    the highest power, the standards, and how many connectors meet every filter."""
    filters = [c for c in plugs.conditions() if c is not _ACCEPTED]
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


@functools.lru_cache(maxsize=16)
def rare_connectors(plugs: PlugFilter) -> Select[Any]:
    """Connectors meeting the standard and power filters, at most ``limit`` of them, read in
    the index's order: a plain LIMIT lets the planner bet on a table scan that stops early,
    and lose the whole table's read when nothing matches."""
    order = (
        [Connector.standard, Connector.max_electric_power]
        if plugs.standards
        else [Connector.max_electric_power]
    )
    return (
        select(Connector.id)
        .where(*plugs.static_conditions())
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer))
    )


@functools.lru_cache(maxsize=16)
def locations_of_connectors(plugs: PlugFilter) -> Select[Any]:
    """The locations of the connectors ``connectors`` that meet every filter, by primary
    key from those few connectors (a plan that cannot scan all EVSEs)."""
    return (
        select(ChargingStation.location_id)
        .distinct()
        .select_from(Connector)
        .join(Evse, Evse.id == Connector.evse_pk)
        .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
        .where(
            Connector.id.in_(bindparam("connectors", expanding=True)),
            ChargingStation.location_id.is_not(None),
            *plugs.conditions(),
        )
    )


@dataclass(frozen=True, slots=True)
class Shape:
    """What decides the SQL of a batch of the search."""

    position: bool  # ordered by distance from (lat0, lon0), else by name
    words: bool  # a text query (``words``)
    plugs: PlugFilter
    known: bool  # only the locations ``known``
    after: bool  # after (after_distance, after_name, after_id)
    spread: Spread | None  # a box (south, north, west, east), if any
    beyond: bool  # distance > beyond
    within: bool  # distance <= within


@functools.lru_cache(maxsize=512)
def batch(shape: Shape) -> Select[Any]:
    """The next ``limit`` locations that pass the filters, in the search's order. The inner
    query orders the box's rows by distance and is fenced (OFFSET 0), so the distance is
    computed once per row and each location's connectors are read (``facts``) for the
    nearest rows only, until the batch is full."""
    distance = distance_expression() if shape.position else literal(None)
    conditions: list[ColumnElement[bool]] = [Location.publish.is_(True)]
    if shape.spread is not None:
        conditions += box_conditions(shape.spread)
    if shape.words:
        document: ColumnElement[Any] = literal_column(LOCATION_SEARCH_DOCUMENT)
        words = func.to_tsquery(literal_column("'simple'"), bindparam("words", type_=String))
        conditions.append(document.op("@@")(words))
    if shape.known:
        conditions.append(Location.id.in_(bindparam("known", expanding=True)))
    key: list[Any] = [Location.name, Location.id]
    after: list[Any] = [bindparam("after_name", type_=String), bindparam("after_id", type_=Uuid)]
    if shape.position:
        key.insert(0, distance)
        after.insert(0, bindparam("after_distance", type_=Float))
    if shape.after:
        conditions.append(tuple_(*key) > tuple_(*after))
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
    plugs = facts(shape.plugs, inner.c.id)
    outer: list[ColumnElement[bool]] = [plugs.c.matching > 0]
    if shape.beyond:
        outer.append(inner.c.distance > bindparam("beyond", type_=Float))
    if shape.within:
        outer.append(inner.c.distance <= bindparam("within", type_=Float))
    order = [inner.c.name, inner.c.id]
    if shape.position:
        order.insert(0, inner.c.distance)
    return (
        select(
            *inner.c,
            plugs.c.evse_count,
            plugs.c.available,
            plugs.c.max_power_w,
            plugs.c.standards,
        )
        .select_from(inner.join(plugs, true()))
        .where(*outer)
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer))
    )
