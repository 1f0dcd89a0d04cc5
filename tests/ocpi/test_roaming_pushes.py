"""Roaming pushes: each partner is POSTed each CDR of its drivers once, and told of each of
their sessions as it starts, runs and ends; nobody else's."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta
from typing import Any

from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.roaming_support import (
    MSP_CDR_TOKEN,
    T0,
    add_roaming_token,
    charge,
    rate,
    read_meter,
    roaming_scene,
    stop_charge,
)
from voltlane import billing
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import OcpiPush
from voltlane.ocpi.cdr_tasks import (
    PUSH_CDRS,
    PUSH_SESSIONS,
    push_cdrs_brand,
    push_sessions_brand,
)
from voltlane.ocpi.pushes import deliver, queue_push
from voltlane.ocpi.roaming_pushes import queue_cdr_posts, queue_session_pushes
from voltlane.ocpi.session_objects import sessions_to_push
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext
from voltlane.worker.schedule import SCHEDULES

OK = {"status_code": 1000, "timestamp": "2026-11-25T03:00:00Z"}


async def _pushes(database: Database, brand: TenantInfo) -> list[tuple[str, str, str, str]]:
    async with database.tenant_transaction(brand.key) as db_session:
        rows = await db_session.scalars(select(OcpiPush).order_by(OcpiPush.created_at, OcpiPush.id))
        return [(r.module, r.object_id, r.method, r.path) for r in rows]


async def test_each_roaming_cdr_is_posted_once_to_its_partner_only(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/emsp/cdrs", method="POST").respond_with_json(
        OK, headers={"Location": httpserver.url_for("/emsp/cdrs/1")}
    )
    # OTH has no cdrs receiver endpoint: it reads its CDRs with GET.
    scene = await roaming_scene(
        database,
        settings.secret_key,
        cpo,
        "CP-PUSH-1",
        receiver_base=httpserver.url_for("/emsp"),
    )
    msp, mine = scene.msp, scene.mine
    cdr_id = await rate(database, cpo, mine)
    for session_id in (scene.theirs, scene.own):
        await rate(database, cpo, session_id)
    jobs = JobContext(database=database, settings=settings)

    # Two runs at once: the second waits for the first to commit, then owes nothing more.
    async with database.tenant_transaction(cpo.key) as db_session:
        assert await queue_cdr_posts(db_session, cpo, now=utcnow()) == 1
        second = asyncio.create_task(push_cdrs_brand(jobs, tenant=cpo.key))
        await asyncio.sleep(0.5)
        assert not second.done()
    await second
    await push_cdrs_brand(jobs, tenant=cpo.key)

    assert await _pushes(database, cpo) == [("cdrs", str(cdr_id), "POST", "")]
    report = await deliver(database, cpo, msp.id, settings.secret_key)
    assert (report.sent, report.failed, report.waiting) == (1, 0, 0)
    await push_cdrs_brand(jobs, tenant=cpo.key)
    again = await deliver(database, cpo, msp.id, settings.secret_key)
    assert (again.sent, again.failed, again.waiting) == (0, 0, 0)
    assert [(r.method, r.path) for r, _ in httpserver.log] == [("POST", "/emsp/cdrs")]
    posted = json.loads(httpserver.log[0][0].data)
    async with ocpi_for(cpo, msp.token) as client:
        listed = data_of(await client.get("/ocpi/2.2.1/cdrs"))
    # The full and final CDR, exactly as the partner reads it.
    assert posted == listed[0]
    assert (posted["id"], posted["session_id"]) == (str(cdr_id), str(mine))
    assert posted["total_cost"] == {"excl_vat": 4.8, "incl_vat": 5.71}
    assert posted["cdr_token"]["uid"] == "04AABB"

    # A credit of the CDR is a new CDR: posted once too.
    async with database.tenant_transaction(cpo.key) as db_session:
        credit = await billing.credit_cdr(db_session, cdr_id, reason="meter corrected")
    await push_cdrs_brand(jobs, tenant=cpo.key)
    await push_cdrs_brand(jobs, tenant=cpo.key)
    await deliver(database, cpo, msp.id, settings.secret_key)
    assert await _pushes(database, cpo) == [
        ("cdrs", str(cdr_id), "POST", ""),
        ("cdrs", str(credit.id), "POST", ""),
    ]
    credited = json.loads(httpserver.log[1][0].data)
    assert (credited["id"], credited["credit"], credited["credit_reference_id"]) == (
        str(credit.id),
        True,
        str(cdr_id),
    )
    assert credited["total_cost"] == {"excl_vat": -4.8, "incl_vat": -5.71}
    assert len(httpserver.log) == 2


def _sent(httpserver: HTTPServer) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r.method, r.path, json.loads(r.data)) for r, _ in httpserver.log]


async def test_a_roaming_session_is_put_patched_while_it_runs_and_put_completed_at_its_end(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    httpserver: HTTPServer,
) -> None:
    # OTH has no sessions receiver endpoint.
    scene = await roaming_scene(
        database,
        settings.secret_key,
        cpo,
        "CP-PUSH-2",
        receiver_base=httpserver.url_for("/emsp"),
        stop=False,
    )
    msp, site, session_id = scene.msp, scene.site, scene.mine
    path = f"/emsp/sessions/DE/VLT/{session_id}"
    httpserver.expect_request(path).respond_with_json(OK)

    async def push(after: timedelta) -> int:
        async with database.tenant_transaction(cpo.key) as db_session:
            queued = await queue_session_pushes(db_session, cpo, now=utcnow() + after)
        await deliver(database, cpo, msp.id, settings.secret_key)
        return queued

    # The session started: the partner gets it whole.
    await push_sessions_brand(JobContext(database=database, settings=settings), tenant=cpo.key)
    await deliver(database, cpo, msp.id, settings.secret_key)
    ((method, sent_path, put),) = _sent(httpserver)
    assert (method, sent_path) == ("PUT", path)
    periods = put.pop("charging_periods")
    last_updated = put.pop("last_updated")
    assert put == {
        "country_code": "DE",
        "party_id": "VLT",
        "id": str(session_id),
        "start_date_time": "2026-03-02T10:00:00Z",
        "kwh": 6,
        "cdr_token": MSP_CDR_TOKEN,
        "auth_method": "AUTH_REQUEST",
        "authorization_reference": "AUTH-1",
        "location_id": str(site.location_id),
        "evse_uid": put["evse_uid"],
        "connector_id": "1",
        "currency": "EUR",
        # 6 kWh at the partner's 0.40: 2.40 + 19 % VAT.
        "total_cost": {"excl_vat": 2.4, "incl_vat": 2.86},
        "status": "ACTIVE",
    }
    assert [(p["start_date_time"], p["tariff_id"]) for p in periods] == [
        ("2026-03-02T10:00:00Z", "ROAM-MSP")
    ]
    assert last_updated.endswith("Z")

    # Nothing changed: nothing is sent, however much time passed.
    assert await push(timedelta(0)) == 0
    assert await push(timedelta(seconds=61)) == 0

    # Energy flowed: within the minute nothing, after it a PATCH of what changed.
    await read_meter(database, cpo, site, session_id, T0.replace(minute=45), 9_000)
    assert await push(timedelta(seconds=30)) == 0
    assert await push(timedelta(seconds=61)) == 1
    method, sent_path, patch = _sent(httpserver)[1]
    assert (method, sent_path) == ("PATCH", path)
    assert patch.pop("last_updated").endswith("Z")
    # 9 kWh: 3.60 + 19 % VAT.
    assert patch == {"kwh": 9, "total_cost": {"excl_vat": 3.6, "incl_vat": 4.28}}
    assert await push(timedelta(seconds=122)) == 0

    # It stopped: the whole session again, COMPLETED, at once; then never again.
    await stop_charge(database, cpo, site, session_id, T0.replace(hour=11), 12_000)
    assert await push(timedelta(0)) == 1
    assert await push(timedelta(seconds=61)) == 0
    method, sent_path, final = _sent(httpserver)[2]
    assert (method, sent_path) == ("PUT", path)
    assert final["status"] == "COMPLETED"
    assert final["end_date_time"] == "2026-03-02T11:00:00Z"
    assert final["kwh"] == 12
    assert final["total_cost"] == {"excl_vat": 4.8, "incl_vat": 5.71}
    assert [(p["start_date_time"], p["dimensions"][0]) for p in final["charging_periods"]] == [
        ("2026-03-02T10:00:00Z", {"type": "ENERGY", "volume": 12})
    ]
    assert len(httpserver.log) == 3
    # Only the session of the partner with a sessions receiver was pushed.
    assert {row[1] for row in await _pushes(database, cpo)} == {str(session_id)}


async def test_a_batch_of_sessions_starts_with_those_told_longest_ago(
    database: Database, settings: Settings, cpo: TenantInfo, httpserver: HTTPServer
) -> None:
    scene = await roaming_scene(
        database,
        settings.secret_key,
        cpo,
        "CP-PUSH-3",
        receiver_base=httpserver.url_for("/emsp"),
        stop=False,
    )
    second = await charge(
        database,
        cpo,
        scene.site,
        id_tag="04EEFF",
        roaming_token_id=await add_roaming_token(database, cpo, scene.msp, "04EEFF"),
        stop=False,
    )

    async def first_due() -> uuid.UUID:
        async with database.tenant_transaction(cpo.key) as db_session:
            [row] = await sessions_to_push(
                db_session, scene.msp.id, since=utcnow() - timedelta(days=1), limit=1
            )
            return row.session.id

    async def tell(session_id: uuid.UUID) -> None:
        async with database.tenant_transaction(cpo.key) as db_session:
            await queue_push(
                db_session,
                cpo.key,
                partner_id=scene.msp.id,
                module="sessions",
                object_id=str(session_id),
                method="PUT",
                path=f"/DE/VLT/{session_id}",
                body={"status": "ACTIVE"},
            )

    assert await first_due() == scene.mine  # neither told: the older first
    await tell(scene.mine)
    assert await first_due() == second  # never told before told
    await tell(second)
    assert await first_due() == scene.mine  # told longest ago


def test_both_reconciliations_run_every_30_seconds() -> None:
    assert SCHEDULES[PUSH_CDRS].every == timedelta(seconds=30)
    assert SCHEDULES[PUSH_SESSIONS].every == timedelta(seconds=30)
