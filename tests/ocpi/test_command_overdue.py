"""A command whose job never reported (it raised, or was lost) is not left hanging: the
sweep sends the eMSP CommandResult FAILED once, and leaves every other command alone."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.ocpi.h6_support import registered_partner
from voltlane.core.db import Database
from voltlane.models.tenant import OcpiCommand, OcpiPush
from voltlane.ocpi.command_tasks import RESULT_OWED_AFTER, fail_overdue_commands
from voltlane.ocpi.pushes import deliver
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _command(partner_id: object, url: str, age: timedelta, **values: object) -> OcpiCommand:
    return OcpiCommand(
        **{
            "partner_id": partner_id,
            "module": "commands",
            "command": "START_SESSION",
            "request": {"response_url": url},
            "response_url": url,
            "response": "ACCEPTED",
            "created_at": NOW - age,
            **values,
        }
    )


async def test_an_accepted_command_without_a_result_gets_failed_once(
    database: Database, settings: Settings, cpo: TenantInfo, httpserver: HTTPServer
) -> None:
    emsp = await registered_partner(
        database,
        settings,
        cpo,
        endpoints=[{"identifier": "commands", "role": "SENDER", "url": httpserver.url_for("/cmd")}],
    )
    httpserver.expect_request("/cmd/START_SESSION/lost", method="POST").respond_with_json(
        {"status_code": 1000, "timestamp": "2026-11-25T12:00:00Z"}
    )
    late = RESULT_OWED_AFTER + timedelta(seconds=1)
    async with database.tenant_transaction(cpo.key) as db_session:
        rows = {
            "lost": _command(emsp.partner_id, httpserver.url_for("/cmd/START_SESSION/lost"), late),
            "running": _command(
                emsp.partner_id, httpserver.url_for("/cmd/running"), RESULT_OWED_AFTER
            ),
            "answered": _command(
                emsp.partner_id, httpserver.url_for("/cmd/answered"), late, result="ACCEPTED"
            ),
            "refused": _command(
                emsp.partner_id, httpserver.url_for("/cmd/refused"), late, response="REJECTED"
            ),
        }
        db_session.add_all(rows.values())
        await db_session.flush()
        ids = {name: row.id for name, row in rows.items()}
    async with database.tenant_transaction(cpo.key) as db_session:
        failed = await fail_overdue_commands(db_session, cpo.key, now=NOW)
    async with database.tenant_transaction(cpo.key) as db_session:
        again = await fail_overdue_commands(db_session, cpo.key, now=NOW)
    report = await deliver(database, cpo, emsp.partner_id, settings.secret_key)

    assert (failed, again) == (1, 0)
    assert (report.sent, report.failed) == (1, 0)
    assert [(r.path, json.loads(r.data)) for r, _ in httpserver.log] == [
        ("/cmd/START_SESSION/lost", {"result": "FAILED"})
    ]
    async with database.tenant_session(cpo.key) as db_session:
        results = {
            row.id: row.result for row in (await db_session.scalars(select(OcpiCommand))).all()
        }
        pushes = (await db_session.scalars(select(OcpiPush))).all()
    assert results == {
        ids["lost"]: "FAILED",
        ids["running"]: None,
        ids["answered"]: "ACCEPTED",
        ids["refused"]: None,
    }
    assert [(p.module, p.object_id, p.method) for p in pushes] == [
        ("commands", str(ids["lost"]), "POST")
    ]
