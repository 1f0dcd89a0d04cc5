"""The resync: every published location PUT to a partner again, superseding unsent pushes,
in pages; the daily job fans out per brand and per partner that takes location pushes."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update

from tests.factories import add_location, add_station
from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.h4_support import registered_emsp
from voltlane.core.db import Database
from voltlane.models.tenant import Location, OcpiPush
from voltlane.ocpi import resync
from voltlane.ocpi.location_pushes import OcpiLocationChanges
from voltlane.ocpi.location_tasks import RESYNC, resync_brand, resync_one_partner
from voltlane.ocpi.pushes import deliver
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext, outbox
from voltlane.worker.models import OutboxMessage
from voltlane.worker.schedule import SCHEDULES

OK = {"status_code": 1000, "timestamp": "2026-11-25T03:00:00Z"}


async def _sites(database: Database, brand: TenantInfo, names: list[str]) -> list[uuid.UUID]:
    async with database.tenant_transaction(brand.key) as db_session:
        ids = []
        for name in names:
            location = await add_location(db_session, name)
            await add_station(db_session, location, f"ST-{uuid.uuid4().hex[:8]}")
            ids.append(location.id)
        return ids


async def _pushes(
    database: Database, brand: TenantInfo, partner_id: uuid.UUID
) -> list[tuple[str, str, str]]:
    async with database.tenant_transaction(brand.key) as db_session:
        rows = (
            await db_session.scalars(
                select(OcpiPush)
                .where(OcpiPush.partner_id == partner_id)
                .order_by(OcpiPush.created_at, OcpiPush.object_id)
            )
        ).all()
        return [(row.method, row.object_id, row.state.value) for row in rows]


async def test_resync_puts_every_published_location_in_pages_superseding_unsent_pushes(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    httpserver: HTTPServer,
    ocpi_for: OcpiClientFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second, hidden, third = await _sites(database, cpo, ["A", "B", "C", "D"])
    async with database.tenant_transaction(cpo.key) as db_session:
        await db_session.execute(
            update(Location).where(Location.id == hidden).values(publish=False)
        )
    emsp = await registered_emsp(
        database, settings.secret_key, cpo, receiver_base=httpserver.url_for("/emsp")
    )
    # A partner that reads locations with GET only gets nothing.
    other = await registered_emsp(database, settings.secret_key, cpo, party=("BE", "GET"))
    # The staff's edit of A was not sent yet: the resync's PUT of A supersedes it.
    async with database.tenant_transaction(cpo.key) as db_session:
        await db_session.execute(update(Location).where(Location.id == first).values(name="A2"))
    async with database.tenant_transaction(cpo.key) as db_session:
        await OcpiLocationChanges(settings.base_domain).locations_changed(db_session, [first])
    monkeypatch.setattr(resync, "PAGE", 2)

    assert await resync.resync_partner(database, cpo, emsp.id) == 3
    assert await resync.resync_partner(database, cpo, other.id) == 0

    ordered = sorted([first, second, third])
    pushes = await _pushes(database, cpo, emsp.id)
    assert pushes[0] == ("PUT", str(first), "superseded")
    assert sorted(pushes[1:]) == sorted(("PUT", str(key), "pending") for key in ordered)
    assert await _pushes(database, cpo, other.id) == []

    for key in ordered:
        httpserver.expect_request(f"/emsp/locations/DE/VLT/{key}", method="PUT").respond_with_json(
            OK
        )
    report = await deliver(database, cpo, emsp.id, settings.secret_key)
    assert (report.sent, report.failed, report.waiting) == (3, 0, 0)
    sent = {request.path: request.get_json() for request, _ in httpserver.log}
    async with ocpi_for(cpo, emsp.token) as client:
        served = data_of(await client.get("/ocpi/2.2.1/locations"))
    assert sent == {f"/emsp/locations/DE/VLT/{body['id']}": body for body in served}
    assert sent[f"/emsp/locations/DE/VLT/{first}"]["name"] == "A2"


async def test_the_daily_job_fans_out_to_the_partners_that_take_location_pushes(
    database: Database, settings: Settings, cpo: TenantInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)  # the jobs stay in the outbox to be read
    (site,) = await _sites(database, cpo, ["A"])
    emsp = await registered_emsp(
        database, settings.secret_key, cpo, receiver_base="http://emsp.invalid"
    )
    await registered_emsp(database, settings.secret_key, cpo, party=("BE", "GET"))
    jobs = JobContext(database=database, settings=settings)

    assert SCHEDULES[RESYNC].every == timedelta(days=1)
    assert await resync.partners_to_resync(database, cpo) == [emsp.id]
    await resync_brand(jobs, tenant=cpo.key)
    async with database.platform_transaction() as db_session:
        fanned = (
            await db_session.scalars(
                select(OutboxMessage.message).where(
                    OutboxMessage.actor_name == "ocpi.resync_partner",
                    OutboxMessage.message["kwargs"]["tenant"].astext == cpo.key,
                )
            )
        ).all()
    assert [message["kwargs"] for message in fanned] == [
        {"tenant": cpo.key, "partner_id": str(emsp.id)}
    ]

    await resync_one_partner(jobs, tenant=cpo.key, partner_id=str(emsp.id))
    assert await _pushes(database, cpo, emsp.id) == [("PUT", str(site), "pending")]
