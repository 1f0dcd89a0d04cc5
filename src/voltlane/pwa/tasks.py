"""Jobs of the driver app: web push notifications about charges started from the app.

Every minute ``pwa.notify`` fans out one ``pwa.notify_brand`` per active brand, which finds
the events due (charging finished, idle fee soon) and enqueues ``pwa.send_push`` for each
after its transaction commits. ``pwa.send_push`` is idempotent per (session, event).
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from voltlane.billing.jobs import brand_info, for_each_brand
from voltlane.core.clock import utcnow
from voltlane.pwa.push_events import due_events, send_event
from voltlane.pwa.push_keys import private_endpoints_allowed, vapid_keys
from voltlane.worker import JobContext, enqueue, task
from voltlane.worker.schedule import every

NOTIFY = "pwa.notify"
NOTIFY_BRAND = "pwa.notify_brand"
SEND_PUSH = "pwa.send_push"
NOTIFY_EVERY = timedelta(minutes=1)


@task(NOTIFY, queue="pwa", max_retries=0, time_limit_ms=60_000)
async def notify_everywhere(jobs: JobContext) -> None:
    """Every minute: one pass per active brand (none when notifications are off)."""
    if vapid_keys(jobs.settings) is not None:
        await for_each_brand(jobs, NOTIFY_BRAND)


# No retries: the next pass a minute later finds whatever is still due.
@task(NOTIFY_BRAND, queue="pwa", max_retries=0, time_limit_ms=60_000)
async def notify_brand(jobs: JobContext, *, tenant: str) -> None:
    """Enqueue a ``pwa.send_push`` for every event of the brand that is due now."""
    await brand_info(jobs, tenant)
    async with jobs.database.tenant_transaction(tenant) as db_session:
        for session_id, event in await due_events(db_session, utcnow()):
            enqueue(db_session, SEND_PUSH, tenant=tenant, session_id=str(session_id), event=event)


@task(SEND_PUSH, queue="pwa", max_retries=3, time_limit_ms=120_000)
async def send_push(jobs: JobContext, *, tenant: str, session_id: str, event: str) -> None:
    """Send one event of a charge to its subscribed browsers, once."""
    keys = vapid_keys(jobs.settings)
    if keys is None:
        return
    brand = await brand_info(jobs, tenant)
    async with jobs.database.tenant_transaction(tenant) as db_session:
        await send_event(
            db_session,
            brand,
            uuid.UUID(session_id),
            event,
            keys,
            now=utcnow(),
            private_endpoints=private_endpoints_allowed(),
        )


every(NOTIFY, NOTIFY_EVERY)
