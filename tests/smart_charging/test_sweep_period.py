"""The sweep honours each site's allocation period: a quiet site is passed on the first
tick after each multiple of its period, a site where something waits on every tick."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.factories import add_location, add_session_16, add_station
from voltlane.core.db import Database
from voltlane.models.tenant import Evse, ProfileSupport, StationProfileSupport
from voltlane.settings import Settings
from voltlane.smart_charging import sites, tasks
from voltlane.smart_charging.sites import SiteInput
from voltlane.smart_charging.tasks import REBALANCE, period_due, sweep_brand
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext, outbox
from voltlane.worker.models import OutboxMessage

D = Decimal
NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_a_period_is_due_on_the_first_tick_after_each_multiple() -> None:
    ticks = [NOON + timedelta(seconds=s) for s in range(5, 125, 15)]
    assert [t.second for t in ticks if period_due(60, t)] == [5, 5]
    assert [period_due(5, t) for t in ticks] == [True] * len(ticks)
    assert [t.strftime("%M:%S") for t in ticks if period_due(30, t)] == [
        "00:05",
        "00:35",
        "01:05",
        "01:35",
    ]


async def _jobs(database: Database, brand: TenantInfo) -> int:
    async with database.platform_session() as db_session:
        found = [
            m
            for m in await db_session.scalars(
                select(OutboxMessage.message).where(OutboxMessage.actor_name == REBALANCE)
            )
            if m["kwargs"]["tenant"] == brand.key
        ]
    async with database.platform_transaction() as db_session:
        for row in await db_session.scalars(
            select(OutboxMessage).where(OutboxMessage.actor_name == REBALANCE)
        ):
            if row.message["kwargs"]["tenant"] == brand.key:
                await db_session.delete(row)
    return len(found)


async def test_a_quiet_site_waits_for_its_period_and_a_new_session_does_not(
    database: Database, settings: Settings, make_brand, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)  # keep the jobs in the outbox to count them
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        station = await add_station(db_session, location, "TICK-1")
        site = await sites.create_site(
            db_session, SiteInput(name="Depot", capacity_a=D(63), safe_limit_a=D(32))
        )
        evse_pk = await db_session.scalar(
            select(Evse.id).where(Evse.charging_station_id == station.id)
        )
        assert isinstance(evse_pk, uuid.UUID)
        await sites.assign_evse(db_session, site.id, evse_pk)
        db_session.add(
            StationProfileSupport(
                charging_station_id=station.id,
                status=ProfileSupport.SUPPORTED,
                checked_at=NOON - timedelta(hours=1),
            )
        )
    jobs = JobContext(database=database, settings=settings)

    async def sweep_at(second: int) -> int:
        monkeypatch.setattr(tasks, "utcnow", lambda: NOON + timedelta(seconds=second))
        await sweep_brand(jobs, tenant=brand.key)
        return await _jobs(database, brand)

    # The station holds its defaults and nobody charges: only the 60 s period counts.
    assert [await sweep_at(s) for s in (20, 35, 50, 65, 80)] == [0, 0, 0, 1, 0]
    async with database.tenant_transaction(brand.key) as db_session:
        await add_session_16(
            db_session, station, id_tag="CARD-1", started_at=NOON, meter_start_wh=0
        )
    # A session with no allocation yet is picked up by the next tick.
    assert await sweep_at(95) == 1
