"""A partner that takes location pushes gets the whole network once when it registers;
from then on pushes keep its copy current."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.ocpi.conftest import OcpiClientFactory, data_of, registration_token
from tests.ocpi.peer import EmspPeer
from tests.ocpi.test_credentials import PEER_B, peer, register
from voltlane.core.db import Database
from voltlane.ocpi.location_tasks import RESYNC_PARTNER
from voltlane.tenancy import TenantInfo
from voltlane.worker import outbox
from voltlane.worker.models import OutboxMessage

__all__ = ["peer"]


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


@pytest.mark.parametrize("takes_locations", [True, False])
async def test_a_new_partner_with_a_locations_receiver_is_sent_every_location_once(
    takes_locations: bool,
    database: Database,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    peer: EmspPeer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)  # the job is read from the outbox
    if not takes_locations:
        peer.modules = tuple(m for m in peer.modules if m[0] != "locations")
    issued = await registration_token(database, cpo, "Example Mobility")

    registered = await register(ocpi_for, cpo, issued.token, peer.credentials(PEER_B))
    async with ocpi_for(cpo, data_of(registered)["token"]) as client:
        renewed = await client.put("/ocpi/2.2.1/credentials", json=peer.credentials(PEER_B))

    assert renewed.json()["status_code"] == 1000
    # Once at registration, not again when the credentials are renewed.
    assert await resync_jobs(database, cpo) == ([str(issued.partner_id)] if takes_locations else [])
