"""The jobs of smart charging: the brand sweep enqueues a pass per grid connection with EVSEs
in its tree, and the pass job reaches a real charger through its own command path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import add_location, add_station
from tests.ocpp.conftest import add_ocpp_station, gateway
from tests.smart_charging.test_profiles import OpenStation, open_station
from voltlane.core.db import Database
from voltlane.models.tenant import Evse, ProfileSupport, StationProfileSupport
from voltlane.ocpp.translate import OcppTranslator
from voltlane.settings import Settings
from voltlane.smart_charging import sites
from voltlane.smart_charging.sites import SiteInput
from voltlane.smart_charging.tasks import (
    REBALANCE,
    RELEASE,
    rebalance_site,
    release,
    sweep_brand,
)
from voltlane.station.ports import set_translator
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext, outbox
from voltlane.worker.models import OutboxMessage

__all__ = ["gateway", "open_station"]

D = Decimal
MakeBrand = Callable[..., Awaitable[TenantInfo]]


async def test_the_sweep_enqueues_a_pass_per_grid_connection_with_evses(
    database: Database, settings: Settings, make_brand: MakeBrand, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)  # keep the jobs in the outbox to read them
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        station = await add_station(db_session, location, "SWEEP-1", evses=2)
        first, second = list(
            await db_session.scalars(
                select(Evse.id).where(Evse.charging_station_id == station.id).order_by(Evse.evse_id)
            )
        )
        depot = await sites.create_site(
            db_session, SiteInput(name="Depot", capacity_a=D(63), safe_limit_a=D(32))
        )
        garage = await sites.create_site(
            db_session,
            SiteInput(name="Garage", capacity_a=D(32), safe_limit_a=D(16), parent_id=depot.id),
        )
        await sites.create_site(
            db_session, SiteInput(name="Empty", capacity_a=D(63), safe_limit_a=D(32))
        )
        off = await sites.create_site(
            db_session, SiteInput(name="Off", capacity_a=D(63), safe_limit_a=D(32), mode="off")
        )
        await sites.assign_evse(db_session, garage.id, first)  # only under the circuit
        await sites.assign_evse(db_session, off.id, second)

    await sweep_brand(JobContext(database=database, settings=settings), tenant=brand.key)

    async with database.platform_session() as db_session:
        jobs = [
            message["kwargs"]
            for message in await db_session.scalars(
                select(OutboxMessage.message).where(OutboxMessage.actor_name == REBALANCE)
            )
            if message["kwargs"]["tenant"] == brand.key
        ]
    assert jobs == [{"tenant": brand.key, "site_id": str(depot.id)}]


async def test_the_pass_job_reaches_the_charger_and_a_station_that_leaves_is_released(
    database: Database,
    settings: Settings,
    make_brand: MakeBrand,
    open_station: OpenStation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)
    set_translator(OcppTranslator())
    brand = await make_brand()
    await add_ocpp_station(database, brand, "JOB-1")
    charger = await open_station(brand, "JOB-1", "ocpp2.0.1")
    async with database.tenant_transaction(brand.key) as db_session:
        site = await sites.create_site(
            db_session, SiteInput(name="Depot", capacity_a=D(32), safe_limit_a=D(16))
        )
        evse_pk = await db_session.scalar(select(Evse.id))
        assert evse_pk is not None
        await sites.assign_evse(db_session, site.id, evse_pk, phases="1")

    await rebalance_site(
        JobContext(database=database, settings=settings), tenant=brand.key, site_id=str(site.id)
    )

    [payload] = charger.sent()
    profile = payload["charging_profile"]
    assert (payload["evse_id"], profile["id"], profile["charging_profile_purpose"]) == (
        1,
        7_100_001,
        "TxDefaultProfile",
    )
    assert profile["charging_schedule"][0]["charging_schedule_period"] == [
        {"start_period": 0, "limit": 6.0, "number_phases": 1}
    ]
    async with database.tenant_session(brand.key) as db_session:
        status = await db_session.scalar(select(StationProfileSupport.status))
    assert status is ProfileSupport.SUPPORTED

    # The EVSE leaves the site: the sweep asks for a release, which clears the default
    # and the fallback and forgets the station's support row.
    async with database.tenant_transaction(brand.key) as db_session:
        assert await sites.unassign_evse(db_session, evse_pk)
    jobs = JobContext(database=database, settings=settings)
    await sweep_brand(jobs, tenant=brand.key)
    async with database.platform_session() as db_session:
        [release_job] = [
            message["kwargs"]
            for message in await db_session.scalars(
                select(OutboxMessage.message).where(OutboxMessage.actor_name == RELEASE)
            )
            if message["kwargs"]["tenant"] == brand.key
        ]
    await release(jobs, **release_job)

    assert charger.sent("ClearChargingProfile") == [
        {"charging_profile_id": 7_100_001},
        {"charging_profile_id": 7_000_000},
    ]
    async with database.tenant_session(brand.key) as db_session:
        assert await db_session.scalar(select(StationProfileSupport)) is None
