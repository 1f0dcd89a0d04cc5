"""The detection jobs: scheduled every minute, fanned out per brand, run for one brand."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import add_location, add_station
from tests.monitoring.factories import connect, set_status
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import Alert
from voltlane.monitoring.tasks import DETECT, DETECT_BRAND, detect_brand, detect_everywhere
from voltlane.settings import Settings
from voltlane.worker import JobContext
from voltlane.worker.models import OutboxMessage
from voltlane.worker.schedule import SCHEDULES


async def test_detection_is_scheduled_every_minute_and_fanned_out_to_each_brand(
    database: Database, make_brand, settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("voltlane.worker.outbox._relay", None)  # keep the jobs in the outbox
    first, second = await make_brand(), await make_brand()
    await detect_everywhere(JobContext(database=database, settings=settings))
    async with database.platform_session() as db_session:
        messages = list(
            await db_session.scalars(
                select(OutboxMessage.message).where(OutboxMessage.actor_name == DETECT_BRAND)
            )
        )
    tenants = [m["kwargs"]["tenant"] for m in messages]
    assert tenants.count(first.key) == 1
    assert tenants.count(second.key) == 1
    assert SCHEDULES[DETECT].every == timedelta(minutes=1)


async def test_one_brands_detection_opens_its_alerts_and_no_other_brands(
    database: Database, make_brand, settings: Settings
):
    brand, other = await make_brand(), await make_brand()
    for each in (brand, other):
        async with database.tenant_transaction(each.key) as db_session:
            station = await add_station(db_session, await add_location(db_session), "CS-1")
            await connect(db_session, each.key, station)
            await set_status(
                db_session, station, "Faulted", utcnow() - timedelta(minutes=6), error_code="E1"
            )
    await detect_brand(JobContext(database=database, settings=settings), tenant=brand.key)
    async with database.tenant_session(brand.key) as db_session:
        ours = [(a.kind.value, a.detail) for a in await db_session.scalars(select(Alert))]
    async with database.tenant_session(other.key) as db_session:
        theirs = list(await db_session.scalars(select(Alert)))
    assert ours == [("faulted", "EVSE 1 connector 1: E1")]
    assert theirs == []
