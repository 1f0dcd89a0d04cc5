"""Live charging sessions of one connected station, kept in memory by its connection.

Periodic meter values are the bulk of what stations send. With the session's register
readings at hand, a MeterValues costs one batched insert (and an energy update when the
figure moved) instead of a round of queries. The connection is the only writer of its
station's sessions; anything it does not hold (an unknown transaction, a start or a stop)
goes through :mod:`voltlane.charging.service`, which reads the database.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.charging.energy import REGISTER, Reading, session_energy, to_wh
from voltlane.charging.repository import ChargingRepository
from voltlane.charging.schemas import Sample, StationRef
from voltlane.core.group_commit import RowSet, Statement, insert_rows, rows_of
from voltlane.models.tenant import (
    ChargingSession,
    MeterSample,
    SessionStatus,
    TransactionEventRecord,
)

Writes = list[tuple[Statement, list[dict[str, Any]]]]

SAMPLE_COLUMNS = (
    "session_id",
    "charging_station_id",
    "evse_id",
    "sampled_at",
    "measurand",
    "phase",
    "location",
    "context",
    "unit",
    "value",
    "signed_data",
)
# Statements are module constants: the group commit merges equal statements.
INSERT_SAMPLES = RowSet(insert_rows(MeterSample, *SAMPLE_COLUMNS).on_conflict_do_nothing())
_MOVED = rows_of(
    "moved",
    b_id=ChargingSession.id.type,
    b_energy=ChargingSession.energy_wh.type,
    b_review=ChargingSession.energy_review.type,
    b_seq=ChargingSession.last_seq_no.type,
    b_state=ChargingSession.charging_state.type,
)
UPDATE_SESSION = RowSet(
    update(ChargingSession)
    .where(ChargingSession.id == _MOVED.c.b_id)
    .values(
        energy_wh=_MOVED.c.b_energy,
        energy_review=_MOVED.c.b_review,
        last_seq_no=_MOVED.c.b_seq,
        charging_state=_MOVED.c.b_state,
        updated_at=func.now(),
    )
)
INSERT_EVENT = insert(TransactionEventRecord).on_conflict_do_nothing()


@dataclass(slots=True)
class LiveSession:
    pk: uuid.UUID
    transaction_id: str
    evse_id: int | None
    meter_start_wh: Decimal | None
    started_at: datetime | None
    max_power_w: int | None
    readings: dict[datetime, Decimal] = field(default_factory=dict)
    energy_wh: Decimal | None = None
    energy_review: str | None = None
    last_seq_no: int | None = None
    charging_state: str | None = None


@dataclass(slots=True)
class Change:
    """What a message does to a live session, applied to memory once committed."""

    session: LiveSession
    readings: dict[datetime, Decimal]
    energy_wh: Decimal | None
    energy_review: str | None
    last_seq_no: int | None
    charging_state: str | None

    def apply(self) -> None:
        self.session.readings.update(self.readings)
        self.session.energy_wh = self.energy_wh
        self.session.energy_review = self.energy_review
        self.session.last_seq_no = self.last_seq_no
        self.session.charging_state = self.charging_state


class LiveSessions:
    """The active sessions of one station, loaded on first use."""

    def __init__(self, station: StationRef) -> None:
        self.station = station
        self._sessions: dict[str, LiveSession] = {}
        self._evses: dict[int, tuple[uuid.UUID, int | None] | None] = {}

    async def evse(
        self, db_session: AsyncSession, evse_id: int
    ) -> tuple[uuid.UUID, int | None] | None:
        """The EVSE (primary key, largest connector power in W), read once per connection."""
        if evse_id not in self._evses:
            self._evses[evse_id] = await ChargingRepository(db_session).evse(
                self.station.pk, evse_id
            )
        return self._evses[evse_id]

    def hold(self, live: LiveSession) -> None:
        """Keep a session this connection just started."""
        self._sessions[live.transaction_id] = live

    def held(self, transaction_id: str) -> LiveSession | None:
        """The session of ``transaction_id`` if it is held already (no query)."""
        return self._sessions.get(transaction_id)

    async def get(self, db_session: AsyncSession, transaction_id: str) -> LiveSession | None:
        """The active session of ``transaction_id``, or None (unknown or finished)."""
        live = self._sessions.get(transaction_id)
        if live is not None:
            return live
        repo = ChargingRepository(db_session)
        found = await repo.session_by_transaction(self.station.pk, transaction_id)
        if found is None or found.status is not SessionStatus.ACTIVE:
            return None
        evse = await self.evse(db_session, found.evse_id) if found.evse_id else None
        readings: dict[datetime, Decimal] = {}
        for at, value, unit in await repo.register_readings(found.id):
            wh = to_wh(Decimal(value), unit)
            if wh is not None:
                readings[at] = wh
        live = LiveSession(
            pk=found.id,
            transaction_id=transaction_id,
            evse_id=found.evse_id,
            meter_start_wh=found.meter_start_wh,
            started_at=found.started_at,
            max_power_w=evse[1] if evse else None,
            readings=readings,
            energy_wh=found.energy_wh,
            energy_review=found.energy_review,
            last_seq_no=found.last_seq_no,
            charging_state=found.charging_state,
        )
        self._sessions[transaction_id] = live
        return live

    def clear(self) -> None:
        """Sessions may have changed elsewhere: read them afresh next time."""
        self._sessions.clear()

    def drop(self, transaction_id: str) -> None:
        self._sessions.pop(transaction_id, None)


def sample_rows(
    station: StationRef, evse_id: int, session_id: uuid.UUID | None, samples: list[Sample]
) -> list[dict[str, Any]]:
    return [
        {
            "session_id": session_id,
            "charging_station_id": station.pk,
            "evse_id": evse_id,
            "sampled_at": s.sampled_at,
            "measurand": s.measurand,
            "phase": s.phase,
            "location": s.location,
            "context": s.context,
            "unit": s.unit,
            "value": s.value,
            "signed_data": s.signed_data,
        }
        for s in samples
    ]


def meter_writes(
    station: StationRef,
    live: LiveSession,
    samples: list[Sample],
    *,
    seq_no: int | None = None,
    charging_state: str | None = None,
) -> tuple[Writes, Change]:
    """The rows one message adds to a live session, and the change to apply after commit."""
    new = {
        s.sampled_at: wh
        for s in samples
        if s.measurand == REGISTER and s.phase is None and s.value is not None
        for wh in [to_wh(s.value, s.unit)]
        if wh is not None
    }
    readings = {**live.readings, **new}
    result = session_energy(
        [Reading(at, wh) for at, wh in readings.items()],
        meter_start_wh=live.meter_start_wh,
        started_at=live.started_at,
        max_power_w=live.max_power_w,
    )
    last_seq, state = live.last_seq_no, live.charging_state
    if seq_no is not None and (last_seq is None or seq_no >= last_seq):
        last_seq = seq_no
        state = charging_state or state
    change = Change(live, new, result.energy_wh, result.review, last_seq, state)
    writes: Writes = [(INSERT_SAMPLES, sample_rows(station, live.evse_id or 0, live.pk, samples))]
    moved = (
        result.energy_wh != live.energy_wh
        or result.review != live.energy_review
        or last_seq != live.last_seq_no
        or state != live.charging_state
    )
    if moved:
        writes.append(
            (
                UPDATE_SESSION,
                [
                    {
                        "b_id": live.pk,
                        "b_energy": result.energy_wh,
                        "b_review": result.review,
                        "b_seq": last_seq,
                        "b_state": state,
                    }
                ],
            )
        )
    return writes, change


def event_row(
    station: StationRef,
    live: LiveSession,
    *,
    seq_no: int,
    event_type: str,
    trigger_reason: str,
    timestamp: datetime,
    offline: bool,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """A TransactionEvent kept once per seqNo (its reply is the empty object)."""
    return {
        "charging_station_id": station.pk,
        "session_id": live.pk,
        "transaction_id": live.transaction_id,
        "seq_no": seq_no,
        "event_type": event_type,
        "trigger_reason": trigger_reason,
        "timestamp": timestamp,
        "offline": offline,
        "payload": payload,
        "response": {},
    }
