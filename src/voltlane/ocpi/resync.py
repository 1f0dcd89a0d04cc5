"""A partner's full copy of the brand's locations, sent again: every published location as
a PUT (superseding what was not sent yet). The daily job repairs whatever a given-up push
left wrong; staff can ask for it for one partner at any time."""

from __future__ import annotations

import uuid

from voltlane.core.db import Database
from voltlane.models.tenant import OcpiPartner
from voltlane.ocpi.location_pushes import queue_location_puts, receivers
from voltlane.ocpi.location_repository import LocationRepository
from voltlane.tenancy import TenantInfo

PAGE = 500  # locations per transaction


async def resync_partner(database: Database, brand: TenantInfo, partner_id: uuid.UUID) -> int:
    """Queue a PUT of every published location to the partner, a page per transaction;
    returns how many (0 when the brand is no OCPI party, or the partner is not registered
    with a locations receiver)."""
    party = brand.ocpi_party
    if party is None:
        return 0
    queued = 0
    after: uuid.UUID | None = None
    while True:
        async with database.tenant_transaction(brand.key) as db_session:
            partner = await db_session.scalar(receivers().where(OcpiPartner.id == partner_id))
            if partner is None:
                return queued
            page = await LocationRepository(db_session).published_after(after, PAGE)
            if not page:
                return queued
            queued += await queue_location_puts(db_session, brand.key, party, [partner], page)
        after = page[-1]


async def partners_to_resync(database: Database, brand: TenantInfo) -> list[uuid.UUID]:
    """The brand's partners that take location pushes."""
    if brand.ocpi_party is None:
        return []
    async with database.tenant_transaction(brand.key) as db_session:
        ids = await db_session.scalars(
            receivers().with_only_columns(OcpiPartner.id).order_by(OcpiPartner.id)
        )
        return list(ids.all())
