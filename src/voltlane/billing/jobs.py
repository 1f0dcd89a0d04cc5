"""What the billing jobs share: the brand a job works for, fan-out to every active brand."""

from __future__ import annotations

from voltlane.billing.invoicing import Links
from voltlane.models.platform import TenantStatus
from voltlane.tenancy import TenantInfo, TenantNotFoundError, TenantRegistry
from voltlane.tenancy import service as tenancy
from voltlane.worker import JobContext, enqueue


async def brand_info(jobs: JobContext, tenant: str) -> TenantInfo:
    """The brand a job works for, read fresh (its tenant file may have changed)."""
    info = await TenantRegistry(jobs.database, jobs.settings.base_domain, ttl=0).by_key(tenant)
    if info is None:
        raise TenantNotFoundError(f"no active brand {tenant}")
    return info


async def for_each_brand(jobs: JobContext, *task_names: str) -> None:
    """Enqueue each of ``task_names`` once for every active brand (``tenant=<key>``)."""
    async with jobs.database.platform_transaction() as db_session:
        for brand in await tenancy.list_tenants(db_session):
            if brand.status is TenantStatus.ACTIVE:
                for name in task_names:
                    enqueue(db_session, name, tenant=brand.key)


def links_of(jobs: JobContext, brand: TenantInfo) -> Links:
    """Where the links in a brand's e-mails point: its primary domain, or in development
    ``<slug>.<base domain>`` on the web port."""
    settings = jobs.settings
    if brand.hosts:
        base = f"{settings.public_scheme}://{brand.hosts[0]}"
    else:
        port = "" if settings.port in (80, 443) else f":{settings.port}"
        base = f"{settings.public_scheme}://{brand.slug}.{settings.base_domain}{port}"
    return Links(base, settings.secret_key)
