"""The queries behind the operator's tariff pages: tariffs by code, where they apply."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from voltlane.models.tenant import (
    ChargingStation,
    Connector,
    Evse,
    Location,
    TariffAssignment,
    TariffVersion,
)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a tariff can apply: the brand (no ids), a location, an EVSE or a connector."""

    scope: str  # brand | location | evse | connector
    id: uuid.UUID | None
    location: str | None  # the location's name
    station_id: str | None
    evse_id: int | None  # the EVSE's number at its station
    connector_id: int | None

    @property
    def key(self) -> str:
        """The form value naming this place: ``brand`` or ``<scope>:<id>``."""
        return "brand" if self.id is None else f"{self.scope}:{self.id}"


BRAND = Place("brand", None, None, None, None, None)


@dataclass(frozen=True, slots=True)
class AssignedPlace:
    code: str
    assignment_id: uuid.UUID
    place: Place


class TariffRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def codes(self, *, limit: int, offset: int) -> list[str]:
        """Tariff codes in alphabetical order, one page of them."""
        rows = await self.db_session.scalars(
            select(TariffVersion.code)
            .group_by(TariffVersion.code)
            .order_by(TariffVersion.code)
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

    async def versions(self, codes: list[str]) -> list[TariffVersion]:
        """Every version of ``codes``, by code, then in the order they were added."""
        if not codes:
            return []
        rows = await self.db_session.scalars(
            select(TariffVersion)
            .where(TariffVersion.code.in_(codes))
            .order_by(TariffVersion.code, TariffVersion.created_at, TariffVersion.id)
        )
        return list(rows)

    async def assigned_places(self, codes: list[str]) -> list[AssignedPlace]:
        """Where ``codes`` are assigned, each with the names an operator recognises:
        the brand first, then by location, station, EVSE and connector."""
        if not codes:
            return []
        plug_evse = aliased(Evse)
        evse_number = func.coalesce(Evse.evse_id, plug_evse.evse_id)
        station_pk = func.coalesce(Evse.charging_station_id, plug_evse.charging_station_id)
        location_pk = func.coalesce(TariffAssignment.location_id, ChargingStation.location_id)
        stmt = (
            select(
                TariffAssignment.code,
                TariffAssignment.id,
                TariffAssignment.location_id,
                TariffAssignment.evse_pk,
                TariffAssignment.connector_pk,
                Location.name,
                ChargingStation.station_id,
                evse_number,
                Connector.connector_id,
            )
            .outerjoin(Connector, Connector.id == TariffAssignment.connector_pk)
            .outerjoin(plug_evse, plug_evse.id == Connector.evse_pk)
            .outerjoin(Evse, Evse.id == TariffAssignment.evse_pk)
            .outerjoin(ChargingStation, ChargingStation.id == station_pk)
            .outerjoin(Location, Location.id == location_pk)
            .where(TariffAssignment.code.in_(codes))
            .order_by(
                TariffAssignment.code,
                Location.name.nulls_first(),
                ChargingStation.station_id.nulls_first(),
                evse_number.nulls_first(),
                Connector.connector_id.nulls_first(),
            )
        )
        found = []
        for (
            code,
            key,
            location_id,
            evse,
            connector,
            name,
            station_id,
            number,
            plug,
        ) in await self.db_session.execute(stmt):
            if connector is not None:
                place = Place("connector", connector, name, station_id, number, plug)
            elif evse is not None:
                place = Place("evse", evse, name, station_id, number, None)
            elif location_id is not None:
                place = Place("location", location_id, name, None, None, None)
            else:
                place = BRAND
            found.append(AssignedPlace(code, key, place))
        return found

    async def places(self) -> list[Place]:
        """The brand, then every location with its EVSEs and connectors, by name and number."""
        places = [BRAND]
        rows = await self.db_session.execute(
            select(
                Location.id,
                Location.name,
                ChargingStation.station_id,
                Evse.id,
                Evse.evse_id,
                Connector.id,
                Connector.connector_id,
            )
            .outerjoin(ChargingStation, ChargingStation.location_id == Location.id)
            .outerjoin(Evse, Evse.charging_station_id == ChargingStation.id)
            .outerjoin(Connector, Connector.evse_pk == Evse.id)
            .order_by(
                Location.name,
                Location.id,
                ChargingStation.station_id.nulls_first(),
                Evse.evse_id.nulls_first(),
                Connector.connector_id.nulls_first(),
            )
        )
        seen: set[uuid.UUID] = set()
        for location_id, name, station_id, evse_pk, evse_id, connector_pk, connector_id in rows:
            if location_id not in seen:
                seen.add(location_id)
                places.append(Place("location", location_id, name, None, None, None))
            if evse_pk is not None and evse_pk not in seen:
                seen.add(evse_pk)
                places.append(Place("evse", evse_pk, name, station_id, evse_id, None))
            if connector_pk is not None:
                places.append(
                    Place("connector", connector_pk, name, station_id, evse_id, connector_id)
                )
        return places

    async def assignment(self, code: str, assignment_id: uuid.UUID) -> TariffAssignment | None:
        """The assignment ``assignment_id`` of tariff ``code``, if there is one."""
        return await self.db_session.scalar(
            select(TariffAssignment).where(
                TariffAssignment.id == assignment_id, TariffAssignment.code == code
            )
        )

    async def remove_assignment(self, assignment: TariffAssignment) -> None:
        await self.db_session.delete(assignment)
        await self.db_session.flush()
