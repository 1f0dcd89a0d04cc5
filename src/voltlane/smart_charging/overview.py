"""What the API and the portal show of a site: its EVSEs, latest readings, the available
current now, each active session's allocated limit beside what it measures, stations that
refuse profiles and the last profiles sent. Read-only; every query is here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import Result, Select, func, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    ChargingAllocation,
    ChargingSession,
    ChargingStation,
    Evse,
    MeterSample,
    ProfileSupport,
    SessionStatus,
    Site,
    SiteEvse,
    SiteReading,
    SiteSchedule,
    StationProfileSupport,
)
from voltlane.smart_charging.repository import SmartChargingRepository
from voltlane.smart_charging.sites import allocator_nodes, get_site

# Measurands a live view shows beside a session's limit.
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
LAST_PROFILES = 20
# How far back a live view draws each session's limits and measured current.
HISTORY = timedelta(minutes=30)


@dataclass(frozen=True)
class SiteEvseView:
    evse_pk: uuid.UUID
    station_id: str
    evse_id: int
    priority: int
    max_current_a: Decimal | None
    phases: str


@dataclass(frozen=True)
class ReadingView:
    kind: str
    per_phase_a: tuple[Decimal, Decimal, Decimal]
    soc_percent: Decimal | None
    measured_at: datetime
    stale: bool


@dataclass(frozen=True)
class AllocationView:
    session_id: uuid.UUID
    station_id: str
    evse_id: int | None
    limit_a: Decimal
    phases: int
    status: str
    decided_at: datetime
    # OCPP 2.1 V2X: the most the car may feed back, per phase (None: no discharge).
    discharge_limit_a: Decimal | None = None
    # Latest samples of the session (None: none reported yet).
    power_w: Decimal | None = None
    current_a: Decimal | None = None


@dataclass(frozen=True)
class StationFlag:
    station_id: str
    status: str
    # Stored as "<profile purpose>: <the station's answer>" (loop.py writes it); shown as a
    # sentence in the reader's language from ``profile`` and ``status``.
    reason: str
    fallback_limit_a: Decimal | None
    checked_at: datetime

    @property
    def profile(self) -> str | None:
        """The purpose of the profile the station refused (TxDefaultProfile, TxProfile)."""
        purpose, colon, _ = self.reason.partition(": ")
        return purpose if colon and purpose.isalnum() else None

    @property
    def answer(self) -> str:
        """The station's own answer (Rejected, NotImplemented), untranslated OCPP words."""
        return self.reason.partition(": ")[2] if self.profile else self.reason


@dataclass(frozen=True)
class SessionHistory:
    """A session's limits (each one sent, as decided) and measured current (highest phase)
    over the last ``HISTORY``, oldest first."""

    limits: list[tuple[datetime, Decimal]]
    currents: list[tuple[datetime, Decimal]]


@dataclass(frozen=True)
class SiteView:
    site: Site
    evses: list[SiteEvseView]
    readings: list[ReadingView]
    schedules: list[SiteSchedule]
    # Per phase L1..L3, what the site may give its chargers now.
    available_a: tuple[Decimal, Decimal, Decimal]
    allocations: list[AllocationView]
    flags: list[StationFlag]
    profiles: list[AllocationView]
    # By session, what it was allocated and drew over the last ``HISTORY``.
    history: dict[uuid.UUID, SessionHistory] = field(default_factory=dict)

    @property
    def stale(self) -> bool:
        return any(reading.stale for reading in self.readings)


async def list_sites(db_session: AsyncSession) -> list[Site]:
    """Every site and circuit of the brand, by name."""
    return list(await db_session.scalars(select(Site).order_by(Site.name, Site.id)))


async def _evses(db_session: AsyncSession, site_id: uuid.UUID) -> list[SiteEvseView]:
    rows = await db_session.execute(
        select(SiteEvse, ChargingStation.station_id, Evse.evse_id)
        .join(Evse, Evse.id == SiteEvse.evse_pk)
        .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
        .where(SiteEvse.site_id == site_id)
        .order_by(ChargingStation.station_id, Evse.evse_id)
    )
    return [
        SiteEvseView(row.evse_pk, station_id, evse_id, row.priority, row.max_current_a, row.phases)
        for row, station_id, evse_id in rows
    ]


def _reading(row: SiteReading, stale_after: timedelta, now: datetime) -> ReadingView:
    return ReadingView(
        kind=str(row.kind),
        per_phase_a=(row.l1_a, row.l2_a, row.l3_a),
        soc_percent=row.soc_percent,
        measured_at=row.measured_at,
        stale=now - row.measured_at > stale_after,
    )


def _allocation_query() -> Select[ChargingAllocation, str, int | None]:
    return (
        select(ChargingAllocation, ChargingStation.station_id, ChargingSession.evse_id)
        .join(ChargingSession, ChargingSession.id == ChargingAllocation.session_id)
        .join(ChargingStation, ChargingStation.id == ChargingSession.charging_station_id)
    )


def _allocation(
    row: ChargingAllocation, station_id: str, evse_id: int | None, samples: dict[str, Decimal]
) -> AllocationView:
    return AllocationView(
        session_id=row.session_id,
        station_id=station_id,
        evse_id=evse_id,
        limit_a=row.limit_a,
        phases=row.phases,
        status=str(row.status),
        decided_at=row.decided_at,
        discharge_limit_a=row.discharge_limit_a,
        power_w=samples.get(POWER),
        current_a=samples.get(CURRENT),
    )


async def _latest_samples(
    db_session: AsyncSession, session_ids: list[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Decimal]]:
    """Per session, the latest power (W, all phases) and current (A, highest phase)."""
    if not session_ids:
        return {}
    rows: Result[uuid.UUID, str, str | None, Decimal, str | None] = await db_session.execute(
        select(
            MeterSample.session_id,
            MeterSample.measurand,
            MeterSample.phase,
            MeterSample.value,
            MeterSample.unit,
        )
        .ext(distinct_on(MeterSample.session_id, MeterSample.measurand, MeterSample.phase))
        .where(
            MeterSample.session_id.in_(session_ids),
            MeterSample.measurand.in_([POWER, CURRENT]),
            MeterSample.value.is_not(None),
        )
        .order_by(
            MeterSample.session_id,
            MeterSample.measurand,
            MeterSample.phase,
            MeterSample.sampled_at.desc(),
        )
    )
    found: dict[uuid.UUID, dict[str, Decimal]] = {}
    power_phases: dict[uuid.UUID, Decimal] = {}
    for session_id, measurand, phase, value, unit in rows:
        if measurand == POWER:
            watts = value * 1000 if unit == "kW" else value
            if phase is None:
                found.setdefault(session_id, {})[POWER] = watts
            else:
                power_phases[session_id] = power_phases.get(session_id, Decimal(0)) + watts
        else:
            known = found.setdefault(session_id, {})
            known[CURRENT] = max(known.get(CURRENT, value), value)
    for session_id, watts in power_phases.items():
        found.setdefault(session_id, {}).setdefault(POWER, watts)
    return found


async def site_view(db_session: AsyncSession, site_id: uuid.UUID, *, now: datetime) -> SiteView:
    """Everything a live view of the site shows, as of ``now`` (``SiteNotFoundError``)."""
    site = await get_site(db_session, site_id)
    stale_after = timedelta(seconds=site.stale_after_s)
    readings = list(
        await db_session.scalars(
            select(SiteReading).where(SiteReading.site_id == site.id).order_by(SiteReading.kind)
        )
    )
    schedules = list(
        await db_session.scalars(
            select(SiteSchedule)
            .where(SiteSchedule.site_id == site.id)
            .order_by(SiteSchedule.starts_at, SiteSchedule.id)
        )
    )
    available = await _available(db_session, site, readings, schedules, now)
    current = (
        _allocation_query()
        .ext(distinct_on(ChargingAllocation.session_id))
        .where(
            ChargingAllocation.site_id == site.id,
            ChargingSession.status == SessionStatus.ACTIVE,
        )
        .order_by(ChargingAllocation.session_id, ChargingAllocation.decided_at.desc())
    )
    active = list(await db_session.execute(current))
    samples = await _latest_samples(db_session, [row.session_id for row, _, _ in active])
    allocations = sorted(
        (_allocation(row, sid, eid, samples.get(row.session_id, {})) for row, sid, eid in active),
        key=lambda a: (a.station_id, a.evse_id or 0),
    )
    recent = await db_session.execute(
        _allocation_query()
        .where(ChargingAllocation.site_id == site.id)
        .order_by(ChargingAllocation.decided_at.desc(), ChargingAllocation.id)
        .limit(LAST_PROFILES)
    )
    flags = await db_session.execute(
        select(StationProfileSupport, ChargingStation.station_id)
        .join(ChargingStation, ChargingStation.id == StationProfileSupport.charging_station_id)
        .join(Evse, Evse.charging_station_id == ChargingStation.id)
        .join(SiteEvse, SiteEvse.evse_pk == Evse.id)
        .where(
            SiteEvse.site_id == site.id,
            StationProfileSupport.status.in_([ProfileSupport.REJECTED, ProfileSupport.UNSUPPORTED]),
        )
        .distinct()
        .order_by(ChargingStation.station_id)
    )
    return SiteView(
        site=site,
        evses=await _evses(db_session, site.id),
        readings=[_reading(row, stale_after, now) for row in readings],
        schedules=schedules,
        available_a=available,
        allocations=allocations,
        flags=[
            StationFlag(
                station_id, str(row.status), row.reason, row.fallback_limit_a, row.checked_at
            )
            for row, station_id in flags
        ],
        profiles=[_allocation(row, sid, eid, {}) for row, sid, eid in recent],
        history=await _history(db_session, [a.session_id for a in allocations], now),
    )


async def _available(
    db_session: AsyncSession,
    site: Site,
    readings: list[SiteReading],
    schedules: list[SiteSchedule],
    now: datetime,
) -> tuple[Decimal, Decimal, Decimal]:
    """Per phase, the least any node from the site up to its grid connection has now: a
    circuit never has more than the circuits above it leave."""
    above = [
        i for i in await SmartChargingRepository(db_session).ancestor_ids(site.id) if i != site.id
    ]
    parents = list(await db_session.scalars(select(Site).where(Site.id.in_(above))))
    ids = [p.id for p in parents]
    parent_readings = await db_session.scalars(
        select(SiteReading).where(SiteReading.site_id.in_(ids))
    )
    parent_schedules = await db_session.scalars(
        select(SiteSchedule).where(SiteSchedule.site_id.in_(ids))
    )
    nodes = allocator_nodes(
        [site, *parents],
        [*readings, *parent_readings],
        [*schedules, *parent_schedules],
        now=now,
    )
    l1, l2, l3 = zip(*(node.available_a for node in nodes), strict=True)
    return (min(l1), min(l2), min(l3))


async def _history(
    db_session: AsyncSession, session_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, SessionHistory]:
    """Each session's limits and measured current over the last ``HISTORY``."""
    if not session_ids:
        return {}
    since = now - HISTORY
    found = {session_id: SessionHistory([], []) for session_id in session_ids}
    for row in await db_session.scalars(
        select(ChargingAllocation)
        .where(
            ChargingAllocation.session_id.in_(session_ids),
            ChargingAllocation.decided_at >= since,
        )
        .order_by(ChargingAllocation.decided_at, ChargingAllocation.id)
    ):
        found[row.session_id].limits.append((row.decided_at, row.limit_a))
    currents = await db_session.execute(
        select(MeterSample.session_id, MeterSample.sampled_at, func.max(MeterSample.value))
        .where(
            MeterSample.session_id.in_(session_ids),
            MeterSample.measurand == CURRENT,
            MeterSample.value.is_not(None),
            MeterSample.sampled_at >= since,
        )
        .group_by(MeterSample.session_id, MeterSample.sampled_at)
        .order_by(MeterSample.session_id, MeterSample.sampled_at)
    )
    for session_id, sampled_at, value in currents:
        if session_id is not None and value is not None:
            found[session_id].currents.append((sampled_at, value))
    return found


async def evse_choices(db_session: AsyncSession) -> list[tuple[uuid.UUID, str, int]]:
    """Every EVSE of the brand as (id, station id, EVSE number), for an assignment form."""
    rows = await db_session.execute(
        select(Evse.id, ChargingStation.station_id, Evse.evse_id)
        .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
        .order_by(ChargingStation.station_id, Evse.evse_id)
    )
    return [(pk, station_id, evse_id) for pk, station_id, evse_id in rows]
