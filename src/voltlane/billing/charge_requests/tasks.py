"""Jobs of charge requests: a sweep that keeps every brand's requests moving even when no
driver has the app open (linking sessions, failing starts nobody plugged in for, releasing
their holds)."""

from __future__ import annotations

import logging

from voltlane.billing.charge_requests.sessions import check_requests
from voltlane.billing.charge_requests.starts import PLUG_IN_TIMEOUT
from voltlane.billing.jobs import brand_info, for_each_brand
from voltlane.billing.providers import PaymentProvider, PaymentsNotConfiguredError, provider_for
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
    """Every SWEEP_EVERY (30 seconds): each active brand checks its open charge requests."""
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


every(SWEEP, SWEEP_EVERY)
