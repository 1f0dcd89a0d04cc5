"""Jobs of monitoring: detection every minute in every brand, webhook deliveries."""

from __future__ import annotations

import uuid
from datetime import timedelta

from voltlane.billing.jobs import brand_info, for_each_brand
from voltlane.monitoring.delivery import DELIVER_WEBHOOK_TASK, send_webhook
from voltlane.monitoring.service import detect
from voltlane.worker import JobContext, task
from voltlane.worker.schedule import every

DETECT = "monitoring.detect"
DETECT_BRAND = "monitoring.detect_brand"
DETECT_EVERY = timedelta(minutes=1)


@task(DETECT, queue="monitoring", max_retries=0, time_limit_ms=60_000)
async def detect_everywhere(jobs: JobContext) -> None:
    """Every minute: one detection pass per active brand."""
    await for_each_brand(jobs, DETECT_BRAND)


# No retries: the next pass a minute later sees the network as it is then.
@task(DETECT_BRAND, queue="monitoring", max_retries=0, time_limit_ms=60_000)
async def detect_brand(jobs: JobContext, *, tenant: str) -> None:
    """Record the brand's station states, open and resolve its alerts."""
    brand = await brand_info(jobs, tenant)
    async with jobs.database.tenant_transaction(tenant) as db_session:
        await detect(db_session, brand)


@task(DELIVER_WEBHOOK_TASK, queue="monitoring", max_retries=12, max_backoff_ms=60 * 60 * 1000)
async def deliver_webhook(jobs: JobContext, *, tenant: str, alert_id: str, event: str) -> None:
    """POST one alert event to the rule's webhook; retried with backoff until it is taken."""
    brand = await brand_info(jobs, tenant)
    async with jobs.database.tenant_session(tenant) as db_session:
        await send_webhook(
            db_session,
            brand,
            uuid.UUID(alert_id),
            event,
            private_addresses=jobs.settings.webhook_private_addresses,
        )


every(DETECT, DETECT_EVERY)
