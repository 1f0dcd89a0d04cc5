"""Registered eMSP partners made directly in the database, for the tokens, real-time
authorization, commands and hubclientinfo tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.platform import CredentialKind
from voltlane.models.tenant import OcpiPartner, PartnerInitiator, PartnerState
from voltlane.ocpi.partners import add_credential, seal_partner_token
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo


@dataclass(frozen=True, slots=True)
class Registered:
    partner_id: uuid.UUID
    token: str  # the token C the partner presents to us


async def registered_partner(
    database: Database,
    settings: Settings,
    brand: TenantInfo,
    *,
    country_code: str = "NL",
    party_id: str = "EMS",
    role: str = "EMSP",
    endpoints: list[dict[str, Any]] | None = None,
    authorization_timeout_ms: int = 5000,
) -> Registered:
    """A partner in state registered with one role, its endpoints, and a live token C."""
    async with database.tenant_transaction(brand.key) as db_session:
        partner = OcpiPartner(
            name=f"{country_code}*{party_id}",
            state=PartnerState.REGISTERED,
            initiated_by=PartnerInitiator.THEM,
            country_code=country_code,
            party_id=party_id,
            roles=[
                {
                    "role": role,
                    "country_code": country_code,
                    "party_id": party_id,
                    "business_details": {"name": f"{party_id} Mobility"},
                }
            ],
            version="2.2.1",
            endpoints=endpoints or [],
            token_sealed=seal_partner_token(settings.secret_key, f"our-token-{party_id}"),
            authorization_timeout_ms=authorization_timeout_ms,
            registered_at=utcnow(),
        )
        db_session.add(partner)
        await db_session.flush()
        partner_id = partner.id
    token = f"token-c-{uuid.uuid4()}"
    async with database.platform_transaction() as platform:
        await add_credential(
            platform,
            tenant_key=brand.key,
            partner_id=partner_id,
            token=token,
            kind=CredentialKind.ACCESS,
        )
    return Registered(partner_id, token)


def rfid_token(uid: str = "012345678", **changes: Any) -> dict[str, Any]:
    """The spec's token_put_example.json, with ``changes``."""
    token: dict[str, Any] = {
        "country_code": "NL",
        "party_id": "EMS",
        "uid": uid,
        "type": "RFID",
        "contract_id": "NL8ACC12E46L89",
        "visual_number": "DF000-2001-8999-1",
        "issuer": "TheNewMotion",
        "group_id": "DF000-2001-8999",
        "valid": True,
        "whitelist": "ALWAYS",
        "last_updated": "2015-06-29T22:39:09Z",
    }
    token.update(changes)
    return token
