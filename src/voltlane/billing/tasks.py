"""Jobs of the billing domain."""

from __future__ import annotations

import uuid

from voltlane.billing.cdrs import rate_session
from voltlane.worker import JobContext, task

RATE_SESSION = "billing.rate_session"


@task(RATE_SESSION, queue="billing", max_retries=20)
async def rate(jobs: JobContext, *, tenant: str, session_id: str) -> None:
    """The CDR of a finished session (idempotent: a retry finds the CDR made before)."""
    async with jobs.database.tenant_transaction(tenant) as db_session:
        await rate_session(db_session, uuid.UUID(session_id))
