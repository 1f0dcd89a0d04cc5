"""A brand's OCPI partners: issuing registration tokens, storing and revoking the tokens
partners present, and sealing the token we present to them.

A partner's rows live in the brand's schema; the hashes of the tokens it presents live in
``platform.ocpi_credentials`` (the index that resolves a request). The two are written in
separate transactions, tenant first: a failure in between leaves a partner without a live
token (harmless, visible in the portal), never a token without its partner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.db import Database
from voltlane.core.sealing import seal, unseal
from voltlane.models.platform import CredentialKind, OcpiCredential
from voltlane.models.tenant import OcpiPartner, PartnerInitiator, PartnerState
from voltlane.ocpi.auth import new_token, token_digest


@dataclass(frozen=True, slots=True)
class IssuedToken:
    partner_id: uuid.UUID
    token: str  # shown once to staff, never stored in clear


async def add_credential(
    platform: AsyncSession,
    *,
    tenant_key: str,
    partner_id: uuid.UUID,
    token: str,
    kind: CredentialKind,
) -> None:
    platform.add(
        OcpiCredential(
            token_sha256=token_digest(token),
            tenant_key=tenant_key,
            partner_id=partner_id,
            kind=kind,
        )
    )


async def revoke_credentials(
    platform: AsyncSession,
    *,
    tenant_key: str,
    partner_id: uuid.UUID,
    kind: CredentialKind | None = None,
) -> None:
    """Every token the partner presents to this brand (of ``kind``) stops working."""
    statement = delete(OcpiCredential).where(
        OcpiCredential.tenant_key == tenant_key, OcpiCredential.partner_id == partner_id
    )
    if kind is not None:
        statement = statement.where(OcpiCredential.kind == kind)
    await platform.execute(statement)


async def issue_registration_token(
    database: Database, tenant_key: str, *, name: str
) -> IssuedToken:
    """A new partner in state ``pending`` and its CREDENTIALS_TOKEN_A, to hand over out of
    band with our versions URL."""
    async with database.tenant_transaction(tenant_key) as db_session:
        partner = OcpiPartner(
            name=name,
            state=PartnerState.PENDING,
            initiated_by=PartnerInitiator.THEM,
        )
        db_session.add(partner)
        await db_session.flush()
        partner_id = partner.id
    token = new_token()
    async with database.platform_transaction() as platform:
        await add_credential(
            platform,
            tenant_key=tenant_key,
            partner_id=partner_id,
            token=token,
            kind=CredentialKind.REGISTRATION,
        )
    return IssuedToken(partner_id, token)


def seal_partner_token(secret_key: str, token: str) -> str:
    return seal(secret_key, token.encode())


def partner_token(secret_key: str, partner: OcpiPartner) -> str | None:
    """The token we present to ``partner`` (None before the handshake)."""
    if partner.token_sealed is None:
        return None
    return unseal(secret_key, partner.token_sealed).decode()
