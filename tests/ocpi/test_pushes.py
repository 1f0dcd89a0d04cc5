"""The push outbox: what a partner must be told goes out in order, once, after commit;
a partner that fails holds that object's later pushes back and is retried with back-off."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import OcpiPartner, OcpiPush, PartnerInitiator, PartnerState
from voltlane.ocpi.auth import authorization_header
from voltlane.ocpi.partners import seal_partner_token
from voltlane.ocpi.pushes import DELIVER, deliver, queue_push, retry_delay, retry_now
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.worker import outbox
from voltlane.worker.models import OutboxMessage

OK = {"status_code": 1000, "timestamp": "2026-11-25T03:00:00Z"}


async def _partner(
    database: Database, brand: TenantInfo, settings: Settings, url: str, party: str = "EMS"
) -> OcpiPartner:
    async with database.tenant_transaction(brand.key) as db_session:
        partner = OcpiPartner(
            name="Mobility eMSP",
            state=PartnerState.REGISTERED,
            initiated_by=PartnerInitiator.THEM,
            country_code="NL",
            party_id=party,
            endpoints=[{"identifier": "locations", "role": "RECEIVER", "url": url}],
            token_sealed=seal_partner_token(settings.secret_key, "their-token-b"),
        )
        db_session.add(partner)
    return partner


async def _states(database: Database, brand: TenantInfo) -> list[tuple[str, str, int]]:
    async with database.tenant_transaction(brand.key) as db_session:
        rows = (await db_session.scalars(select(OcpiPush).order_by(OcpiPush.created_at))).all()
        return [(row.path, row.state.value, row.attempts) for row in rows]


async def test_pushes_go_out_in_order_with_the_token_and_routing_headers(
    database: Database, cpo: TenantInfo, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/emsp/locations/DE/VLT/LOC1", method="PUT").respond_with_json(OK)
    httpserver.expect_request(
        "/emsp/locations/DE/VLT/LOC1/EVSE1", method="PATCH"
    ).respond_with_json(OK)
    partner = await _partner(database, cpo, settings, httpserver.url_for("/emsp/locations"))
    async with database.tenant_transaction(cpo.key) as db_session:
        for method, path, body in (
            ("PUT", "/DE/VLT/LOC1", {"id": "LOC1"}),
            ("PATCH", "/DE/VLT/LOC1/EVSE1", {"status": "CHARGING"}),
        ):
            await queue_push(
                db_session,
                cpo.key,
                partner_id=partner.id,
                module="locations",
                object_id="LOC1",
                method=method,
                path=path,
                body=body,
            )

    report = await deliver(database, cpo, partner.id, settings.secret_key)

    assert (report.sent, report.failed, report.waiting) == (2, 0, 0)
    requests = [request for request, _ in httpserver.log]
    assert [(r.method, r.path) for r in requests] == [
        ("PUT", "/emsp/locations/DE/VLT/LOC1"),
        ("PATCH", "/emsp/locations/DE/VLT/LOC1/EVSE1"),
    ]
    assert json.loads(requests[1].data) == {"status": "CHARGING"}
    assert requests[0].headers["Authorization"] == authorization_header("their-token-b")
    assert requests[0].headers["OCPI-from-country-code"] == "DE"
    assert requests[0].headers["OCPI-from-party-id"] == "VLT"
    assert requests[0].headers["OCPI-to-country-code"] == "NL"
    assert requests[0].headers["OCPI-to-party-id"] == "EMS"
    assert await _states(database, cpo) == [
        ("/DE/VLT/LOC1", "sent", 1),
        ("/DE/VLT/LOC1/EVSE1", "sent", 1),
    ]
    # Delivering again sends nothing twice.
    again = await deliver(database, cpo, partner.id, settings.secret_key)
    assert (again.sent, again.failed, again.waiting) == (0, 0, 0)
    assert len(httpserver.log) == 2


async def test_a_failing_partner_holds_the_objects_later_pushes_and_is_retried(
    database: Database, cpo: TenantInfo, settings: Settings, httpserver: HTTPServer
) -> None:
    answers = iter(
        [Response("busy", status=503), Response(json.dumps(OK), content_type="application/json")]
    )

    def flaky(_: Request) -> Response:
        return next(answers)

    httpserver.expect_request("/emsp/locations/DE/VLT/LOC1", method="PUT").respond_with_handler(
        flaky
    )
    httpserver.expect_request("/emsp/locations/DE/VLT/LOC2", method="PUT").respond_with_json(OK)
    httpserver.expect_request("/emsp/locations/DE/VLT/LOC1/E1", method="PATCH").respond_with_json(
        OK
    )
    partner = await _partner(database, cpo, settings, httpserver.url_for("/emsp/locations"))
    async with database.tenant_transaction(cpo.key) as db_session:
        for object_id, method, path in (
            ("LOC1", "PUT", "/DE/VLT/LOC1"),
            ("LOC1", "PATCH", "/DE/VLT/LOC1/E1"),
            ("LOC2", "PUT", "/DE/VLT/LOC2"),
        ):
            await queue_push(
                db_session,
                cpo.key,
                partner_id=partner.id,
                module="locations",
                object_id=object_id,
                method=method,
                path=path,
                body={"id": object_id},
            )

    first = await deliver(database, cpo, partner.id, settings.secret_key)

    # LOC1's PUT failed with 503: its PATCH waits behind it; LOC2 is not held up.
    assert (first.sent, first.failed, first.waiting) == (1, 0, 2)
    assert await _states(database, cpo) == [
        ("/DE/VLT/LOC1", "pending", 1),
        ("/DE/VLT/LOC1/E1", "pending", 0),
        ("/DE/VLT/LOC2", "sent", 1),
    ]
    async with database.tenant_transaction(cpo.key) as db_session:
        failed = await db_session.scalar(select(OcpiPush).where(OcpiPush.path == "/DE/VLT/LOC1"))
        assert failed is not None
        assert failed.last_http_status == 503
        assert failed.next_attempt_at - utcnow() <= retry_delay(1)
        assert failed.next_attempt_at > utcnow() + timedelta(seconds=3)
        # Staff press "Retry": it is due at once.
        assert await retry_now(db_session, cpo.key, failed.id) is True

    second = await deliver(database, cpo, partner.id, settings.secret_key)

    assert (second.sent, second.failed, second.waiting) == (2, 0, 0)
    assert [r.path for r, _ in httpserver.log] == [
        "/emsp/locations/DE/VLT/LOC1",
        "/emsp/locations/DE/VLT/LOC2",
        "/emsp/locations/DE/VLT/LOC1",
        "/emsp/locations/DE/VLT/LOC1/E1",
    ]


async def test_a_refusal_is_not_retried_and_a_newer_put_supersedes_an_unsent_one(
    database: Database, cpo: TenantInfo, settings: Settings, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/emsp/locations/DE/VLT/BAD", method="PUT").respond_with_json(
        {"status_code": 2001, "status_message": "missing name", "timestamp": "2026-11-25T03:00:00Z"}
    )
    httpserver.expect_request("/emsp/locations/DE/VLT/LOC1", method="PUT").respond_with_json(OK)
    partner = await _partner(database, cpo, settings, httpserver.url_for("/emsp/locations"))
    async with database.tenant_transaction(cpo.key) as db_session:
        for object_id, body in (("BAD", {"v": 1}), ("LOC1", {"v": 1}), ("LOC1", {"v": 2})):
            await queue_push(
                db_session,
                cpo.key,
                partner_id=partner.id,
                module="locations",
                object_id=object_id,
                method="PUT",
                path=f"/DE/VLT/{object_id}",
                body=body,
            )

    report = await deliver(database, cpo, partner.id, settings.secret_key)

    assert (report.sent, report.failed, report.waiting) == (1, 1, 0)
    assert await _states(database, cpo) == [
        ("/DE/VLT/BAD", "failed", 1),
        ("/DE/VLT/LOC1", "superseded", 0),
        ("/DE/VLT/LOC1", "sent", 1),
    ]
    sent = [r for r, _ in httpserver.log if r.path.endswith("LOC1")]
    assert [json.loads(r.data) for r in sent] == [{"v": 2}]
    async with database.tenant_transaction(cpo.key) as db_session:
        bad = await db_session.scalar(select(OcpiPush).where(OcpiPush.object_id == "BAD"))
        assert bad is not None
        assert (bad.last_http_status, bad.last_ocpi_status) == (200, 2001)
        assert bad.last_error == (
            f"PUT {httpserver.url_for('/emsp/locations')}/DE/VLT/BAD:"
            " HTTP 200, OCPI 2001: missing name"
        )


async def test_many_pushes_in_one_transaction_write_one_delivery_job_per_partner(
    database: Database, cpo: TenantInfo, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)  # the jobs are read from the outbox
    first = await _partner(database, cpo, settings, "http://127.0.0.1:9/a")
    second = await _partner(database, cpo, settings, "http://127.0.0.1:9/b", "TWO")
    async with database.tenant_transaction(cpo.key) as db_session:
        for partner in (first, second, first, first, second):
            await queue_push(
                db_session,
                cpo.key,
                partner_id=partner.id,
                module="locations",
                object_id="LOC1",
                method="PATCH",
                path="/DE/VLT/LOC1",
                body={"n": 1},
            )
    async with database.tenant_transaction(cpo.key) as db_session:
        await queue_push(
            db_session,
            cpo.key,
            partner_id=first.id,
            module="locations",
            object_id="LOC1",
            method="PATCH",
            path="/DE/VLT/LOC1",
            body={"n": 2},
        )
    async with database.platform_session() as db_session:
        jobs = (
            await db_session.scalars(
                select(OutboxMessage).where(OutboxMessage.actor_name == DELIVER)
            )
        ).all()
    partners = sorted(
        job.message["kwargs"]["partner_id"]
        for job in jobs
        if job.message["kwargs"]["tenant"] == cpo.key
    )
    assert partners == sorted([str(first.id), str(second.id), str(first.id)])
