"""Jobs that find the CDRs and Session updates partners are owed (``roaming_pushes``, every
30 s) and the tariffs they are offered (``tariff_pushes``, every 60 s) and queue them in
the push outbox, one job per brand."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.jobs import brand_info, for_each_brand
from voltlane.core.clock import utcnow
from voltlane.ocpi.roaming_pushes import queue_cdr_posts, queue_session_pushes
from voltlane.ocpi.settlement import open_settlement_accounts
from voltlane.ocpi.tariff_pushes import queue_tariff_pushes
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext, task
from voltlane.worker.schedule import every

PUSH_CDRS = "ocpi.push_cdrs"
PUSH_CDRS_BRAND = "ocpi.push_cdrs_brand"
PUSH_SESSIONS = "ocpi.push_sessions"
PUSH_SESSIONS_BRAND = "ocpi.push_sessions_brand"
PUSH_TARIFFS = "ocpi.push_tariffs"
PUSH_TARIFFS_BRAND = "ocpi.push_tariffs_brand"
PUSH_EVERY = timedelta(seconds=30)
PUSH_TARIFFS_EVERY = timedelta(seconds=60)


class _Queue(Protocol):
    async def __call__(
        self, db_session: AsyncSession, brand: TenantInfo, *, now: datetime
    ) -> int: ...


async def _queue(jobs: JobContext, tenant: str, queue: _Queue) -> None:
    brand = await brand_info(jobs, tenant)
    async with jobs.database.tenant_transaction(tenant) as db_session:
        await queue(db_session, brand, now=utcnow())


async def _cdrs_owed(db_session: AsyncSession, brand: TenantInfo, *, now: datetime) -> int:
    """A partner's first roaming CDR opens its settlement account; each CDR is POSTed."""
    await open_settlement_accounts(db_session)
    return await queue_cdr_posts(db_session, brand, now=now)


@task(PUSH_CDRS, queue="ocpi", max_retries=0, time_limit_ms=60_000)
async def push_cdrs(jobs: JobContext) -> None:
    await for_each_brand(jobs, PUSH_CDRS_BRAND)


@task(PUSH_CDRS_BRAND, queue="ocpi", max_retries=0, time_limit_ms=5 * 60_000)
async def push_cdrs_brand(jobs: JobContext, *, tenant: str) -> None:
    """Open partners' settlement accounts; POST each roaming CDR to its partner once."""
    await _queue(jobs, tenant, _cdrs_owed)


@task(PUSH_SESSIONS, queue="ocpi", max_retries=0, time_limit_ms=60_000)
async def push_sessions(jobs: JobContext) -> None:
    await for_each_brand(jobs, PUSH_SESSIONS_BRAND)


@task(PUSH_SESSIONS_BRAND, queue="ocpi", max_retries=0, time_limit_ms=5 * 60_000)
async def push_sessions_brand(jobs: JobContext, *, tenant: str) -> None:
    """PUT, PATCH and finally PUT COMPLETED each roaming session to its partner."""
    await _queue(jobs, tenant, queue_session_pushes)


@task(PUSH_TARIFFS, queue="ocpi", max_retries=0, time_limit_ms=60_000)
async def push_tariffs(jobs: JobContext) -> None:
    await for_each_brand(jobs, PUSH_TARIFFS_BRAND)


@task(PUSH_TARIFFS_BRAND, queue="ocpi", max_retries=0, time_limit_ms=5 * 60_000)
async def push_tariffs_brand(jobs: JobContext, *, tenant: str) -> None:
    """PUT each tariff a partner is offered when it is new or changed (a version published
    or taking effect), DELETE one it is no longer offered."""
    await _queue(jobs, tenant, queue_tariff_pushes)


every(PUSH_CDRS, PUSH_EVERY)
every(PUSH_SESSIONS, PUSH_EVERY)
every(PUSH_TARIFFS, PUSH_TARIFFS_EVERY)
