"""Every query of monitoring: rules, alerts, station state history, usage figures."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import distinct, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from voltlane.charging.energy import REGISTER
from voltlane.models.tenant import (
    Alert,
    AlertKind,
    AlertRule,
    AlertStatus,
    Cdr,
    ChargingSession,
    ChargingStation,
    Connector,
    Evse,
    MeterSample,
    RegistrationStatus,
    SessionStatus,
    StationEvent,
    StationState,
    StationStatePeriod,
)

# Station notifications that raise a security alert (certificate housekeeping does not).
SECURITY_ACTIONS = ("AuthenticationFailed", "SecurityEventNotification")
FAULTED = "Faulted"
LIVE = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class MonitoringRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    # -- rules and alerts ------------------------------------------------------------

    async def lock_detection(self, tenant_key: str) -> None:
        """Serialise detection runs of one brand until the transaction ends."""
        await self.db_session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
            {"key": f"monitoring.detect:{tenant_key}"},
        )

    async def rules(self) -> list[AlertRule]:
        return list(await self.db_session.scalars(select(AlertRule)))

    async def rule(self, kind: AlertKind, *, for_update: bool = False) -> AlertRule | None:
        stmt = select(AlertRule).where(AlertRule.kind == kind)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt)

    async def live_alerts(self) -> list[Alert]:
        return list(await self.db_session.scalars(select(Alert).where(Alert.status.in_(LIVE))))

    async def alert(self, alert_id: uuid.UUID, *, for_update: bool = False) -> Alert | None:
        stmt = select(Alert).where(Alert.id == alert_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt)

    async def alerts(
        self, status: AlertStatus | None, kind: AlertKind | None, *, limit: int, offset: int
    ) -> list[Alert]:
        stmt = select(Alert)
        if status is not None:
            stmt = stmt.where(Alert.status == status)
        if kind is not None:
            stmt = stmt.where(Alert.kind == kind)
        # Alerts opened by one detection pass: by station, then by what they are about.
        stmt = stmt.order_by(Alert.opened_at.desc(), Alert.station_id, Alert.condition_key)
        stmt = stmt.limit(limit).offset(offset)
        return list(await self.db_session.scalars(stmt))

    async def count_alerts(self, status: AlertStatus) -> int:
        return int(
            await self.db_session.scalar(
                select(func.count()).select_from(Alert).where(Alert.status == status)
            )
            or 0
        )

    def add(self, row: Any) -> None:
        self.db_session.add(row)

    # -- what detection looks at -----------------------------------------------------

    async def roster(self) -> list[tuple[uuid.UUID, str, datetime]]:
        """Stations in service: accepted and placed at a location (pk, id, created)."""
        rows = await self.db_session.execute(
            select(ChargingStation.id, ChargingStation.station_id, ChargingStation.created_at)
            .where(
                ChargingStation.registration_status == RegistrationStatus.ACCEPTED,
                ChargingStation.location_id.is_not(None),
            )
            .order_by(ChargingStation.station_id)
        )
        return [(pk, station_id, created) for pk, station_id, created in rows.all()]

    async def faulted_connectors(self) -> list[Any]:
        """Connectors whose last status is Faulted, with their station and since when."""
        rows = await self.db_session.execute(
            select(
                Connector.id,
                ChargingStation.id,
                ChargingStation.station_id,
                Evse.evse_id,
                Connector.connector_id,
                Connector.error_code,
                Connector.status_at,
                Connector.updated_at,
            )
            .join(Evse, Evse.id == Connector.evse_pk)
            .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
            .where(
                Connector.status == FAULTED,
                ChargingStation.registration_status == RegistrationStatus.ACCEPTED,
            )
            .order_by(ChargingStation.station_id, Evse.evse_id, Connector.connector_id)
        )
        return list(rows.all())

    async def stuck_sessions(self, started_before: datetime, quiet_since: datetime) -> list[Any]:
        """Active sessions older than ``started_before`` whose energy register has not risen
        since ``quiet_since`` (no reading after it above the highest reading before it)."""
        earlier = aliased(MeterSample)
        before = (
            select(func.max(earlier.value))
            .where(
                earlier.session_id == ChargingSession.id,
                earlier.measurand == REGISTER,
                earlier.sampled_at <= quiet_since,
            )
            .correlate(ChargingSession)
            .scalar_subquery()
        )
        progress = (
            select(MeterSample.id)
            .where(
                MeterSample.session_id == ChargingSession.id,
                MeterSample.measurand == REGISTER,
                MeterSample.sampled_at > quiet_since,
                MeterSample.value > func.coalesce(before, -1),
            )
            .exists()
        )
        rows = await self.db_session.execute(
            select(
                ChargingSession.id,
                ChargingStation.id,
                ChargingStation.station_id,
                ChargingSession.transaction_id,
                ChargingSession.started_at,
            )
            .join(ChargingStation, ChargingStation.id == ChargingSession.charging_station_id)
            .where(
                ChargingSession.status == SessionStatus.ACTIVE,
                ChargingSession.started_at <= started_before,
                ~progress,
            )
            .order_by(ChargingSession.started_at)
        )
        return list(rows.all())

    async def security_activity(self, since: datetime) -> list[Any]:
        """Per station: security events received after ``since``, the first and the last."""
        latest = aliased(StationEvent)
        last_action = (
            select(latest.action)
            .where(
                latest.charging_station_id == ChargingStation.id,
                latest.kind == "security",
                latest.action.in_(SECURITY_ACTIONS),
            )
            .order_by(latest.received_at.desc(), latest.id.desc())
            .limit(1)
            .correlate(ChargingStation)
            .scalar_subquery()
        )
        rows = await self.db_session.execute(
            select(
                ChargingStation.id,
                ChargingStation.station_id,
                func.count(StationEvent.id),
                func.min(StationEvent.received_at),
                last_action,
            )
            .join(StationEvent, StationEvent.charging_station_id == ChargingStation.id)
            .where(
                StationEvent.kind == "security",
                StationEvent.action.in_(SECURITY_ACTIONS),
                StationEvent.received_at > since,
            )
            .group_by(ChargingStation.id, ChargingStation.station_id)
            .order_by(ChargingStation.station_id)
        )
        return list(rows.all())

    async def current_periods(self) -> list[StationStatePeriod]:
        return list(
            await self.db_session.scalars(
                select(StationStatePeriod).where(StationStatePeriod.ended_at.is_(None))
            )
        )

    async def last_online(self) -> dict[uuid.UUID, datetime]:
        """When each station was last seen online (the end of its last online period)."""
        rows = await self.db_session.execute(
            select(StationStatePeriod.charging_station_id, func.max(StationStatePeriod.ended_at))
            .where(StationStatePeriod.state == StationState.ONLINE)
            .group_by(StationStatePeriod.charging_station_id)
        )
        return {pk: at for pk, at in rows.all() if at is not None}

    async def end_period(self, period_id: uuid.UUID, at: datetime) -> None:
        await self.db_session.execute(
            update(StationStatePeriod).where(StationStatePeriod.id == period_id).values(ended_at=at)
        )

    async def seen(self, period_ids: Sequence[uuid.UUID], at: datetime) -> None:
        if period_ids:
            await self.db_session.execute(
                update(StationStatePeriod)
                .where(StationStatePeriod.id.in_(period_ids))
                .values(last_seen_at=at)
            )

    # -- the dashboard -----------------------------------------------------------------

    async def stations_charging(self) -> int:
        return int(
            await self.db_session.scalar(
                select(func.count(distinct(ChargingSession.charging_station_id))).where(
                    ChargingSession.status == SessionStatus.ACTIVE
                )
            )
            or 0
        )

    async def stations_faulted(self) -> int:
        return int(
            await self.db_session.scalar(
                select(func.count(distinct(Evse.charging_station_id)))
                .join(Connector, Connector.evse_pk == Evse.id)
                .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
                .where(
                    Connector.status == FAULTED,
                    ChargingStation.registration_status == RegistrationStatus.ACCEPTED,
                    ChargingStation.location_id.is_not(None),
                )
            )
            or 0
        )

    async def cdr_totals(
        self, start: datetime, end: datetime, currency: str
    ) -> tuple[Decimal, int]:
        """Energy (kWh) and net revenue of CDRs that ended in [start, end); credits count
        negative, so a corrected session counts once."""
        row = (
            await self.db_session.execute(
                select(
                    func.coalesce(func.sum(Cdr.total_energy_kwh), 0),
                    func.coalesce(func.sum(Cdr.total_excl_vat), 0),
                ).where(
                    Cdr.end_date_time >= start,
                    Cdr.end_date_time < end,
                    Cdr.currency == currency,
                )
            )
        ).one()
        return Decimal(row[0]), int(row[1])

    async def flush(self) -> None:
        await self.db_session.flush()
