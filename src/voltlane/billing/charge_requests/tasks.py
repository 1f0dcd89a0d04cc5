"""Jobs of charge requests: a sweep that keeps every brand's requests moving even when no
driver has the app open (linking sessions, failing starts nobody plugged in for, releasing
their holds), and the hold guard that stops a charge before it costs more than its hold."""

from __future__ import annotations

import logging

from voltlane.billing.charge_requests.guard import charges_past_their_hold, guard_holds
from voltlane.billing.charge_requests.sessions import check_requests
from voltlane.billing.charge_requests.starts import PLUG_IN_TIMEOUT
from voltlane.billing.jobs import brand_info, for_each_brand
from voltlane.billing.providers import PaymentProvider, PaymentsNotConfiguredError, provider_for
from voltlane.core.clock import utcnow
from voltlane.core.notify import NotificationHub
from voltlane.station.commands import RESULTS_CHANNEL, DatabaseStationCommands
from voltlane.worker import JobContext, task
from voltlane.worker.schedule import every

log = logging.getLogger(__name__)

SWEEP = "billing.charge_request_sweep"
CHECK = "billing.check_charge_requests"
# Well inside the time a driver has to plug in: a start nobody plugged in for ends (and
# its hold is released) at most a quarter of that time late.
SWEEP_EVERY = PLUG_IN_TIMEOUT / 4


@task(SWEEP, queue="billing", max_retries=3)
async def sweep(jobs: JobContext) -> None:
    """Every SWEEP_EVERY (30 seconds): each active brand checks its open charge requests
    and guards its charges on holds (one job per brand for both)."""
    await for_each_brand(jobs, CHECK)


@task(CHECK, queue="billing", max_retries=5)
async def check(jobs: JobContext, *, tenant: str) -> None:
    """One brand's open charge requests (idempotent: a request moves once per step)."""
    brand = await brand_info(jobs, tenant)
    provider: PaymentProvider | None
    try:
        provider = provider_for(brand)
    except PaymentsNotConfiguredError:
        provider = None  # no request of this brand holds money on a card
    counts = await check_requests(jobs.database, tenant, provider=provider)
    if any(counts.values()):
        log.info("charge requests checked", extra={"tenant": tenant, **counts})
    await guard(jobs, tenant=tenant)


async def guard(jobs: JobContext, *, tenant: str) -> None:
    """Stop the brand's charges whose cost reached their hold (the next sweep retries)."""
    now = utcnow()
    due = await charges_past_their_hold(jobs.database, tenant, now)
    if not due:
        return
    hub = NotificationHub(jobs.database.url)
    await hub.start([RESULTS_CHANNEL])
    try:
        commands = DatabaseStationCommands(jobs.database, hub, secret_key=jobs.settings.secret_key)
        await guard_holds(jobs.database, tenant, due, commands=commands, now=now)
    finally:
        await hub.stop()


every(SWEEP, SWEEP_EVERY)
