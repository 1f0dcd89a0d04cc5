"""Use cases of the tenancy domain: register, provision, suspend, resume, list brands."""

from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.pool import NullPool

from voltlane.core.clock import utcnow
from voltlane.core.context import bound_tenant
from voltlane.core.db import Database, sync_engine
from voltlane.models.platform import Tenant, TenantStatus
from voltlane.tenancy import migrations
from voltlane.tenancy.errors import TenantConflictError, TenantNotFoundError
from voltlane.tenancy.ports import get_seeder
from voltlane.tenancy.profile import keep_portal_edits
from voltlane.tenancy.repository import TenantRepository
from voltlane.tenancy.schemas import TenantInfo
from voltlane.tenancy.spec import TenantSpec
from voltlane.worker import enqueue

log = logging.getLogger(__name__)


async def list_tenants(db_session: AsyncSession) -> list[TenantInfo]:
    """Every brand of the installation, by slug."""
    return [TenantInfo.from_row(t) for t in await TenantRepository(db_session).all()]


async def get_tenant(db_session: AsyncSession, slug: str) -> TenantInfo:
    """One brand by slug; raises ``TenantNotFoundError``."""
    tenant = await TenantRepository(db_session).by_slug(slug)
    if tenant is None:
        raise TenantNotFoundError(f"no brand with slug {slug!r}")
    return TenantInfo.from_row(tenant)


async def register_tenant(db_session: AsyncSession, spec: TenantSpec) -> tuple[TenantInfo, bool]:
    """Create or update the platform row of ``spec`` (matched by its immutable key).

    New brands start as ``provisioning``; an existing brand keeps its status. Returns the
    brand and whether it was created.
    """
    repo = TenantRepository(db_session)
    tenant = await repo.by_key(spec.key)
    same_slug = await repo.by_slug(spec.slug)
    if same_slug is not None and (tenant is None or same_slug.id != tenant.id):
        raise TenantConflictError(f"slug {spec.slug!r} belongs to another brand", field="slug")
    for host in spec.domains:
        owner = await repo.host_owner(host)
        if owner is not None and (tenant is None or owner != tenant.id):
            raise TenantConflictError(f"domain {host!r} belongs to another brand", field="domains")
    created = tenant is None
    if tenant is None:
        tenant = Tenant(key=spec.key, status=TenantStatus.PROVISIONING)
        db_session.add(tenant)
    tenant.slug = spec.slug
    tenant.theme = spec.theme
    tenant.currency = spec.currency
    tenant.timezone = spec.timezone
    keep_portal_edits(tenant, spec.profile(), {"name": spec.name, "locale": spec.locale})
    await db_session.flush()
    await repo.replace_domains(tenant, spec.domains)
    await repo.replace_features(tenant, spec.features)
    await db_session.flush()
    db_session.expire(tenant, ["domains", "features"])
    refreshed = await repo.get(tenant.id)
    assert refreshed is not None
    return TenantInfo.from_row(refreshed), created


async def request_provisioning(db_session: AsyncSession, tenant_id: uuid.UUID) -> uuid.UUID:
    """Queue the ``tenancy.provision`` job (sent once this transaction commits)."""
    return enqueue(db_session, "tenancy.provision", tenant_id=str(tenant_id))


async def set_suspended(db_session: AsyncSession, slug: str, *, suspended: bool) -> TenantInfo:
    """Suspend a brand (its hosts answer 404, chargers are refused) or resume it."""
    repo = TenantRepository(db_session)
    found = await repo.by_slug(slug)
    if found is None:
        raise TenantNotFoundError(f"no brand with slug {slug!r}")
    tenant = await repo.get(found.id, for_update=True)
    assert tenant is not None
    if suspended:
        tenant.status = TenantStatus.SUSPENDED
        tenant.suspended_at = utcnow()
    else:
        if tenant.provisioned_at is None:
            raise TenantConflictError(f"brand {slug!r} was never provisioned; run `tenants sync`")
        tenant.status = TenantStatus.ACTIVE
        tenant.suspended_at = None
    await db_session.flush()
    return TenantInfo.from_row(tenant)


def _migrate_schema(database_url: str, migrations_dir: Path, key: str) -> None:
    engine = sync_engine(database_url, poolclass=NullPool)
    try:
        migrations.upgrade_tenant(engine, migrations_dir, key)
    finally:
        engine.dispose()


async def provision_tenant(
    database: Database, migrations_dir: Path, tenant_id: uuid.UUID
) -> TenantInfo:
    """Create the brand's schema, migrate it, seed it and mark it active.

    Every step is idempotent, so the job may run again after a failure or for an existing
    brand. A failure is recorded on the platform row (status ``failed``) and re-raised.
    """
    async with database.platform_transaction() as db_session:
        tenant = await TenantRepository(db_session).get(tenant_id)
        if tenant is None:
            raise TenantNotFoundError(f"no brand with id {tenant_id}")
        info = TenantInfo.from_row(tenant)
    with bound_tenant(info.key):
        try:
            await asyncio.to_thread(_migrate_schema, database.url, migrations_dir, info.key)
            seeder = get_seeder()
            if seeder is not None:
                async with database.tenant_transaction(info.key) as db_session:
                    await seeder.seed(db_session, info)
        except Exception as exc:
            await _record_failure(database, tenant_id, exc)
            raise
        async with database.platform_transaction() as db_session:
            tenant = await TenantRepository(db_session).get(tenant_id, for_update=True)
            if tenant is None:
                raise TenantNotFoundError(f"brand {tenant_id} disappeared while provisioning")
            if tenant.status in (TenantStatus.PROVISIONING, TenantStatus.FAILED):
                tenant.status = TenantStatus.ACTIVE
            tenant.provisioned_at = tenant.provisioned_at or utcnow()
            tenant.last_error = None
            await db_session.flush()
            info = TenantInfo.from_row(tenant)
        log.info("tenant provisioned", extra={"status": info.status.value})
    return info


async def _record_failure(database: Database, tenant_id: uuid.UUID, exc: Exception) -> None:
    async with database.platform_transaction() as db_session:
        failed = await TenantRepository(db_session).get(tenant_id, for_update=True)
        if failed is not None:
            failed.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if failed.status == TenantStatus.PROVISIONING:
                failed.status = TenantStatus.FAILED
