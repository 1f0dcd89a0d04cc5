"""Jobs of the billing domain."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from voltlane.billing.cdrs import rate_pending, rate_session
from voltlane.billing.charge_requests.sessions import link_charge_session
from voltlane.billing.invoice_tasks import ISSUE_DOCUMENTS
from voltlane.billing.jobs import for_each_brand
from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.payments import (
    CAPTURE_PAYMENT_TASK,
    CAPTURE_TOP_UP_TASK,
    CHARGE_SHORTFALL_TASK,
    shortfalls_to_charge,
)
from voltlane.worker import JobContext, enqueue, task
from voltlane.worker.schedule import every

log = logging.getLogger(__name__)

RATE_SESSION = "billing.rate_session"
RATE_PENDING = "billing.rate_pending"
CAPTURE_OWED = "billing.capture_owed"
SWEEP = "billing.sweep"
SWEEP_EVERY = timedelta(minutes=5)
BATCH = 500


@task(RATE_SESSION, queue="billing", max_retries=20)
async def rate(jobs: JobContext, *, tenant: str, session_id: str) -> None:
    """The CDR of a finished session (idempotent: a retry finds the CDR made before); a
    session paid through the PSP then has the CDR's amount captured, any other gets its
    receipt."""
    async with jobs.database.tenant_transaction(tenant) as db_session:
        # A session started from the app that ended before anything linked it: its hold.
        await link_charge_session(db_session, uuid.UUID(session_id))
        cdr = await rate_session(db_session, uuid.UUID(session_id))
        payment = await PaymentRepository(db_session).payment_of_session(uuid.UUID(session_id))
        if cdr is not None and payment is not None:
            enqueue(db_session, CAPTURE_PAYMENT_TASK, tenant=tenant, cdr_id=str(cdr.id))
        elif cdr is not None:
            enqueue(db_session, ISSUE_DOCUMENTS, tenant=tenant)


@task(SWEEP, queue="billing", max_retries=3)
async def sweep(jobs: JobContext) -> None:
    """Every few minutes: each active brand catches up on what its jobs left behind."""
    await for_each_brand(jobs, RATE_PENDING, CAPTURE_OWED, ISSUE_DOCUMENTS)


@task(RATE_PENDING, queue="billing", max_retries=3)
async def rate_pending_of(jobs: JobContext, *, tenant: str) -> None:
    """CDRs of finished sessions that have none yet (their job gave up, or a tariff was
    assigned since); one batch, the next sweep takes the rest."""
    async with jobs.database.tenant_transaction(tenant) as db_session:
        created = await rate_pending(db_session, limit=BATCH)
    if created:
        log.info("cdrs caught up", extra={"tenant": tenant, "cdrs": created})


@task(CAPTURE_OWED, queue="billing", max_retries=3)
async def capture_owed(jobs: JobContext, *, tenant: str) -> None:
    """A capture job for every CDR whose payment is still authorized or outstanding, and for
    every wallet top-up not captured or not credited yet, and for every shortfall whose
    charge is unanswered (all idempotent: nothing is ever charged twice)."""
    async with jobs.database.tenant_transaction(tenant) as db_session:
        repo = PaymentRepository(db_session)
        for cdr_id in await repo.capturable(BATCH):
            enqueue(db_session, CAPTURE_PAYMENT_TASK, tenant=tenant, cdr_id=str(cdr_id))
        for payment_id in await repo.top_ups_to_capture(BATCH):
            enqueue(db_session, CAPTURE_TOP_UP_TASK, tenant=tenant, payment_id=str(payment_id))
        for payment_id in await shortfalls_to_charge(db_session, BATCH):
            enqueue(db_session, CHARGE_SHORTFALL_TASK, tenant=tenant, payment_id=str(payment_id))


every(SWEEP, SWEEP_EVERY)
