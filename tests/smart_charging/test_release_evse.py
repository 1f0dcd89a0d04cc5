"""An EVSE taken out of its site on a station that stays in it loses its TxDefaultProfile
(a real OCPP 2.0.1 charger with two EVSEs), also when the station was offline then: the
release waits for it to come back."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.ocpp.conftest import add_ocpp_station, gateway
from tests.smart_charging.test_profiles import OpenStation, open_station
from voltlane.core.db import Database
from voltlane.models.tenant import Evse, EvseProfileRelease
from voltlane.ocpp.translate import OcppTranslator
from voltlane.settings import Settings
from voltlane.smart_charging import sites
from voltlane.smart_charging.profiles import connected
from voltlane.smart_charging.sites import RELEASE_EVSE, SiteInput
from voltlane.smart_charging.tasks import rebalance_site, release_one_evse, sweep_brand
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


async def _release_jobs(database: Database, tenant: str) -> list[dict[str, str]]:
    async with database.platform_session() as db_session:
        return [
            message["kwargs"]
            for message in await db_session.scalars(
                select(OutboxMessage.message)
                .where(OutboxMessage.actor_name == RELEASE_EVSE)
                .order_by(OutboxMessage.id)
            )
            if message["kwargs"]["tenant"] == tenant
        ]


async def _pending(database: Database, tenant: str) -> list[uuid.UUID]:
    async with database.tenant_session(tenant) as db_session:
        return list(await db_session.scalars(select(EvseProfileRelease.evse_pk)))


async def _until_connected(database: Database, tenant: str, station_id: str, online: bool) -> None:
    for _ in range(100):
        if (station_id in await connected(database, tenant, {station_id})) is online:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{station_id} never became {'online' if online else 'offline'}")


async def test_an_evse_taken_out_while_its_station_is_offline_is_released_when_it_is_back(
    database: Database,
    settings: Settings,
    make_brand,
    open_station: OpenStation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)
    set_translator(OcppTranslator())
    brand = await make_brand()
    await add_ocpp_station(database, brand, "TWIN-2", evses=2)
    charger = await open_station(brand, "TWIN-2", "ocpp2.0.1")
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
    await charger.close()
    await _until_connected(database, brand.key, "TWIN-2", online=False)

    # Taken out while the station is offline: the job finds no one to ask.
    async with database.tenant_transaction(brand.key) as db_session:
        assert await sites.unassign_evse(db_session, second, tenant_key=brand.key)
    [job] = await _release_jobs(database, brand.key)
    await release_one_evse(jobs, **job)
    assert await _pending(database, brand.key) == [second]
    # The sweep asks nothing of an offline station.
    await sweep_brand(jobs, tenant=brand.key)
    assert len(await _release_jobs(database, brand.key)) == 1

    back = await open_station(brand, "TWIN-2", "ocpp2.0.1")
    await _until_connected(database, brand.key, "TWIN-2", online=True)
    await sweep_brand(jobs, tenant=brand.key)
    again = await _release_jobs(database, brand.key)
    assert again[1:] == [{"tenant": brand.key, "evse_pk": str(second)}]
    await release_one_evse(jobs, **again[1])

    assert back.sent("ClearChargingProfile") == [{"charging_profile_id": 7_100_002}]
    assert await _pending(database, brand.key) == []
    await sweep_brand(jobs, tenant=brand.key)
    assert len(await _release_jobs(database, brand.key)) == 2


async def test_an_evse_put_back_in_a_site_is_not_released(
    database: Database, settings: Settings, make_brand, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)
    brand = await make_brand()
    await add_ocpp_station(database, brand, "TWIN-3", evses=2)
    async with database.tenant_transaction(brand.key) as db_session:
        site = await sites.create_site(
            db_session, SiteInput(name="Depot", capacity_a=D(32), safe_limit_a=D(16))
        )
        first = await db_session.scalar(select(Evse.id).order_by(Evse.evse_id).limit(1))
        assert first is not None
        await sites.assign_evse(db_session, site.id, first)
        await sites.unassign_evse(db_session, first, tenant_key=brand.key)
    assert await _pending(database, brand.key) == [first]
    async with database.tenant_transaction(brand.key) as db_session:
        await sites.assign_evse(db_session, site.id, first)
    assert await _pending(database, brand.key) == []
