"""Every query of analytics: state periods, planned downtime, sessions and sales of a range."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    Cdr,
    CdrKind,
    ChargingSession,
    ChargingStation,
    Evse,
    Location,
    PlannedDowntime,
    RegistrationStatus,
    StationStatePeriod,
)
from voltlane.monitoring.schemas import DowntimeRow, StationOption


class AnalyticsRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def stations_with_sites(self) -> list[Any]:
        """Stations in service with their site and EVSE count, by site then station id."""
        rows = await self.db_session.execute(
            select(
                ChargingStation.id,
                ChargingStation.station_id,
                Location.id,
                Location.name,
                func.count(Evse.id),
            )
            .join(Location, Location.id == ChargingStation.location_id)
            .outerjoin(Evse, Evse.charging_station_id == ChargingStation.id)
            .where(ChargingStation.registration_status == RegistrationStatus.ACCEPTED)
            .group_by(ChargingStation.id, Location.id)
            .order_by(Location.name, ChargingStation.station_id)
        )
        return list(rows.all())

    async def periods_between(self, start: datetime, end: datetime) -> list[Any]:
        """State periods overlapping [start, end): (station, state, from, to); a current
        period reaches to its last sighting."""
        until = func.coalesce(StationStatePeriod.ended_at, StationStatePeriod.last_seen_at)
        rows = await self.db_session.execute(
            select(
                StationStatePeriod.charging_station_id,
                StationStatePeriod.state,
                StationStatePeriod.started_at,
                until,
            ).where(StationStatePeriod.started_at < end, until > start)
        )
        return list(rows.all())

    async def downtimes_between(self, start: datetime, end: datetime) -> list[Any]:
        rows = await self.db_session.execute(
            select(
                PlannedDowntime.charging_station_id,
                PlannedDowntime.starts_at,
                PlannedDowntime.ends_at,
            ).where(PlannedDowntime.starts_at < end, PlannedDowntime.ends_at > start)
        )
        return list(rows.all())

    async def sessions_between(self, start: datetime, end: datetime) -> list[Any]:
        """Sessions charging at some time in [start, end): (station, from, to or None)."""
        rows = await self.db_session.execute(
            select(
                ChargingSession.charging_station_id,
                ChargingSession.started_at,
                ChargingSession.stopped_at,
            ).where(
                ChargingSession.started_at.is_not(None),
                ChargingSession.started_at < end,
                func.coalesce(ChargingSession.stopped_at, end) > start,
            )
        )
        return list(rows.all())

    async def sales_by(
        self, column: str, start: datetime, end: datetime, currency: str
    ) -> list[Any]:
        """CDRs that started in [start, end) summed per station or per segment: sessions
        (a credit takes one back), energy and net revenue."""
        group = Cdr.charging_station_id if column == "station" else Cdr.segment
        sign = case((Cdr.kind == CdrKind.CREDIT, -1), else_=1)
        rows = await self.db_session.execute(
            select(
                group,
                func.sum(sign),
                func.sum(Cdr.total_energy_kwh),
                func.sum(Cdr.total_excl_vat),
            )
            .where(
                Cdr.start_date_time >= start,
                Cdr.start_date_time < end,
                Cdr.currency == currency,
            )
            .group_by(group)
            .order_by(group)
        )
        return list(rows.all())

    async def sales_by_day(
        self, start: datetime, end: datetime, currency: str, timezone: str
    ) -> list[Any]:
        """CDRs that started in [start, end) summed per day of ``timezone``."""
        day = func.to_char(func.timezone(timezone, Cdr.start_date_time), "YYYY-MM-DD")
        sign = case((Cdr.kind == CdrKind.CREDIT, -1), else_=1)
        rows = await self.db_session.execute(
            select(
                day, func.sum(sign), func.sum(Cdr.total_energy_kwh), func.sum(Cdr.total_excl_vat)
            )
            .where(
                Cdr.start_date_time >= start,
                Cdr.start_date_time < end,
                Cdr.currency == currency,
            )
            .group_by(day)
            .order_by(day)
        )
        return list(rows.all())

    async def downtimes(self, *, limit: int, offset: int) -> list[DowntimeRow]:
        rows = await self.db_session.execute(
            select(
                PlannedDowntime.id,
                ChargingStation.station_id,
                PlannedDowntime.starts_at,
                PlannedDowntime.ends_at,
                PlannedDowntime.reason,
                PlannedDowntime.created_by,
            )
            .join(ChargingStation, ChargingStation.id == PlannedDowntime.charging_station_id)
            .order_by(PlannedDowntime.starts_at.desc(), PlannedDowntime.id)
            .limit(limit)
            .offset(offset)
        )
        return [DowntimeRow(*row) for row in rows.all()]

    async def downtime(self, downtime_id: uuid.UUID) -> PlannedDowntime | None:
        return await self.db_session.get(PlannedDowntime, downtime_id)

    async def delete(self, row: Any) -> None:
        await self.db_session.delete(row)

    async def station_options(self) -> list[StationOption]:
        rows = await self.db_session.execute(
            select(ChargingStation.id, ChargingStation.station_id)
            .where(ChargingStation.location_id.is_not(None))
            .order_by(ChargingStation.station_id)
        )
        return [StationOption(*row) for row in rows.all()]

    async def station_exists(self, station_pk: uuid.UUID) -> bool:
        return (
            await self.db_session.scalar(
                select(ChargingStation.id).where(
                    ChargingStation.id == station_pk, ChargingStation.location_id.is_not(None)
                )
            )
        ) is not None

    def add(self, row: Any) -> None:
        self.db_session.add(row)

    async def flush(self) -> None:
        await self.db_session.flush()
