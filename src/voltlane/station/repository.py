"""Every query of the station domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import distinct, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import ChargingStation, Connector, Evse, Location
from voltlane.station.schemas import LocationCard, NetworkCounts, StationRow


class StationRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def location_by_name(self, name: str) -> Location | None:
        return await self.db_session.scalar(select(Location).where(Location.name == name))

    async def station_by_identity(self, station_id: str) -> ChargingStation | None:
        return await self.db_session.scalar(
            select(ChargingStation).where(ChargingStation.station_id == station_id)
        )

    async def station_for_update(self, pk: uuid.UUID) -> ChargingStation:
        station = await self.db_session.get(ChargingStation, pk, with_for_update=True)
        if station is None:
            raise LookupError(f"charging station {pk} is gone")
        return station

    async def update_connector_status(
        self,
        station_pk: uuid.UUID,
        evse_id: int,
        connector_id: int,
        *,
        status: str,
        at: datetime,
        error_code: str | None,
    ) -> bool:
        """Set the status unless a newer report is already stored; True when it changed."""
        evse_pk = (
            select(Evse.id)
            .where(Evse.charging_station_id == station_pk, Evse.evse_id == evse_id)
            .scalar_subquery()
        )
        result = await self.db_session.execute(
            update(Connector)
            .where(
                Connector.evse_pk == evse_pk,
                Connector.connector_id == connector_id,
                or_(Connector.status_at.is_(None), Connector.status_at <= at),
            )
            .values(status=status, status_at=at, error_code=error_code)
        )
        return bool(getattr(result, "rowcount", 0))

    async def counts(self) -> NetworkCounts:
        row = (
            await self.db_session.execute(
                select(
                    select(func.count()).select_from(Location).scalar_subquery(),
                    select(func.count()).select_from(ChargingStation).scalar_subquery(),
                    select(func.count()).select_from(Evse).scalar_subquery(),
                    select(func.count()).select_from(Connector).scalar_subquery(),
                )
            )
        ).one()
        return NetworkCounts(*(int(v) for v in row))

    async def stations(self, *, limit: int, offset: int) -> list[StationRow]:
        rows = await self.db_session.execute(
            select(
                ChargingStation.id,
                ChargingStation.station_id,
                Location.name,
                Location.city,
                ChargingStation.vendor,
                ChargingStation.model,
                ChargingStation.protocol,
                ChargingStation.security_profile,
                ChargingStation.registration_status,
                func.count(distinct(Evse.id)),
                func.count(Connector.id),
                func.max(Connector.max_electric_power),
            )
            .join(Location, Location.id == ChargingStation.location_id)
            .outerjoin(Evse, Evse.charging_station_id == ChargingStation.id)
            .outerjoin(Connector, Connector.evse_pk == Evse.id)
            .group_by(ChargingStation.id, Location.id)
            .order_by(ChargingStation.station_id)
            .limit(limit)
            .offset(offset)
        )
        return [
            StationRow(
                id=r[0],
                station_id=r[1],
                location_name=r[2],
                city=r[3],
                vendor=r[4],
                model=r[5],
                protocol=r[6],
                security_profile=r[7],
                registration_status=str(r[8]),
                evse_count=int(r[9]),
                connector_count=int(r[10]),
                max_power_w=r[11],
            )
            for r in rows
        ]

    async def published_locations(self, *, limit: int, offset: int) -> list[LocationCard]:
        rows = await self.db_session.execute(
            select(
                Location.id,
                Location.name,
                Location.address,
                Location.postal_code,
                Location.city,
                Location.latitude,
                Location.longitude,
                func.count(distinct(Evse.id)),
                func.array_agg(distinct(Connector.standard)),
                func.max(Connector.max_electric_power),
                Location.opening_hours["twentyfourseven"].as_boolean(),
            )
            .join(ChargingStation, ChargingStation.location_id == Location.id)
            .join(Evse, Evse.charging_station_id == ChargingStation.id)
            .join(Connector, Connector.evse_pk == Evse.id)
            .where(Location.publish.is_(True))
            .group_by(Location.id)
            .order_by(Location.name)
            .limit(limit)
            .offset(offset)
        )
        return [
            LocationCard(
                id=r[0],
                name=r[1],
                address=r[2],
                postal_code=r[3],
                city=r[4],
                latitude=r[5],
                longitude=r[6],
                evse_count=int(r[7]),
                standards=tuple(sorted(str(s) for s in r[8] if s is not None)),
                max_power_w=r[9],
                twentyfourseven=bool(r[10]),
            )
            for r in rows
        ]
