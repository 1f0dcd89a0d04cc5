"""An EVSE taken out of its site on a station that stays in it loses its TxDefaultProfile
(a real OCPP 2.0.1 charger with two EVSEs), also when the station was offline then: the
release waits for it to come back."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.ocpp.conftest import add_ocpp_station, gateway
from tests.smart_charging.test_profiles import OpenStation, Station, open_station
from voltlane.core.db import Database
from voltlane.models.tenant import Evse, EvseProfileRelease, Site
from voltlane.ocpp.translate import OcppTranslator
from voltlane.settings import Settings
from voltlane.smart_charging import sites
from voltlane.smart_charging.profiles import connected
from voltlane.smart_charging.sites import RELEASE_EVSE, SiteInput
from voltlane.smart_charging.tasks import rebalance_site, release_one_evse, sweep_brand
from voltlane.station.ports import set_translator
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext, outbox
from voltlane.worker.models import OutboxMessage

__all__ = ["gateway", "open_station"]

D = Decimal


@dataclass
class Twin:
    """A connected two-EVSE 2.0.1 charger whose EVSEs are in a site (the first directly, the
    second under ``circuit`` when given), holding the site's defaults after one pass."""

    charger: Station
    site_id: uuid.UUID
    first: uuid.UUID
    second: uuid.UUID


async def _twin(
    database: Database,
    jobs: JobContext,
    brand: TenantInfo,
    open_station: OpenStation,
    station_id: str,
    circuit: SiteInput | None = None,
) -> Twin:
    set_translator(OcppTranslator())
    await add_ocpp_station(database, brand, station_id, evses=2)
    charger = await open_station(brand, station_id, "ocpp2.0.1")
    async with database.tenant_transaction(brand.key) as db_session:
        site = await sites.create_site(
            db_session, SiteInput(name="Depot", capacity_a=D(32), safe_limit_a=D(16))
        )
        under = site.id
        if circuit is not None:
            under = (await sites.create_site(db_session, replace(circuit, parent_id=site.id))).id
        first, second = list(await db_session.scalars(select(Evse.id).order_by(Evse.evse_id)))
        await sites.assign_evse(db_session, site.id, first)
        await sites.assign_evse(db_session, under, second)
    await rebalance_site(jobs, tenant=brand.key, site_id=str(site.id))
    assert [p["charging_profile"]["id"] for p in charger.sent()] == [7_100_001, 7_100_002]
    return Twin(charger, site.id, first, second)


async def test_an_evse_that_leaves_has_its_default_cleared_and_the_other_keeps_its_own(
    database: Database,
    settings: Settings,
    make_brand,
    open_station: OpenStation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)
    brand = await make_brand()
    jobs = JobContext(database=database, settings=settings)
    twin = await _twin(database, jobs, brand, open_station, "TWIN-1")
    charger, second = twin.charger, twin.second

    async with database.tenant_transaction(brand.key) as db_session:
        assert await sites.unassign_evse(db_session, second, tenant_key=brand.key)
        # Taking out an EVSE that is in no site asks for nothing.
        assert not await sites.unassign_evse(db_session, second, tenant_key=brand.key)
    [job] = await _release_jobs(database, brand.key)
    assert job == {"tenant": brand.key, "evse_pk": str(second)}
    await release_one_evse(jobs, **job)

    # Its default, and the TxProfile a car there may still hold (none: "Unknown" will do).
    assert charger.sent("ClearChargingProfile") == [
        {"charging_profile_id": 7_100_002},
        {"charging_profile_id": 7_200_002},
    ]


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
    brand = await make_brand()
    jobs = JobContext(database=database, settings=settings)
    twin = await _twin(database, jobs, brand, open_station, "TWIN-2")
    charger, second = twin.charger, twin.second
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

    assert back.sent("ClearChargingProfile") == [
        {"charging_profile_id": 7_100_002},
        {"charging_profile_id": 7_200_002},
    ]
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


async def test_a_circuit_switched_off_releases_its_evses_and_switched_on_gets_defaults_again(
    database: Database,
    settings: Settings,
    make_brand,
    open_station: OpenStation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)
    brand = await make_brand()
    jobs = JobContext(database=database, settings=settings)
    hall = SiteInput(name="Hall", capacity_a=D(16), safe_limit_a=D(10))
    twin = await _twin(database, jobs, brand, open_station, "TWIN-4", circuit=hall)
    charger, second, site_id = twin.charger, twin.second, twin.site_id
    async with database.tenant_session(brand.key) as db_session:
        circuit = await db_session.scalar(select(Site).where(Site.parent_id == site_id))
    assert circuit is not None
    hall = replace(hall, parent_id=site_id)

    async with database.tenant_transaction(brand.key) as db_session:
        await sites.update_site(db_session, circuit.id, replace(hall, mode="off"))
    assert await _pending(database, brand.key) == [second]
    await sweep_brand(jobs, tenant=brand.key)
    [job] = await _release_jobs(database, brand.key)
    assert job == {"tenant": brand.key, "evse_pk": str(second)}
    await release_one_evse(jobs, **job)
    await rebalance_site(jobs, tenant=brand.key, site_id=str(site_id))

    # Only the switched-off EVSE is freed; nothing is sent to it by the pass.
    assert charger.sent("ClearChargingProfile") == [
        {"charging_profile_id": 7_100_002},
        {"charging_profile_id": 7_200_002},
    ]
    assert [p["charging_profile"]["id"] for p in charger.sent()] == [7_100_001, 7_100_002]
    assert await _pending(database, brand.key) == []

    async with database.tenant_transaction(brand.key) as db_session:
        await sites.update_site(db_session, circuit.id, hall)
    await rebalance_site(jobs, tenant=brand.key, site_id=str(site_id))
    assert [p["charging_profile"]["id"] for p in charger.sent()][2:] == [7_100_001, 7_100_002]
    assert await _pending(database, brand.key) == []
