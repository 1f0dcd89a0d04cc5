"""An EVSE taken out of its site on a station that stays in it loses its TxDefaultProfile
(a real OCPP 2.0.1 charger with two EVSEs)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.ocpp.conftest import add_ocpp_station, gateway
from tests.smart_charging.test_profiles import OpenStation, open_station
from voltlane.core.db import Database
from voltlane.models.tenant import Evse
from voltlane.ocpp.translate import OcppTranslator
from voltlane.settings import Settings
from voltlane.smart_charging import sites
from voltlane.smart_charging.sites import RELEASE_EVSE, SiteInput
from voltlane.smart_charging.tasks import rebalance_site, release_one_evse
from voltlane.station.ports import set_translator
from voltlane.worker import JobContext, outbox
from voltlane.worker.models import OutboxMessage

__all__ = ["gateway", "open_station"]

D = Decimal


async def test_an_evse_that_leaves_has_its_default_cleared_and_the_other_keeps_its_own(
    database: Database,
    settings: Settings,
    make_brand,
    open_station: OpenStation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)
    set_translator(OcppTranslator())
    brand = await make_brand()
    await add_ocpp_station(database, brand, "TWIN-1", evses=2)
    charger = await open_station(brand, "TWIN-1", "ocpp2.0.1")
    async with database.tenant_transaction(brand.key) as db_session:
        site = await sites.create_site(
            db_session, SiteInput(name="Depot", capacity_a=D(32), safe_limit_a=D(16))
        )
        first, second = list(await db_session.scalars(select(Evse.id).order_by(Evse.evse_id)))
        await sites.assign_evse(db_session, site.id, first)
        await sites.assign_evse(db_session, site.id, second)
    jobs = JobContext(database=database, settings=settings)
    await rebalance_site(jobs, tenant=brand.key, site_id=str(site.id))
    assert [p["charging_profile"]["id"] for p in charger.sent()] == [7_100_001, 7_100_002]

    async with database.tenant_transaction(brand.key) as db_session:
        assert await sites.unassign_evse(db_session, second, tenant_key=brand.key)
        # Taking out an EVSE that is in no site asks for nothing.
        assert not await sites.unassign_evse(db_session, second, tenant_key=brand.key)
    async with database.platform_session() as db_session:
        [job] = [
            message["kwargs"]
            for message in await db_session.scalars(
                select(OutboxMessage.message).where(OutboxMessage.actor_name == RELEASE_EVSE)
            )
            if message["kwargs"]["tenant"] == brand.key
        ]
    assert job == {"tenant": brand.key, "evse_pk": str(second)}
    await release_one_evse(jobs, **job)

    assert charger.sent("ClearChargingProfile") == [{"charging_profile_id": 7_100_002}]
