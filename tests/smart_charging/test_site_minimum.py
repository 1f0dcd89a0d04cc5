"""A site's new minimum current reaches its stations with the next pass, not at their
next boot (a real OCPP 2.0.1 charger)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from tests.ocpp.conftest import add_ocpp_station, gateway
from tests.smart_charging.test_profiles import OpenStation, open_station
from voltlane.core.db import Database
from voltlane.models.tenant import Evse, ProfileSupport, StationProfileSupport
from voltlane.ocpp.translate import OcppTranslator
from voltlane.settings import Settings
from voltlane.smart_charging import sites
from voltlane.smart_charging.sites import SiteInput
from voltlane.smart_charging.tasks import rebalance_site
from voltlane.station.ports import set_translator
from voltlane.worker import JobContext

__all__ = ["gateway", "open_station"]

D = Decimal


def _defaults(payloads: list[dict]) -> list[tuple[int, float]]:  # type: ignore[type-arg]
    return [
        (
            p["charging_profile"]["id"],
            p["charging_profile"]["charging_schedule"][0]["charging_schedule_period"][0]["limit"],
        )
        for p in payloads
    ]


async def test_a_new_minimum_is_sent_again_and_other_edits_send_nothing(
    database: Database, settings: Settings, make_brand, open_station: OpenStation
) -> None:
    set_translator(OcppTranslator())
    brand = await make_brand()
    await add_ocpp_station(database, brand, "MIN-1")
    charger = await open_station(brand, "MIN-1", "ocpp2.0.1")
    settings_of = SiteInput(name="Depot", capacity_a=D(32), safe_limit_a=D(16))
    async with database.tenant_transaction(brand.key) as db_session:
        site = await sites.create_site(db_session, settings_of)
        evse_pk = await db_session.scalar(select(Evse.id))
        assert evse_pk is not None
        await sites.assign_evse(db_session, site.id, evse_pk)
    jobs = JobContext(database=database, settings=settings)
    await rebalance_site(jobs, tenant=brand.key, site_id=str(site.id))

    async with database.tenant_transaction(brand.key) as db_session:
        renamed = SiteInput(name="Depot Ost", capacity_a=D(32), safe_limit_a=D(16))
        await sites.update_site(db_session, site.id, renamed)
    await rebalance_site(jobs, tenant=brand.key, site_id=str(site.id))
    assert _defaults(charger.sent()) == [(7_100_001, 6.0)]

    async with database.tenant_transaction(brand.key) as db_session:
        await sites.update_site(
            db_session,
            site.id,
            SiteInput(name="Depot Ost", capacity_a=D(32), safe_limit_a=D(16), min_current_a=D(8)),
        )
        status = await db_session.scalar(select(StationProfileSupport.status))
    assert status is ProfileSupport.UNKNOWN
    await rebalance_site(jobs, tenant=brand.key, site_id=str(site.id))

    assert _defaults(charger.sent()) == [(7_100_001, 6.0), (7_100_001, 8.0)]
    async with database.tenant_session(brand.key) as db_session:
        status = await db_session.scalar(select(StationProfileSupport.status))
    assert status is ProfileSupport.SUPPORTED
