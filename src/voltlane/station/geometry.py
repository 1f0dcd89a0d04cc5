"""Distances on the Earth for the station search, computed in the database without PostGIS:
the exact great-circle distance (haversine) and the bounding box of a circle, on the indexed
latitude and longitude of ``Location``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Float, cast, func, literal, or_

from voltlane.models.tenant import Location

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
_BOX_MARGIN = 1e-7  # degrees: the stored precision, so float rounding never drops an edge


@dataclass(frozen=True, slots=True)
class Position:
    latitude: Decimal
    longitude: Decimal


def distance_m(position: Position) -> ColumnElement[float]:
    """Great-circle distance in metres from ``position`` (haversine, in the database)."""
    lat0 = math.radians(float(position.latitude))
    lat = func.radians(cast(Location.latitude, Float))
    lon = func.radians(cast(Location.longitude, Float))
    half_dlat = (lat - lat0) / 2
    half_dlon = (lon - math.radians(float(position.longitude))) / 2
    a = func.power(func.sin(half_dlat), 2) + math.cos(lat0) * func.cos(lat) * func.power(
        func.sin(half_dlon), 2
    )
    return 2 * EARTH_RADIUS_M * func.asin(func.sqrt(func.least(literal(1.0), a)))


def bounding_box(position: Position, radius_km: float) -> list[ColumnElement[bool]]:
    """Latitude and longitude bounds of every point within ``radius_km`` (bounding
    coordinates on a sphere; the longitude range may wrap around 180 degrees)."""
    angle = radius_km * 1000 / EARTH_RADIUS_M
    lat0, lon0 = float(position.latitude), float(position.longitude)
    south = lat0 - math.degrees(angle) - _BOX_MARGIN
    north = lat0 + math.degrees(angle) + _BOX_MARGIN
    bounds: list[ColumnElement[bool]] = [
        Location.latitude.between(Decimal(f"{south:.7f}"), Decimal(f"{north:.7f}"))
    ]
    if south <= -90 or north >= 90 or math.sin(angle) >= math.cos(math.radians(lat0)):
        return bounds  # the circle holds a pole: every longitude
    spread = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(lat0))))
    west, east = lon0 - spread - _BOX_MARGIN, lon0 + spread + _BOX_MARGIN
    low, high = Decimal(f"{west:.7f}"), Decimal(f"{east:.7f}")
    if west < -180:
        bounds.append(or_(Location.longitude >= low + 360, Location.longitude <= high))
    elif east > 180:
        bounds.append(or_(Location.longitude >= low, Location.longitude <= high - 360))
    else:
        bounds.append(Location.longitude.between(low, high))
    return bounds
