"""Staff send every published location to a partner again from its Roaming page: the resync
job is written for a partner that takes location pushes, and refused for one that does not."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.conftest import BrandClient
from tests.portal.test_roaming import OPS, PASSWORD, audit_of, brand
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.core.db import Database
from voltlane.models.tenant import OcpiPartner, PartnerInitiator, PartnerState
from voltlane.ocpi.location_tasks import RESYNC_PARTNER
from voltlane.tenancy import TenantInfo
from voltlane.worker import outbox
from voltlane.worker.models import OutboxMessage

__all__ = ["brand"]


async def add_partner(
    database: Database, brand: TenantInfo, party: str, endpoints: list[dict[str, str]]
) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        partner = OcpiPartner(
            name=f"Partner {party}",
            state=PartnerState.REGISTERED,
            initiated_by=PartnerInitiator.THEM,
            country_code="NL",
            party_id=party,
            endpoints=endpoints,
        )
        db_session.add(partner)
        await db_session.flush()
        return partner.id


async def resync_jobs(database: Database, brand: TenantInfo) -> list[str]:
    async with database.platform_session() as db_session:
        found = await db_session.scalars(
            select(OutboxMessage).where(OutboxMessage.actor_name == RESYNC_PARTNER)
        )
        return [
            row.message["kwargs"]["partner_id"]
            for row in found
            if row.message["kwargs"]["tenant"] == brand.key
        ]


async def test_staff_send_all_locations_to_a_partner_again(
    database: Database,
    brand: TenantInfo,
    client_for: BrandClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)  # the job is read from the outbox
    receiver = [{"identifier": "locations", "role": "RECEIVER", "url": "https://e.example/l"}]
    takes_them = await add_partner(database, brand, "EXA", receiver)
    pulls_only = await add_partner(database, brand, "PUL", [])
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, OPS, PASSWORD)
        page = await client.get(f"/portal/roaming/{takes_them}", headers=HTML)
        sent = await client.post(
            f"/portal/roaming/{takes_them}/resync",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
        after = await client.get(sent.headers["location"], headers=HTML)
        refused = await client.post(
            f"/portal/roaming/{pulls_only}/resync",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )

    assert "Send all locations again" in page.text
    assert (sent.status_code, sent.headers["location"]) == (
        303,
        f"/portal/roaming/{takes_them}?resync=1",
    )
    assert "Every published location is being sent to this partner again." in after.text
    assert refused.status_code == 409
    assert "This partner takes no location pushes" in refused.text
    assert await resync_jobs(database, brand) == [str(takes_them)]
    assert await audit_of(database, brand) == [
        (OPS, "portal.roaming.resync", {"name": "Partner EXA"})
    ]
