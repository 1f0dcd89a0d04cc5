"""Jobs of the billing domain."""

from __future__ import annotations

import uuid

from voltlane.billing.cdrs import rate_session
from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.payments import CAPTURE_PAYMENT_TASK
from voltlane.worker import JobContext, enqueue, task

RATE_SESSION = "billing.rate_session"


@task(RATE_SESSION, queue="billing", max_retries=20)
async def rate(jobs: JobContext, *, tenant: str, session_id: str) -> None:
    """The CDR of a finished session (idempotent: a retry finds the CDR made before); a
    session paid through the PSP then has the CDR's amount captured."""
    async with jobs.database.tenant_transaction(tenant) as db_session:
        cdr = await rate_session(db_session, uuid.UUID(session_id))
        payment = await PaymentRepository(db_session).payment_of_session(uuid.UUID(session_id))
        if cdr is not None and payment is not None:
            enqueue(db_session, CAPTURE_PAYMENT_TASK, tenant=tenant, cdr_id=str(cdr.id))
