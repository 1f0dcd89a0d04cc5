"""Jobs of smart charging: the rebalancing pass of a site, and the sweep that runs it.

The sweep runs every 15 seconds (the scheduler's tick): each brand's sites with EVSEs get a
pass, which sends nothing when nothing changed. A session that starts or ends is picked
up by the next sweep rather than by a hook in the OCPP hot path (as ocpi/roaming_pushes.py
explains for pushes): the TxDefaultProfile every EVSE of a site carries holds a new car at
the minimum until then, and a car that leaves only frees current.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

from sqlalchemy import select

from voltlane.billing.jobs import for_each_brand
from voltlane.core.notify import NotificationHub
from voltlane.models.tenant import Evse, Site, SiteEvse, SiteMode, StationProfileSupport
from voltlane.smart_charging.loop import rebalance, release_station
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


@task(SWEEP, queue="smart_charging", max_retries=0, time_limit_ms=60_000)
async def sweep(jobs: JobContext) -> None:
    await for_each_brand(jobs, SWEEP_BRAND)


@task(SWEEP_BRAND, queue="smart_charging", max_retries=0, time_limit_ms=60_000)
async def sweep_brand(jobs: JobContext, *, tenant: str) -> None:
    """A pass for each of the brand's sites (grid connections) with an EVSE in its tree,
    and a release for each station that took defaults and is in no site any more."""
    async with jobs.database.tenant_transaction(tenant) as db_session:
        sites = (await db_session.execute(select(Site.id, Site.parent_id, Site.mode))).all()
        with_evses = set(await db_session.scalars(select(SiteEvse.site_id).distinct()))
        parent = {site_id: parent_id for site_id, parent_id, _ in sites}
        roots = set()
        for wired in with_evses:
            node: uuid.UUID | None = wired
            while node is not None and parent.get(node) is not None:
                node = parent[node]
            roots.add(node)
        for site_id, parent_id, mode in sites:
            if site_id in roots and parent_id is None and mode is not SiteMode.OFF:
                enqueue(db_session, REBALANCE, tenant=tenant, site_id=str(site_id))
        in_sites = select(Evse.charging_station_id).join(SiteEvse, SiteEvse.evse_pk == Evse.id)
        for station_pk in await db_session.scalars(
            select(StationProfileSupport.charging_station_id).where(
                StationProfileSupport.charging_station_id.not_in(in_sites)
            )
        ):
            enqueue(db_session, RELEASE, tenant=tenant, station_pk=str(station_pk))


every(SWEEP, SWEEP_EVERY)
