"""The session history staff read: lists with filters, one session, its meter curves.

Curves are derived from the stored meter samples the same way the session's energy is:
energy counts from the session's baseline register reading, never from zero.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.charging.energy import REGISTER, Reading, session_energy, to_wh
from voltlane.charging.history_repository import (
    POWER,
    CurveSample,
    SessionFilter,
    SessionHistoryRepository,
    SessionRow,
)
from voltlane.core.errors import NotFoundError
from voltlane.models.tenant import StationCommand

__all__ = [
    "MeterCurves",
    "SessionFilter",
    "SessionNotFoundError",
    "SessionRow",
    "get_session",
    "list_sessions",
    "meter_curves",
    "session_meter",
    "stop_commands",
]

_KILO = Decimal(1000)
_POWER_UNITS = {"w": Decimal(1), "kw": _KILO}


class SessionNotFoundError(NotFoundError):
    title = "Session not found"


@dataclass(frozen=True, slots=True)
class MeterCurves:
    """A session's energy (kWh since its start) and power (kW) over time.

    ``power_measured`` says whether power comes from the charger's power readings or, when
    it sent none, from the energy delivered between two register readings.
    """

    energy_kwh: list[tuple[datetime, Decimal]]
    power_kw: list[tuple[datetime, Decimal]]
    power_measured: bool
    signed_samples: int

    @property
    def last_power_kw(self) -> Decimal | None:
        return self.power_kw[-1][1] if self.power_kw else None


async def list_sessions(
    db_session: AsyncSession, where: SessionFilter, *, limit: int, offset: int
) -> list[SessionRow]:
    """Sessions matching ``where``: running ones first, then by latest start."""
    return await SessionHistoryRepository(db_session).sessions(where, limit=limit, offset=offset)


async def get_session(db_session: AsyncSession, session_id: uuid.UUID) -> SessionRow:
    """One session of the brand; SessionNotFoundError when the brand has no such session."""
    found = await SessionHistoryRepository(db_session).session(session_id)
    if found is None:
        raise SessionNotFoundError(f"No session {session_id}.")
    return found


def meter_curves(
    samples: list[CurveSample],
    *,
    meter_start_wh: Decimal | None,
    started_at: datetime | None,
    signed_samples: int = 0,
) -> MeterCurves:
    """Energy and power curves from a session's readings (pure)."""
    registers: dict[datetime, Decimal] = {}
    measured: list[tuple[datetime, Decimal]] = []
    for sample in samples:
        if sample.measurand == REGISTER:
            wh = to_wh(sample.value, sample.unit)
            if wh is not None:
                registers[sample.at] = wh
        elif sample.measurand == POWER:
            factor = _POWER_UNITS.get((sample.unit or "W").lower())
            if factor is not None:
                measured.append((sample.at, sample.value * factor / _KILO))
    baseline = session_energy(
        [Reading(at, wh) for at, wh in registers.items()],
        meter_start_wh=meter_start_wh,
        started_at=started_at,
        max_power_w=None,
    ).baseline_wh
    energy: list[tuple[datetime, Decimal]] = []
    delivered = Decimal(0)
    for at in sorted(registers):
        if started_at is not None and at < started_at:
            continue
        # Jitter below an earlier reading is not energy given back.
        delivered = max(delivered, registers[at] - (baseline or Decimal(0)))
        energy.append((at, delivered / _KILO))
    if measured:
        return MeterCurves(energy, measured, power_measured=True, signed_samples=signed_samples)
    derived: list[tuple[datetime, Decimal]] = []
    for (before, kwh_before), (at, kwh) in itertools.pairwise(energy):
        hours = Decimal((at - before).total_seconds()) / Decimal(3600)
        if hours > 0:
            derived.append((at, ((kwh - kwh_before) / hours).quantize(Decimal("0.001"))))
    return MeterCurves(energy, derived, power_measured=False, signed_samples=signed_samples)


async def session_meter(db_session: AsyncSession, session: SessionRow) -> MeterCurves:
    """The meter curves of a session and how many of its samples are signed."""
    repo = SessionHistoryRepository(db_session)
    return meter_curves(
        await repo.curve_samples(session.id),
        meter_start_wh=session.meter_start_wh,
        started_at=session.started_at,
        signed_samples=await repo.signed_sample_count(session.id),
    )


async def stop_commands(db_session: AsyncSession, session: SessionRow) -> list[StationCommand]:
    """The remote stops sent for a session, newest first, with their results."""
    return await SessionHistoryRepository(db_session).stop_commands(
        session.station_pk, session.transaction_id
    )
