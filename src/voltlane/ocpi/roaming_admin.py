"""The portal's Roaming page as the OCPI package serves it (``portal.roaming.RoamingAdmin``,
wired in ``app.wire``)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.db import Database
from voltlane.models.tenant import OcpiPartner, PartnerState
from voltlane.ocpi import pushes, registration, urls
from voltlane.ocpi.location_tasks import RESYNC_PARTNER
from voltlane.ocpi.partners import issue_registration_token
from voltlane.ocpi.protocol import InterfaceRole, Module
from voltlane.tenancy import TenantInfo
from voltlane.worker import enqueue


class OcpiRoamingAdmin:
    def versions_url(self, request: Request[Any, Any, Any]) -> str:
        return urls.versions_url(request)

    async def issue_token(
        self, database: Database, brand: TenantInfo, name: str
    ) -> tuple[uuid.UUID, str]:
        issued = await issue_registration_token(database, brand.key, name=name)
        return issued.partner_id, issued.token

    async def register(
        self,
        database: Database,
        brand: TenantInfo,
        secret_key: str,
        *,
        name: str,
        versions_url: str,
        token_a: str,
        our_versions_url: str,
    ) -> tuple[uuid.UUID | None, dict[str, str]]:
        try:
            partner_id = await registration.register_with_partner(
                database,
                brand,
                secret_key,
                name=name,
                versions_url=versions_url,
                token_a=token_a,
                our_versions_url=our_versions_url,
            )
        except registration.RegistrationError as exc:
            return None, {exc.field: exc.message}
        return partner_id, {}

    async def rotate(
        self,
        database: Database,
        brand: TenantInfo,
        secret_key: str,
        partner_id: uuid.UUID,
        *,
        our_versions_url: str,
    ) -> str | None:
        try:
            await registration.rotate_our_token(
                database, brand, secret_key, partner_id, our_versions_url=our_versions_url
            )
        except registration.RegistrationError as exc:
            return exc.message
        return None

    async def unregister(
        self, database: Database, brand: TenantInfo, secret_key: str, partner_id: uuid.UUID
    ) -> str | None:
        return await registration.unregister_partner(database, brand, secret_key, partner_id)

    async def set_suspended(
        self, db_session: AsyncSession, partner_id: uuid.UUID, suspended: bool
    ) -> bool:
        return await registration.set_suspended(db_session, partner_id, suspended)

    async def retry(self, db_session: AsyncSession, tenant_key: str, push_id: uuid.UUID) -> bool:
        return await pushes.retry_now(db_session, tenant_key, push_id)

    async def resync(
        self, db_session: AsyncSession, tenant_key: str, partner_id: uuid.UUID
    ) -> bool:
        partner = await db_session.get(OcpiPartner, partner_id)
        if (
            partner is None
            or partner.state != PartnerState.REGISTERED
            or pushes.endpoint_url(partner, Module.LOCATIONS.value, InterfaceRole.RECEIVER) is None
        ):
            return False
        enqueue(db_session, RESYNC_PARTNER, tenant=tenant_key, partner_id=str(partner_id))
        return True
