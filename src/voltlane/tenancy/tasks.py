"""Jobs of the tenancy domain."""

from __future__ import annotations

import uuid

from voltlane.tenancy.service import provision_tenant
from voltlane.worker import JobContext, task


@task("tenancy.provision", queue="platform", max_retries=5)
async def provision(jobs: JobContext, *, tenant_id: str) -> None:
    """Create, migrate and seed one brand's schema, then mark the brand active."""
    await provision_tenant(jobs.database, jobs.settings.migrations_dir, uuid.UUID(tenant_id))
