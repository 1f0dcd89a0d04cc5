"""A session's external limit: the most an outside party (a roaming partner, through its
charging profile) lets one session draw, and how it takes effect.

The limit is kept in neutral terms (``session_limits``): a unit (``A`` per phase, or ``W``
in total), periods ``(start offset in seconds, limit)``, an optional absolute start (else
the periods count from the start of the session), an optional duration (else the last
period holds to the end) and the car's minimum rate. Nothing here knows who set it.

How it takes effect (limit_effect.py):

- **An EVSE in a site.** The rebalancing pass caps the session's demand at the limit in
  force *now* (``cap_a``), converted to amperes per phase with the site's nominal voltage
  and the phases the car draws on; a cap below the site's minimum pauses the car (the
  allocator never gives less than the minimum). The site is rebalanced at once, and the
  TxProfile the pass sends is what the station answers. Later periods take effect at the
  site's next passes.
- **An EVSE in no site.** The station is sent a TxProfile carrying the whole schedule as
  given (unit, periods, start, duration, and the car's minimum rate as the schedule's
  ``minChargingRate``), with the id smart charging gives TxProfiles
  (``7_200_000 + EVSE id``), so a new limit replaces the previous one.

Clearing removes the row, then rebalances the site or clears that TxProfile. A limit dies
with its session (the sweep deletes those of ended sessions).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.models.tenant import (
    AllocationStatus,
    ChargingAllocation,
    ChargingSession,
    ProfileSupport,
    SessionLimit,
    SessionStatus,
    StationProfileSupport,
)
from voltlane.smart_charging import profiles
from voltlane.station import typed_commands as tc

_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class ExternalLimit:
    """A limit in neutral terms (see the module)."""

    unit: str  # "A" per phase or "W" in total
    periods: tuple[tuple[int, Decimal], ...]
    starts_at: datetime | None = None
    duration_s: int | None = None
    min_rate: Decimal | None = None


async def set_limit(db_session: AsyncSession, session_id: uuid.UUID, limit: ExternalLimit) -> None:
    """Store (or replace) the session's external limit."""
    values = {
        "unit": limit.unit,
        "periods": [[start, str(value)] for start, value in limit.periods],
        "starts_at": limit.starts_at,
        "duration_s": limit.duration_s,
        "min_rate": limit.min_rate,
        "set_at": utcnow(),
    }
    await db_session.execute(
        insert(SessionLimit)
        .values(session_id=session_id, **values)
        .on_conflict_do_update(index_elements=[SessionLimit.session_id], set_=values)
    )


async def clear_limit(db_session: AsyncSession, session_id: uuid.UUID) -> bool:
    """Remove the session's external limit; False when it had none."""
    gone = await db_session.scalar(
        delete(SessionLimit)
        .where(SessionLimit.session_id == session_id)
        .returning(SessionLimit.session_id)
    )
    return gone is not None


async def takes_no_profiles(db_session: AsyncSession, session_id: uuid.UUID) -> bool:
    """The session's station answered that it has no charging profiles (NotSupported or
    NotImplemented, as smart charging last saw): a limit cannot reach it."""
    status = await db_session.scalar(
        select(StationProfileSupport.status)
        .join(
            ChargingSession,
            ChargingSession.charging_station_id == StationProfileSupport.charging_station_id,
        )
        .where(ChargingSession.id == session_id)
    )
    return status is ProfileSupport.UNSUPPORTED


def _limit_of(row: SessionLimit) -> ExternalLimit:
    return ExternalLimit(
        row.unit,
        tuple((int(start), Decimal(str(value))) for start, value in row.periods),
        row.starts_at,
        row.duration_s,
        row.min_rate,
    )


async def read_limit(db_session: AsyncSession, session_id: uuid.UUID) -> ExternalLimit | None:
    """The session's external limit, if one is set."""
    row = await db_session.get(SessionLimit, session_id)
    return None if row is None else _limit_of(row)


async def limits_of(
    db_session: AsyncSession, session_ids: list[uuid.UUID]
) -> dict[uuid.UUID, ExternalLimit]:
    """The external limits of those sessions that have one."""
    rows = await db_session.scalars(
        select(SessionLimit).where(SessionLimit.session_id.in_(session_ids))
    )
    return {row.session_id: _limit_of(row) for row in rows}


def in_force(limit: ExternalLimit, started_at: datetime | None, now: datetime) -> Decimal | None:
    """The limit (in its unit) in force at ``now``; None before its start or after its
    duration. A relative limit counts from the start of the session (from now when the
    session has no start time, or one in the future: a station's clock that runs ahead
    must not hold the limit off)."""
    origin = limit.starts_at or min(started_at or now, now)
    if now < origin:
        return None
    elapsed = (now - origin).total_seconds()
    if limit.duration_s is not None and elapsed >= limit.duration_s:
        return None
    found = None
    for start, value in limit.periods:
        if start <= elapsed:
            found = value
    return found


def amperes(value: Decimal, unit: str, phases: int, voltage_v: int) -> Decimal:
    """A limit as amperes per phase, rounded down to 0.1 A: W are shared over the phases
    at ``voltage_v`` line to neutral (OCPI's rule: power / (voltage x phases))."""
    if unit == "A":
        return value.quantize(_TENTH, rounding=ROUND_FLOOR)
    return (value / (voltage_v * phases)).quantize(_TENTH, rounding=ROUND_FLOOR)


def cap_a(
    limit: ExternalLimit | None,
    started_at: datetime | None,
    now: datetime,
    *,
    phases: int,
    voltage_v: int,
) -> Decimal | None:
    """The most per phase the session may be given now under its limit (None: no cap)."""
    if limit is None:
        return None
    value = in_force(limit, started_at, now)
    return None if value is None else amperes(value, limit.unit, phases, voltage_v)


def schedule_profile(
    evse_id: int, transaction_id: str, limit: ExternalLimit
) -> tc.SetChargingProfile:
    """The TxProfile that carries the whole schedule, and the car's minimum rate, to a
    station in no site."""
    return tc.SetChargingProfile(
        evse_id=evse_id,
        profile_id=profiles.tx_profile_id(evse_id),
        stack_level=profiles.STACK_LEVEL,
        purpose="TxProfile",
        kind="Absolute" if limit.starts_at is not None else "Relative",
        rate_unit="A" if limit.unit == "A" else "W",
        periods=tuple(tc.SchedulePeriod(start, float(value)) for start, value in limit.periods),
        start_schedule=limit.starts_at,
        duration=limit.duration_s,
        transaction_id=transaction_id,
        min_charging_rate=None if limit.min_rate is None else float(limit.min_rate),
    )


async def forget_ended(db_session: AsyncSession) -> int:
    """Delete the limits of sessions that ended; how many."""
    ended = select(ChargingSession.id).where(ChargingSession.status != SessionStatus.ACTIVE)
    gone = await db_session.scalars(
        delete(SessionLimit)
        .where(SessionLimit.session_id.in_(ended))
        .returning(SessionLimit.session_id)
    )
    return len(list(gone))


@dataclass(frozen=True, slots=True)
class LimitInForce:
    """The limit a station last accepted for a session that has an external limit."""

    session_id: uuid.UUID
    limit_a: Decimal  # per phase
    phases: int
    decided_at: datetime


async def limits_in_force(db_session: AsyncSession) -> list[LimitInForce]:
    """For each active session with an external limit and an allocation its station
    accepted, the last such allocation (what the car may draw now)."""
    rows = await db_session.execute(
        select(
            ChargingAllocation.session_id,
            ChargingAllocation.limit_a,
            ChargingAllocation.phases,
            ChargingAllocation.decided_at,
        )
        .join(SessionLimit, SessionLimit.session_id == ChargingAllocation.session_id)
        .join(ChargingSession, ChargingSession.id == ChargingAllocation.session_id)
        .where(
            ChargingSession.status == SessionStatus.ACTIVE,
            ChargingAllocation.status == AllocationStatus.ACCEPTED,
        )
        .order_by(ChargingAllocation.session_id, ChargingAllocation.decided_at.desc())
        .ext(distinct_on(ChargingAllocation.session_id))
    )
    return [LimitInForce(*row) for row in rows]
