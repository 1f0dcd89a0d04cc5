"""Tariff pushes (mod_tariffs Push model): a partner with a tariffs receiver is PUT each
tariff it is offered, exactly as the tariffs module serves it to that partner, again when
a scheduled version takes effect, and sent a DELETE for one it is no longer offered;
a partner without a receiver is sent nothing."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.h4_support import registered_emsp
from voltlane.billing.tariffs import create_tariff_version
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import OcpiPush
from voltlane.ocpi.cdr_tasks import PUSH_TARIFFS, PUSH_TARIFFS_EVERY
from voltlane.ocpi.protocol import ocpi_datetime
from voltlane.ocpi.pushes import deliver
from voltlane.ocpi.tariff_pushes import queue_tariff_pushes
from voltlane.settings import Settings
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo
from voltlane.worker.schedule import SCHEDULES

OK = {"status_code": 1000, "timestamp": "2026-11-25T03:00:00Z"}


def _tariff(code: str, amount: str, **dates: str) -> dict[str, Any]:
    return {
        "id": code,
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": amount, "step_size": 1}]}],
        **dates,
    }


async def _version(
    database: Database,
    brand: TenantInfo,
    definition: dict[str, Any],
    segment: SegmentKind = SegmentKind.PUBLIC,
    ref: str | None = None,
) -> None:
    async with database.tenant_transaction(brand.key) as db_session:
        await create_tariff_version(
            db_session,
            definition=definition,
            segment=segment,
            segment_ref=ref,
            idle_fee=None,
            brand_currency="EUR",
            created_by=None,
        )


async def _queue(database: Database, brand: TenantInfo, at: Any) -> int:
    async with database.tenant_transaction(brand.key) as db_session:
        return await queue_tariff_pushes(db_session, brand, now=at)


async def test_offered_tariffs_are_put_as_served_then_on_change_and_deleted_when_gone(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request(re.compile("^/emsp/tariffs/")).respond_with_json(OK)
    emsp = await registered_emsp(
        database,
        settings.secret_key,
        cpo,
        receiver_base=httpserver.url_for("/emsp"),
        modules=("tariffs",),
    )
    await registered_emsp(database, settings.secret_key, cpo, party=("BE", "XYZ"))
    now = utcnow()
    await _version(database, cpo, _tariff("PUB", "0.40"))
    await _version(database, cpo, _tariff("ROAM", "0.30"), SegmentKind.ROAMING, "NL*EMS")
    await _version(
        database,
        cpo,
        _tariff("OLD", "0.50", end_date_time=ocpi_datetime(now + timedelta(minutes=30))),
    )
    await _version(
        database,
        cpo,
        _tariff("ROAM", "0.35", start_date_time=ocpi_datetime(now + timedelta(hours=1))),
        SegmentKind.ROAMING,
        "NL*EMS",
    )

    first = await _queue(database, cpo, now)
    again = await _queue(database, cpo, now)
    report = await deliver(database, cpo, emsp.id, settings.secret_key)
    async with ocpi_for(cpo, emsp.token) as client:
        served = data_of(await client.get("/ocpi/2.2.1/tariffs"))
    sent = [(r.method, r.path, json.loads(r.data)) for r, _ in httpserver.log]
    assert (first, again, report.sent, report.failed) == (3, 0, 3, 0)
    assert sent == [("PUT", f"/emsp/tariffs/DE/VLT/{t['id']}", t) for t in served]
    assert [(t["id"], t["elements"][0]["price_components"][0]["price"]) for t in served] == [
        ("OLD", 0.5),
        ("PUB", 0.4),
        ("ROAM", 0.3),
    ]

    # Two hours on: the scheduled ROAM version has taken effect, OLD has ended.
    httpserver.clear_log()
    later = await _queue(database, cpo, now + timedelta(hours=2))
    report = await deliver(database, cpo, emsp.id, settings.secret_key)
    sent = [(r.method, r.path, r.data) for r, _ in httpserver.log]
    assert (later, report.sent) == (2, 2)
    assert [(method, path) for method, path, _ in sent] == [
        ("PUT", "/emsp/tariffs/DE/VLT/ROAM"),
        ("DELETE", "/emsp/tariffs/DE/VLT/OLD"),
    ]
    put = json.loads(sent[0][2])
    assert put["elements"][0]["price_components"][0]["price"] == 0.35
    assert put["start_date_time"] == ocpi_datetime(now + timedelta(hours=1))
    assert await _queue(database, cpo, now + timedelta(hours=2)) == 0
    async with database.tenant_session(cpo.key) as db_session:
        partners = set(await db_session.scalars(select(OcpiPush.partner_id)))
    assert partners == {emsp.id}


def test_tariffs_are_reconciled_every_minute() -> None:
    assert SCHEDULES[PUSH_TARIFFS].every == PUSH_TARIFFS_EVERY == timedelta(seconds=60)
