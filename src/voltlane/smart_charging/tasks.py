"""Jobs of smart charging: the rebalancing pass of a site, and the sweep that runs it.

The sweep runs every 15 seconds (the scheduler's tick) and is the loop's only clock. A site
(grid connection) with EVSEs gets a pass on the first tick after each multiple of its
``allocation_period_s`` (so a 60 s site is passed every fourth tick, a 5 s site on every
tick), and on any tick where something waits for it: a session of its EVSEs with no
allocation yet, an ended one whose profile was not cleared, or a station that has not
taken its defaults since it booted (or since the site's minimum changed). A session that
starts or ends is thus picked up by the next sweep rather than by a hook in the OCPP hot
path (as ocpi/roaming_pushes.py explains for pushes): the TxDefaultProfile every EVSE of
a site carries holds a new car at the minimum until then, and a car that leaves only frees
current.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import aliased

from voltlane.billing.jobs import for_each_brand
from voltlane.core.clock import utcnow
from voltlane.core.notify import NotificationHub
from voltlane.models.tenant import (
    AllocationStatus,
    ChargingAllocation,
    ChargingSession,
    ChargingStation,
    Evse,
    EvseProfileRelease,
    ProfileSupport,
    SessionStatus,
    Site,
    SiteEvse,
    SiteMode,
    StationProfileSupport,
)
from voltlane.smart_charging.loop import rebalance, release_evse, release_station
from voltlane.smart_charging.profiles import connected
from voltlane.smart_charging.session_limits import forget_ended
from voltlane.smart_charging.sites import RELEASE_EVSE
from voltlane.station.commands import RESULTS_CHANNEL, DatabaseStationCommands
from voltlane.worker import JobContext, enqueue, task
from voltlane.worker.schedule import every

REBALANCE = "smart_charging.rebalance"
RELEASE = "smart_charging.release_station"
SWEEP = "smart_charging.sweep"
SWEEP_BRAND = "smart_charging.sweep_brand"
SWEEP_EVERY = timedelta(seconds=15)


@contextlib.asynccontextmanager
async def station_commands(jobs: JobContext) -> AsyncIterator[DatabaseStationCommands]:
    """The command path for one job (its own LISTEN for results)."""
    hub = NotificationHub(jobs.database.url)
    await hub.start([RESULTS_CHANNEL])
    try:
        yield DatabaseStationCommands(jobs.database, hub, secret_key=jobs.settings.secret_key)
    finally:
        await hub.stop()


@task(REBALANCE, queue="smart_charging", max_retries=0, time_limit_ms=120_000)
async def rebalance_site(jobs: JobContext, *, tenant: str, site_id: str) -> None:
    """One pass over a site (idempotent: a pass sends only what changed)."""
    async with station_commands(jobs) as commands:
        await rebalance(jobs.database, commands, tenant, uuid.UUID(site_id))


@task(RELEASE, queue="smart_charging", max_retries=0, time_limit_ms=120_000)
async def release(jobs: JobContext, *, tenant: str, station_pk: str) -> None:
    """Take the defaults off a station that left every site (idempotent)."""
    async with station_commands(jobs) as commands:
        await release_station(jobs.database, commands, tenant, uuid.UUID(station_pk))


@task(RELEASE_EVSE, queue="smart_charging", max_retries=0, time_limit_ms=60_000)
async def release_one_evse(jobs: JobContext, *, tenant: str, evse_pk: str) -> None:
    """Clear the default of an EVSE that left its site (idempotent)."""
    async with station_commands(jobs) as commands:
        await release_evse(jobs.database, commands, tenant, uuid.UUID(evse_pk))


@task(SWEEP, queue="smart_charging", max_retries=0, time_limit_ms=60_000)
async def sweep(jobs: JobContext) -> None:
    await for_each_brand(jobs, SWEEP_BRAND)


def period_due(period_s: int, now: datetime, tick: timedelta = SWEEP_EVERY) -> bool:
    """A multiple of ``period_s`` (counted from the epoch) fell within the last tick."""
    end = int(now.timestamp())
    return end // period_s != (end - int(tick.total_seconds())) // period_s


def _waiting() -> Select[uuid.UUID]:
    """The sites (as wired) of EVSEs where something waits for a pass: a session with no
    allocation yet, an ended session whose profile was never cleared, a station that has
    not taken its defaults since it booted."""
    allocation = aliased(ChargingAllocation)
    cleared = aliased(ChargingAllocation)
    allocated = select(allocation.id).where(allocation.session_id == ChargingSession.id).exists()
    session_waits = (
        select(ChargingSession.id)
        .where(
            ChargingSession.evse_pk == SiteEvse.evse_pk,
            or_(
                and_(
                    ChargingSession.status == SessionStatus.ACTIVE,
                    ~allocated,
                ),
                and_(
                    ChargingSession.status == SessionStatus.FINISHED,
                    allocated,
                    ~select(cleared.id)
                    .where(
                        cleared.session_id == ChargingSession.id,
                        cleared.status == AllocationStatus.CLEARED,
                    )
                    .exists(),
                ),
            ),
        )
        .exists()
    )
    station_waits = (
        select(ChargingStation.id)
        .join(Evse, Evse.charging_station_id == ChargingStation.id)
        .outerjoin(
            StationProfileSupport,
            StationProfileSupport.charging_station_id == ChargingStation.id,
        )
        .where(
            Evse.id == SiteEvse.evse_pk,
            or_(
                StationProfileSupport.charging_station_id.is_(None),
                StationProfileSupport.status == ProfileSupport.UNKNOWN,
                StationProfileSupport.checked_at < ChargingStation.last_boot_at,
            ),
        )
        .exists()
    )
    return select(SiteEvse.site_id).where(or_(session_waits, station_waits)).distinct()


@task(SWEEP_BRAND, queue="smart_charging", max_retries=0, time_limit_ms=60_000)
async def sweep_brand(jobs: JobContext, *, tenant: str) -> None:
    """A pass for each of the brand's sites (grid connections) with an EVSE in its tree
    whose period came round or for which something waits (see the module), a release for
    each station that took defaults and is in no site any more, and one for each EVSE taken
    out of its site whose station is connected and has not answered the clear yet; outside
    parties' limits of ended sessions are deleted."""
    now = utcnow()
    async with jobs.database.tenant_transaction(tenant) as db_session:
        await forget_ended(db_session)
        sites = (
            await db_session.execute(
                select(Site.id, Site.parent_id, Site.mode, Site.allocation_period_s)
            )
        ).all()
        with_evses = set(await db_session.scalars(select(SiteEvse.site_id).distinct()))
        waiting = set(await db_session.scalars(_waiting()))
        parent = {site_id: parent_id for site_id, parent_id, _, _ in sites}

        def root_of(node: uuid.UUID | None) -> uuid.UUID | None:
            while node is not None and parent.get(node) is not None:
                node = parent[node]
            return node

        roots = {root_of(wired) for wired in with_evses}
        urgent = {root_of(wired) for wired in waiting}
        for site_id, parent_id, mode, period_s in sites:
            if site_id not in roots or parent_id is not None or mode is SiteMode.OFF:
                continue
            if site_id in urgent or period_due(period_s, now):
                enqueue(db_session, REBALANCE, tenant=tenant, site_id=str(site_id))
        in_sites = select(Evse.charging_station_id).join(SiteEvse, SiteEvse.evse_pk == Evse.id)
        for station_pk in await db_session.scalars(
            select(StationProfileSupport.charging_station_id).where(
                StationProfileSupport.charging_station_id.not_in(in_sites)
            )
        ):
            enqueue(db_session, RELEASE, tenant=tenant, station_pk=str(station_pk))
        pending = (
            await db_session.execute(
                select(EvseProfileRelease.evse_pk, ChargingStation.station_id)
                .join(Evse, Evse.id == EvseProfileRelease.evse_pk)
                .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
            )
        ).all()
        online = await connected(jobs.database, tenant, {station_id for _, station_id in pending})
        for evse_pk, station_id in pending:
            if station_id in online:
                enqueue(db_session, RELEASE_EVSE, tenant=tenant, evse_pk=str(evse_pk))


every(SWEEP, SWEEP_EVERY)
