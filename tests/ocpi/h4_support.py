"""A registered partner for the locations and tariffs tests: its token C, and the
receiver endpoints of the modules it takes pushes for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from voltlane.core.db import Database
from voltlane.models.platform import CredentialKind
from voltlane.models.tenant import OcpiPartner, PartnerInitiator, PartnerState
from voltlane.ocpi.partners import add_credential, seal_partner_token
from voltlane.tenancy import TenantInfo


@dataclass(frozen=True, slots=True)
class Emsp:
    id: uuid.UUID
    token: str


async def registered_emsp(
    database: Database,
    secret_key: str,
    brand: TenantInfo,
    *,
    party: tuple[str, str] = ("NL", "EMS"),
    receiver_base: str | None = None,
    modules: tuple[str, ...] = ("locations", "tariffs"),
) -> Emsp:
    endpoints = [
        {"identifier": module, "role": "RECEIVER", "url": f"{receiver_base}/{module}"}
        for module in (modules if receiver_base else ())
    ]
    async with database.tenant_transaction(brand.key) as db_session:
        partner = OcpiPartner(
            name=f"{party[1]} Mobility",
            state=PartnerState.REGISTERED,
            initiated_by=PartnerInitiator.THEM,
            country_code=party[0],
            party_id=party[1],
            roles=[{"role": "EMSP", "country_code": party[0], "party_id": party[1]}],
            version="2.2.1",
            endpoints=endpoints,
            token_sealed=seal_partner_token(secret_key, f"their-token-{party[1]}"),
        )
        db_session.add(partner)
        await db_session.flush()
        partner_id = partner.id
    token = f"h4-token-c-{brand.key}-{party[1]}"
    async with database.platform_transaction() as platform:
        await add_credential(
            platform,
            tenant_key=brand.key,
            partner_id=partner_id,
            token=token,
            kind=CredentialKind.ACCESS,
        )
    return Emsp(partner_id, token)
