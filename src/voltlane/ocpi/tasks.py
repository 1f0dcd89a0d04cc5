"""Jobs of OCPI roaming: delivering pushes, and the sweep that picks up retries that
came due, pushes whose first job was lost, and commands whose result was never sent."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select

from voltlane.billing.jobs import brand_info, for_each_brand
from voltlane.core.clock import utcnow
from voltlane.models.tenant import OcpiPartner, OcpiPush, PartnerState, PushState
from voltlane.ocpi.command_tasks import fail_overdue_commands
from voltlane.ocpi.pushes import DELIVER, deliver
from voltlane.worker import JobContext, enqueue, task
from voltlane.worker.schedule import every

SWEEP = "ocpi.sweep"
SWEEP_BRAND = "ocpi.sweep_brand"
SWEEP_EVERY = timedelta(seconds=30)


@task(DELIVER, queue="ocpi", max_retries=3, time_limit_ms=10 * 60 * 1000)
async def deliver_pushes(jobs: JobContext, *, tenant: str, partner_id: str) -> None:
    """Send one partner's due pushes in order (idempotent: sent pushes stay sent)."""
    brand = await brand_info(jobs, tenant)
    await deliver(jobs.database, brand, uuid.UUID(partner_id), jobs.settings.secret_key)


@task(SWEEP, queue="ocpi", max_retries=0, time_limit_ms=60_000)
async def sweep(jobs: JobContext) -> None:
    await for_each_brand(jobs, SWEEP_BRAND)


@task(SWEEP_BRAND, queue="ocpi", max_retries=0, time_limit_ms=60_000)
async def sweep_brand(jobs: JobContext, *, tenant: str) -> None:
    """A delivery job for every registered partner with a push due now; CommandResult
    FAILED for commands whose job never reported."""
    async with jobs.database.tenant_transaction(tenant) as db_session:
        await fail_overdue_commands(db_session, tenant)
        partners = (
            await db_session.scalars(
                select(OcpiPush.partner_id)
                .join(OcpiPartner, OcpiPartner.id == OcpiPush.partner_id)
                .where(
                    OcpiPush.state == PushState.PENDING,
                    OcpiPush.next_attempt_at <= utcnow(),
                    OcpiPartner.state == PartnerState.REGISTERED,
                )
                .distinct()
            )
        ).all()
        for partner_id in partners:
            enqueue(db_session, DELIVER, tenant=tenant, partner_id=str(partner_id))


every(SWEEP, SWEEP_EVERY)
