"""Jobs of the locations module: the daily resync of every partner's copy, fanned out per
brand and then per partner (one partner's thousands of PUTs never hold up another's)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from voltlane.billing.jobs import brand_info, for_each_brand
from voltlane.ocpi.resync import partners_to_resync, resync_partner
from voltlane.worker import JobContext, enqueue, task
from voltlane.worker.schedule import every

RESYNC = "ocpi.resync"
RESYNC_BRAND = "ocpi.resync_brand"
RESYNC_PARTNER = "ocpi.resync_partner"
RESYNC_EVERY = timedelta(days=1)


@task(RESYNC, queue="ocpi", max_retries=0, time_limit_ms=60_000)
async def resync(jobs: JobContext) -> None:
    await for_each_brand(jobs, RESYNC_BRAND)


@task(RESYNC_BRAND, queue="ocpi", max_retries=3, time_limit_ms=60_000)
async def resync_brand(jobs: JobContext, *, tenant: str) -> None:
    """A resync job for each partner of the brand that takes location pushes."""
    brand = await brand_info(jobs, tenant)
    partners = await partners_to_resync(jobs.database, brand)
    async with jobs.database.tenant_transaction(tenant) as db_session:
        for partner_id in partners:
            enqueue(db_session, RESYNC_PARTNER, tenant=tenant, partner_id=str(partner_id))


@task(RESYNC_PARTNER, queue="ocpi", max_retries=3, time_limit_ms=30 * 60 * 1000)
async def resync_one_partner(jobs: JobContext, *, tenant: str, partner_id: str) -> None:
    """Every published location to one partner (idempotent: a repeat supersedes the
    PUTs of the first that were not sent yet)."""
    brand = await brand_info(jobs, tenant)
    await resync_partner(jobs.database, brand, uuid.UUID(partner_id))


every(RESYNC, RESYNC_EVERY)
