"""Every query of the locations module: pages of published locations and their EVSEs,
read as plain rows (a page of 1,000 locations must not build ORM objects)."""

from __future__ import annotations

import typing
import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import Select, String, Uuid, any_, cast, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    ChargingStation,
    Connector,
    Evse,
    Location,
    RegistrationStatus,
)


# Plain rows, untracked by the garbage collector (gc=False): a page holds thousands, and
# tracked objects by the thousand set off full collections of the whole process's heap.
class LocationRow(msgspec.Struct, frozen=True, gc=False):
    id: uuid.UUID
    name: str
    address: str
    city: str
    postal_code: str | None
    state: str | None
    country: str
    latitude: Decimal
    longitude: Decimal
    timezone: str
    opening_hours: dict[str, Any]
    publish: bool
    last_updated: datetime


class ConnectorRow(msgspec.Struct, frozen=True, gc=False):
    """A connector with its EVSE; ids as text (uuid objects are tracked, text is not)."""

    location_id: str
    evse_pk: str
    emi3_id: str | None
    physical_reference: str | None
    evse_updated_at: datetime
    connector_pk: str
    connector_id: int
    standard: str
    format: str
    power_type: str
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None
    status: str
    updated_at: datetime


_LOCATION_COLUMNS = (
    Location.id,
    Location.name,
    Location.address,
    Location.city,
    Location.postal_code,
    Location.state,
    Location.country,
    Location.latitude,
    Location.longitude,
    Location.timezone,
    Location.opening_hours,
    Location.publish,
    Location.ocpi_last_updated,
)

_CONNECTOR_COLUMNS = (
    cast(ChargingStation.location_id, String).label("location_id"),
    cast(Evse.id, String).label("evse_pk"),
    Evse.emi3_id,
    Evse.physical_reference,
    Evse.updated_at,
    cast(Connector.id, String).label("connector_pk"),
    Connector.connector_id,
    Connector.standard,
    Connector.format,
    Connector.power_type,
    Connector.max_voltage,
    Connector.max_amperage,
    Connector.max_electric_power,
    Connector.status,
    Connector.updated_at,
)


def _published(date_from: datetime | None, date_to: datetime | None) -> Select[Any]:
    statement = select(*_LOCATION_COLUMNS).where(Location.publish.is_(True))
    if date_from is not None:
        statement = statement.where(Location.ocpi_last_updated >= date_from)
    if date_to is not None:
        statement = statement.where(Location.ocpi_last_updated < date_to)
    return statement


class LocationRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def page(
        self,
        *,
        date_from: datetime | None,
        date_to: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[list[LocationRow], int]:
        """Published locations last updated in [date_from, date_to), in creation order (an
        order that a change during a crawl does not reshuffle), and how many there are."""
        statement = _published(date_from, date_to)
        total = await self.db_session.scalar(
            select(func.count()).select_from(statement.with_only_columns(Location.id).subquery())
        )
        rows = await self.db_session.execute(
            statement.order_by(Location.created_at, Location.id).offset(offset).limit(limit)
        )
        return [LocationRow(*row) for row in rows], int(total or 0)

    async def published(self, location_id: uuid.UUID) -> LocationRow | None:
        row = (
            await self.db_session.execute(_published(None, None).where(Location.id == location_id))
        ).one_or_none()
        return None if row is None else LocationRow(*row)

    async def locations(self, location_ids: Sequence[uuid.UUID]) -> list[LocationRow]:
        """The locations, published or not, in id order."""
        rows = await self.db_session.execute(
            select(*_LOCATION_COLUMNS).where(Location.id.in_(location_ids)).order_by(Location.id)
        )
        return [LocationRow(*row) for row in rows]

    async def published_after(self, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
        """Ids of published locations after ``after``, in id order (a resync's keyset)."""
        statement = select(Location.id).where(Location.publish.is_(True))
        if after is not None:
            statement = statement.where(Location.id > after)
        return list(
            (await self.db_session.scalars(statement.order_by(Location.id).limit(limit))).all()
        )

    async def connectors(self, location_ids: Sequence[uuid.UUID]) -> list[ConnectorRow]:
        """The connectors of the locations' accepted stations, by location, station, EVSE
        and connector number."""
        if not location_ids:
            return []
        rows = await self.db_session.execute(
            select(*_CONNECTOR_COLUMNS)
            .join(Evse, Evse.charging_station_id == ChargingStation.id)
            .join(Connector, Connector.evse_pk == Evse.id)
            .where(
                # One array parameter: a page's 1,000 ids as separate ones cost more to send.
                ChargingStation.location_id == any_(literal(list(location_ids), ARRAY(Uuid()))),
                ChargingStation.registration_status == RegistrationStatus.ACCEPTED,
            )
            .order_by(
                ChargingStation.location_id,
                ChargingStation.station_id,
                Evse.evse_id,
                Connector.connector_id,
            )
        )
        # The join keeps stations with a location: location_id is never None here.
        return [ConnectorRow(*typing.cast(tuple[Any, ...], row)) for row in rows]
