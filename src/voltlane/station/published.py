"""A published location as the driver app's station page shows it: its accepted stations'
EVSEs with their connectors and a live state per EVSE."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from voltlane.models.tenant import ChargingStation, Evse, Location, RegistrationStatus

AVAILABLE = "Available"
_IN_USE = frozenset(
    {"Occupied", "Charging", "Preparing", "SuspendedEV", "SuspendedEVSE", "Finishing"}
)


def evse_roams() -> ColumnElement[bool]:
    """Whether roaming partners are told of an EVSE: only of one with an eMI3 id, since a
    CDR must name its EVSE by that id. Only there is a session reported to a partner (and
    settled with it)."""
    return func.coalesce(Evse.emi3_id, "") != ""


@dataclass(frozen=True, slots=True)
class ConnectorView:
    connector_id: int
    standard: str
    format: str
    power_type: str
    max_power_w: int | None
    status: str


@dataclass(frozen=True, slots=True)
class EvseView:
    """An EVSE as the station page shows it; ``state`` is the driver's word for it."""

    pk: uuid.UUID
    station_id: str
    evse_id: int
    emi3_id: str | None
    physical_reference: str | None
    connectors: tuple[ConnectorView, ...]
    state: str
    connector_pks: tuple[uuid.UUID, ...] = ()

    @property
    def max_power_w(self) -> int | None:
        powers = [c.max_power_w for c in self.connectors if c.max_power_w is not None]
        return max(powers) if powers else None


@dataclass(frozen=True, slots=True)
class LocationDetail:
    id: uuid.UUID
    name: str
    address: str
    postal_code: str | None
    city: str
    country: str
    latitude: Decimal
    longitude: Decimal
    timezone: str
    opening_hours: dict[str, Any]
    evses: tuple[EvseView, ...]


def evse_state(statuses: Sequence[str]) -> str:
    """One word for an EVSE from its connectors' OCPP statuses: available when any connector
    is, else in use, reserved, faulted, unavailable or unknown, in that order."""
    if AVAILABLE in statuses:
        return "available"
    if any(s in _IN_USE for s in statuses):
        return "occupied"
    for status, state in (("Reserved", "reserved"), ("Faulted", "faulted")):
        if status in statuses:
            return state
    if "Unavailable" in statuses:
        return "unavailable"
    return "unknown"


async def published_location(
    db_session: AsyncSession, location_id: uuid.UUID
) -> LocationDetail | None:
    """A published location with its accepted stations' EVSEs and connectors (by station id
    and EVSE number); None when the brand has no such published location."""
    location = await db_session.scalar(
        select(Location)
        .where(Location.id == location_id, Location.publish.is_(True))
        .options(
            selectinload(Location.stations)
            .selectinload(ChargingStation.evses)
            .selectinload(Evse.connectors)
        )
        .execution_options(populate_existing=True)
    )
    if location is None:
        return None
    evses = []
    for station in location.stations:
        if station.registration_status is not RegistrationStatus.ACCEPTED:
            continue
        for evse in station.evses:
            connectors = tuple(
                ConnectorView(
                    connector_id=c.connector_id,
                    standard=str(c.standard),
                    format=str(c.format),
                    power_type=str(c.power_type),
                    max_power_w=c.max_electric_power,
                    status=c.status,
                )
                for c in evse.connectors
            )
            evses.append(
                EvseView(
                    pk=evse.id,
                    station_id=station.station_id,
                    evse_id=evse.evse_id,
                    emi3_id=evse.emi3_id,
                    physical_reference=evse.physical_reference,
                    connectors=connectors,
                    state=evse_state([c.status for c in connectors]),
                    connector_pks=tuple(c.id for c in evse.connectors),
                )
            )
    return LocationDetail(
        id=location.id,
        name=location.name,
        address=location.address,
        postal_code=location.postal_code,
        city=location.city,
        country=location.country,
        latitude=location.latitude,
        longitude=location.longitude,
        timezone=location.timezone,
        opening_hours=dict(location.opening_hours),
        evses=tuple(evses),
    )
