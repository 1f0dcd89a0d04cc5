"""Distances on the Earth for the station search, computed in the database without PostGIS:
the exact great-circle distance (haversine) and the bounding box of a circle, on the indexed
latitude and longitude of ``Location``.

Both are SQL expressions with bound parameters (``distance_params``, ``box_params``), so the
search builds each shape of statement once and then only binds numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Float, Numeric, bindparam, cast, func, literal, or_

from voltlane.models.tenant import Location

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
_BOX_MARGIN = 1e-7  # degrees: the stored precision, so float rounding never drops an edge
_DEGREES = Numeric(10, 7)


@dataclass(frozen=True, slots=True)
class Position:
    latitude: Decimal
    longitude: Decimal


def distance_expression() -> ColumnElement[float]:
    """Great-circle distance in metres of each location from the bound position
    (``distance_params``), by the haversine formula."""
    lat = func.radians(cast(Location.latitude, Float))
    lon = func.radians(cast(Location.longitude, Float))
    half_dlat = (lat - bindparam("lat0", type_=Float)) / 2
    half_dlon = (lon - bindparam("lon0", type_=Float)) / 2
    a = func.power(func.sin(half_dlat), 2) + bindparam("cos_lat0", type_=Float) * func.cos(
        lat
    ) * func.power(func.sin(half_dlon), 2)
    return 2 * EARTH_RADIUS_M * func.asin(func.sqrt(func.least(literal(1.0), a)))


def distance_params(position: Position) -> dict[str, float]:
    lat0 = math.radians(float(position.latitude))
    return {
        "lat0": lat0,
        "lon0": math.radians(float(position.longitude)),
        "cos_lat0": math.cos(lat0),
    }


class Spread(StrEnum):
    """How a box bounds longitude."""

    RANGE = "range"  # west <= longitude <= east
    WRAPPED = "wrapped"  # over the 180th meridian: longitude >= west or longitude <= east
    ALL = "all"  # the circle holds a pole: every longitude


@dataclass(frozen=True, slots=True)
class Box:
    south: Decimal
    north: Decimal
    spread: Spread
    west: Decimal = Decimal(-180)
    east: Decimal = Decimal(180)


def _degrees(value: float) -> Decimal:
    return Decimal(f"{value:.7f}")


def box_around(position: Position, radius_km: float) -> Box:
    """The latitude and longitude bounds of every point within ``radius_km`` of
    ``position`` (bounding coordinates on a sphere)."""
    angle = radius_km * 1000 / EARTH_RADIUS_M
    lat0, lon0 = float(position.latitude), float(position.longitude)
    south = _degrees(lat0 - math.degrees(angle) - _BOX_MARGIN)
    north = _degrees(lat0 + math.degrees(angle) + _BOX_MARGIN)
    if south <= -90 or north >= 90 or math.sin(angle) >= math.cos(math.radians(lat0)):
        return Box(south, north, Spread.ALL)
    spread = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(lat0))))
    west, east = lon0 - spread - _BOX_MARGIN, lon0 + spread + _BOX_MARGIN
    if west < -180:
        return Box(south, north, Spread.WRAPPED, _degrees(west + 360), _degrees(east))
    if east > 180:
        return Box(south, north, Spread.WRAPPED, _degrees(west), _degrees(east - 360))
    return Box(south, north, Spread.RANGE, _degrees(west), _degrees(east))


def box_conditions(spread: Spread) -> list[ColumnElement[bool]]:
    """The conditions of a box with bound corners (``box_params``), on the indexed columns."""
    south, north = bindparam("south", type_=_DEGREES), bindparam("north", type_=_DEGREES)
    west, east = bindparam("west", type_=_DEGREES), bindparam("east", type_=_DEGREES)
    conditions: list[ColumnElement[bool]] = [Location.latitude.between(south, north)]
    if spread is Spread.RANGE:
        conditions.append(Location.longitude.between(west, east))
    elif spread is Spread.WRAPPED:
        conditions.append(or_(Location.longitude >= west, Location.longitude <= east))
    return conditions


def box_params(box: Box) -> dict[str, Any]:
    params: dict[str, Any] = {"south": box.south, "north": box.north}
    if box.spread is not Spread.ALL:
        params.update(west=box.west, east=box.east)
    return params
