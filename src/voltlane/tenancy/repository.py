"""Every query on the platform's tenant tables."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from voltlane.models.platform import Tenant, TenantDomain, TenantFeature, TenantStatus


class TenantRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def all(self) -> list[Tenant]:
        rows = await self.db_session.scalars(
            select(Tenant)
            .options(selectinload(Tenant.domains), selectinload(Tenant.features))
            .order_by(Tenant.slug)
        )
        return list(rows)

    async def get(self, tenant_id: uuid.UUID, *, for_update: bool = False) -> Tenant | None:
        stmt = (
            select(Tenant)
            .where(Tenant.id == tenant_id)
            .options(selectinload(Tenant.domains), selectinload(Tenant.features))
        )
        if for_update:
            stmt = stmt.with_for_update(of=Tenant)
        return await self.db_session.scalar(stmt)

    async def by_key(self, key: str) -> Tenant | None:
        return await self.db_session.scalar(
            select(Tenant)
            .where(Tenant.key == key)
            .options(selectinload(Tenant.domains), selectinload(Tenant.features))
        )

    async def by_slug(self, slug: str) -> Tenant | None:
        return await self.db_session.scalar(
            select(Tenant)
            .where(Tenant.slug == slug)
            .options(selectinload(Tenant.domains), selectinload(Tenant.features))
        )

    async def active_by_host(self, host: str, base_domain: str) -> Tenant | None:
        """The active tenant serving ``host``: a registered domain, or ``<slug>.<base>``."""
        tenant = await self.db_session.scalar(
            select(Tenant)
            .join(TenantDomain, TenantDomain.tenant_id == Tenant.id)
            .where(TenantDomain.host == host, Tenant.status == TenantStatus.ACTIVE)
            .options(selectinload(Tenant.domains), selectinload(Tenant.features))
        )
        if tenant is not None:
            return tenant
        suffix = f".{base_domain}"
        if not host.endswith(suffix):
            return None
        slug = host[: -len(suffix)]
        if not slug or "." in slug:
            return None
        return await self.db_session.scalar(
            select(Tenant)
            .where(Tenant.slug == slug, Tenant.status == TenantStatus.ACTIVE)
            .options(selectinload(Tenant.domains), selectinload(Tenant.features))
        )

    async def host_owner(self, host: str) -> uuid.UUID | None:
        return await self.db_session.scalar(
            select(TenantDomain.tenant_id).where(TenantDomain.host == host)
        )

    async def active_keys(self) -> list[str]:
        rows = await self.db_session.scalars(
            select(Tenant.key).where(Tenant.status == TenantStatus.ACTIVE).order_by(Tenant.key)
        )
        return list(rows)

    async def replace_domains(self, tenant: Tenant, hosts: list[str]) -> None:
        await self.db_session.execute(
            delete(TenantDomain).where(TenantDomain.tenant_id == tenant.id)
        )
        for index, host in enumerate(hosts):
            self.db_session.add(TenantDomain(tenant_id=tenant.id, host=host, is_primary=index == 0))

    async def replace_features(self, tenant: Tenant, flags: dict[str, bool]) -> None:
        await self.db_session.execute(
            delete(TenantFeature).where(TenantFeature.tenant_id == tenant.id)
        )
        for flag, enabled in sorted(flags.items()):
            self.db_session.add(TenantFeature(tenant_id=tenant.id, flag=flag, enabled=enabled))
