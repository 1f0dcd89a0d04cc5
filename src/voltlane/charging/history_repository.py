"""Queries of the session history that staff read: lists, one session, its meter samples."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.charging.energy import REGISTER
from voltlane.models.tenant import (
    SIGNED_SAMPLE,
    ChargingSession,
    ChargingStation,
    IdToken,
    Location,
    MeterSample,
    SessionStatus,
    StationCommand,
)

POWER = "Power.Active.Import"
# The actions a remote stop becomes: OCPP 1.6 and OCPP 2.x.
STOP_ACTIONS = ("RemoteStopTransaction", "RequestStopTransaction")


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """Which sessions a list shows; None leaves a criterion out. Times are UTC bounds on
    the start: ``started_from`` inclusive, ``started_before`` exclusive."""

    status: SessionStatus | None = None
    station_id: str | None = None
    id_token: str | None = None
    started_from: datetime | None = None
    started_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A charging session as staff see it: where, who (the card and its driver), how much."""

    id: uuid.UUID
    transaction_id: str
    status: SessionStatus
    protocol: str
    station_pk: uuid.UUID
    station_id: str
    location_name: str | None
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    id_token_type: str | None
    driver_name: str | None
    started_at: datetime | None
    stopped_at: datetime | None
    stop_reason: str | None
    meter_start_wh: Decimal | None
    energy_wh: Decimal | None
    energy_review: str | None
    charging_state: str | None
    offline: bool
    remote_start_id: int | None
    stop_id_token: str | None
    stop_id_token_type: str | None


@dataclass(frozen=True, slots=True)
class CurveSample:
    """An energy-register or power reading of a session (phase totals only)."""

    at: datetime
    measurand: str
    unit: str | None
    value: Decimal


def _driver_name() -> Any:
    """The driver named on the session's card (the card of that type when the type is
    known), as a correlated subquery."""
    return (
        select(IdToken.driver_name)
        .where(
            IdToken.id_token == ChargingSession.id_token,
            or_(
                ChargingSession.id_token_type.is_(None),
                IdToken.type == ChargingSession.id_token_type,
            ),
        )
        .order_by(IdToken.created_at)
        .limit(1)
        .scalar_subquery()
    )


def _rows() -> Select[*tuple[Any, ...]]:
    return (
        select(
            ChargingSession.id,
            ChargingSession.transaction_id,
            ChargingSession.status,
            ChargingSession.protocol,
            ChargingSession.charging_station_id,
            ChargingStation.station_id,
            Location.name,
            ChargingSession.evse_id,
            ChargingSession.connector_id,
            ChargingSession.id_token,
            ChargingSession.id_token_type,
            _driver_name(),
            ChargingSession.started_at,
            ChargingSession.stopped_at,
            ChargingSession.stop_reason,
            ChargingSession.meter_start_wh,
            ChargingSession.energy_wh,
            ChargingSession.energy_review,
            ChargingSession.charging_state,
            ChargingSession.offline,
            ChargingSession.remote_start_id,
            ChargingSession.stop_id_token,
            ChargingSession.stop_id_token_type,
        )
        .join(ChargingStation, ChargingStation.id == ChargingSession.charging_station_id)
        .outerjoin(Location, Location.id == ChargingStation.location_id)
    )


def _row(values: Any) -> SessionRow:
    return SessionRow(*values)


class SessionHistoryRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def sessions(self, where: SessionFilter, *, limit: int, offset: int) -> list[SessionRow]:
        """Sessions matching ``where``, the latest start first (running ones on top)."""
        stmt = _rows()
        if where.status is not None:
            stmt = stmt.where(ChargingSession.status == where.status)
        if where.station_id is not None:
            stmt = stmt.where(func.lower(ChargingStation.station_id) == where.station_id.lower())
        if where.id_token is not None:
            stmt = stmt.where(func.upper(ChargingSession.id_token) == where.id_token.upper())
        if where.started_from is not None:
            stmt = stmt.where(ChargingSession.started_at >= where.started_from)
        if where.started_before is not None:
            stmt = stmt.where(ChargingSession.started_at < where.started_before)
        stmt = stmt.order_by(
            (ChargingSession.status == SessionStatus.ACTIVE).desc(),
            ChargingSession.started_at.desc().nulls_last(),
            ChargingSession.seq.desc(),
        )
        rows = await self.db_session.execute(stmt.limit(limit).offset(offset))
        return [_row(r) for r in rows]

    async def session(self, session_id: uuid.UUID) -> SessionRow | None:
        row = (
            await self.db_session.execute(_rows().where(ChargingSession.id == session_id))
        ).first()
        return _row(row) if row is not None else None

    async def curve_samples(self, session_id: uuid.UUID) -> list[CurveSample]:
        """Energy-register and power readings of a session (no per-phase values), by time."""
        rows = await self.db_session.execute(
            select(
                MeterSample.sampled_at, MeterSample.measurand, MeterSample.unit, MeterSample.value
            )
            .where(
                MeterSample.session_id == session_id,
                MeterSample.measurand.in_([REGISTER, POWER]),
                MeterSample.phase.is_(None),
                MeterSample.value.is_not(None),
            )
            .order_by(MeterSample.sampled_at, MeterSample.id)
        )
        return [CurveSample(r[0], r[1], r[2], Decimal(str(r[3]))) for r in rows]

    async def signed_sample_count(self, session_id: uuid.UUID) -> int:
        """How many of the session's samples carry signed meter data."""
        found = await self.db_session.scalar(
            select(func.count())
            .select_from(MeterSample)
            .where(
                MeterSample.session_id == session_id,
                SIGNED_SAMPLE,
            )
        )
        return int(found or 0)

    async def stop_commands(
        self, station_pk: uuid.UUID, transaction_id: str
    ) -> list[StationCommand]:
        """The remote stops sent for a station's transaction, newest first."""
        return list(
            await self.db_session.scalars(
                select(StationCommand)
                .where(
                    StationCommand.charging_station_id == station_pk,
                    StationCommand.action.in_(STOP_ACTIONS),
                    StationCommand.payload["transactionId"].astext == transaction_id,
                )
                .order_by(StationCommand.created_at.desc())
            )
        )
