"""Detection: each condition opens one alert while it lasts and resolves when it clears."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update
from werkzeug import Request, Response

import voltlane.identity.tasks
import voltlane.monitoring.tasks  # noqa: F401 - registers monitoring.deliver_webhook
from tests.factories import add_location, add_station
from tests.monitoring.factories import (
    add_register,
    add_security_event,
    add_session,
    connect,
    disconnect,
    set_status,
)
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    Alert,
    AlertKind,
    AlertRule,
    Notification,
    StationState,
    StationStatePeriod,
)
from voltlane.monitoring import service as monitoring
from voltlane.monitoring.delivery import WebhookFailedError, send_webhook
from voltlane.monitoring.schemas import DetectionResult, RuleInput
from voltlane.tenancy import TenantInfo
from voltlane.worker.models import OutboxMessage


async def detect(database: Database, brand: TenantInfo, minutes: float = 0) -> DetectionResult:
    async with database.tenant_transaction(brand.key) as db_session:
        return await monitoring.detect(db_session, brand, now=utcnow() + timedelta(minutes=minutes))


async def alerts(database: Database, brand: TenantInfo) -> list[tuple[str, str, str, str, int]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(select(Alert).order_by(Alert.opened_at, Alert.station_id))
        return [(a.kind.value, a.station_id, a.detail, a.status.value, a.occurrences) for a in rows]


async def test_a_station_offline_past_the_threshold_is_alerted_once_and_resolved_when_back(
    database: Database, make_brand
):
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        depot = await add_location(db_session)
        station = await add_station(db_session, depot, "CS-OFF")
        await add_station(db_session, depot, "CS-NEVER")
    async with database.tenant_transaction(brand.key) as db_session:
        on = await add_station(db_session, await add_location(db_session, "Yard"), "CS-UP")
        await connect(db_session, brand.key, on)

    assert await detect(database, brand, minutes=10) == DetectionResult(opened=0, resolved=0)
    assert await detect(database, brand, minutes=16) == DetectionResult(opened=2, resolved=0)
    assert await detect(database, brand, minutes=17) == DetectionResult(opened=0, resolved=0)
    async with database.tenant_transaction(brand.key) as db_session:
        await connect(db_session, brand.key, station)
    assert await detect(database, brand, minutes=18) == DetectionResult(opened=0, resolved=1)

    assert await alerts(database, brand) == [
        ("offline", "CS-NEVER", "", "open", 1),
        ("offline", "CS-OFF", "", "resolved", 1),
    ]
    async with database.tenant_session(brand.key) as db_session:
        periods = list(await db_session.scalars(select(StationStatePeriod)))
    assert sorted((p.charging_station_id == on.id, p.state, p.ended_at) for p in periods) == [
        (False, StationState.ONLINE, None),
        (True, StationState.ONLINE, None),
    ]


async def test_a_disconnected_station_is_offline_from_its_last_sighting(
    database: Database, make_brand
):
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        station = await add_station(db_session, await add_location(db_session), "CS-1")
        await connect(db_session, brand.key, station)
    await detect(database, brand, minutes=0)
    await detect(database, brand, minutes=30)  # seen online half an hour later
    async with database.tenant_transaction(brand.key) as db_session:
        await disconnect(db_session, brand.key, station)
    assert await detect(database, brand, minutes=40) == DetectionResult(opened=0, resolved=0)
    assert await detect(database, brand, minutes=46) == DetectionResult(opened=1, resolved=0)
    async with database.tenant_session(brand.key) as db_session:
        period = await db_session.scalar(select(StationStatePeriod))
        alert = await db_session.scalar(select(Alert))
    assert period is not None
    assert alert is not None
    assert period.ended_at == period.last_seen_at
    assert (period.ended_at - period.started_at).total_seconds() == pytest.approx(1800, abs=2)
    assert alert.since == period.ended_at


async def test_a_faulted_connector_and_a_stuck_session_are_alerted_with_what_they_are(
    database: Database, make_brand
):
    brand = await make_brand()
    now = utcnow()
    async with database.tenant_transaction(brand.key) as db_session:
        station = await add_station(db_session, await add_location(db_session), "CS-1", evses=2)
        await connect(db_session, brand.key, station)
        await set_status(
            db_session, station, "Faulted", now - timedelta(minutes=6), error_code="GroundFailure"
        )
        await set_status(db_session, station, "Faulted", now - timedelta(minutes=2), evse_id=2)
        stuck = await add_session(db_session, station, now - timedelta(hours=8))
        await add_register(db_session, stuck, now - timedelta(hours=7), 5000)
        await add_register(db_session, stuck, now - timedelta(hours=1), 5000)
        moving = await add_session(db_session, station, now - timedelta(hours=8))
        await add_register(db_session, moving, now - timedelta(hours=7), 5000)
        await add_register(db_session, moving, now - timedelta(hours=1), 9000)
    assert await detect(database, brand) == DetectionResult(opened=2, resolved=0)
    assert sorted(await alerts(database, brand)) == [
        ("faulted", "CS-1", "EVSE 1 connector 1: GroundFailure", "open", 1),
        ("stuck_session", "CS-1", stuck.transaction_id, "open", 1),
    ]
    async with database.tenant_session(brand.key) as db_session:
        values = {
            alert.kind.value: alert.detail_values
            for alert in await db_session.scalars(select(Alert))
        }
    # The portal says these in the reader's language (portal/alerts/_macros.html detail).
    assert values == {
        "faulted": {"evse": 1, "connector": 1, "error": "GroundFailure"},
        "stuck_session": None,
    }
    async with database.tenant_transaction(brand.key) as db_session:
        await set_status(db_session, station, "Available", utcnow())
    assert await detect(database, brand, minutes=4) == DetectionResult(opened=1, resolved=1)
    assert sorted(await alerts(database, brand)) == [
        ("faulted", "CS-1", "EVSE 1 connector 1: GroundFailure", "resolved", 1),
        ("faulted", "CS-1", "EVSE 2 connector 1", "open", 1),
        ("stuck_session", "CS-1", stuck.transaction_id, "open", 1),
    ]


async def test_security_events_open_one_alert_that_resolves_after_the_quiet_period(
    database: Database, make_brand
):
    brand = await make_brand()
    now = utcnow()
    async with database.tenant_transaction(brand.key) as db_session:
        station = await add_station(db_session, await add_location(db_session), "CS-1")
        await connect(db_session, brand.key, station)
        await add_security_event(db_session, station, "SignCertificate", now)  # housekeeping
        await add_security_event(db_session, station, "AuthenticationFailed", now)
    assert await detect(database, brand) == DetectionResult(opened=1, resolved=0)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_security_event(
            db_session, station, "SecurityEventNotification", now + timedelta(minutes=1)
        )
    assert await detect(database, brand, minutes=2) == DetectionResult(opened=0, resolved=0)
    assert await alerts(database, brand) == [
        ("security", "CS-1", "SecurityEventNotification", "open", 2)
    ]
    assert await detect(database, brand, minutes=62) == DetectionResult(opened=0, resolved=1)


async def test_switching_a_rule_off_resolves_its_alerts_and_opens_none(
    database: Database, make_brand
):
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_station(db_session, await add_location(db_session), "CS-1")
    assert await detect(database, brand, minutes=20) == DetectionResult(opened=1, resolved=0)
    async with database.tenant_transaction(brand.key) as db_session:
        await db_session.execute(
            update(AlertRule).where(AlertRule.kind == AlertKind.OFFLINE).values(enabled=False)
        )
    assert await detect(database, brand, minutes=21) == DetectionResult(opened=0, resolved=1)
    assert await detect(database, brand, minutes=22) == DetectionResult(opened=0, resolved=0)


async def test_an_alert_is_mailed_to_each_address_and_posted_signed_to_the_webhook(
    database: Database, make_brand, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr("voltlane.worker.outbox._relay", None)  # keep the jobs in the outbox
    brand = await make_brand()
    received: list[Request] = []

    def take(request: Request) -> Response:
        received.append(request)
        return Response("ok", status=200)

    httpserver.expect_request("/hooks/alerts", method="POST").respond_with_handler(take)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_station(db_session, await add_location(db_session), "CS-1")
        rule, _ = await monitoring.update_rule(
            db_session,
            "offline",
            RuleInput(
                enabled=True,
                threshold="15",
                emails="ops@example.com, Night@Example.com",
                webhook_url=httpserver.url_for("/hooks/alerts"),
            ),
        )
        secret = rule.webhook_secret
    assert secret is not None
    await detect(database, brand, minutes=16)

    async with database.tenant_session(brand.key) as db_session:
        mails = list(
            await db_session.scalars(select(Notification).order_by(Notification.recipient))
        )
        alert = await db_session.scalar(select(Alert))
    async with database.platform_session() as db_session:
        jobs = list(
            await db_session.scalars(
                select(OutboxMessage.message).where(
                    OutboxMessage.actor_name == "monitoring.deliver_webhook"
                )
            )
        )
    assert alert is not None
    assert [(m.kind, m.recipient, m.subject) for m in mails] == [
        ("alert", "night@example.com", f"[{brand.name}] Alert: Station CS-1 is offline"),
        ("alert", "ops@example.com", f"[{brand.name}] Alert: Station CS-1 is offline"),
    ]
    assert [job["kwargs"] for job in jobs if job["kwargs"]["tenant"] == brand.key] == [
        {"tenant": brand.key, "alert_id": str(alert.id), "event": "opened"}
    ]

    async with database.tenant_session(brand.key) as db_session:
        assert (
            await send_webhook(db_session, brand, alert.id, "opened", private_addresses=True)
            is True
        )
    [request] = received
    body = request.get_data()
    assert request.headers["X-Voltlane-Signature"] == (
        "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    )
    assert request.headers["X-Voltlane-Delivery"] == f"{alert.id}:opened"
    document = json.loads(body)
    assert (document["event"], document["brand"], document["summary"]) == (
        "alert.opened",
        brand.key,
        "Station CS-1 is offline",
    )
    assert document["alert"]["kind"] == "offline"
    assert document["alert"]["status"] == "open"


async def test_a_webhook_the_receiver_refuses_fails_so_that_its_job_retries(
    database: Database, make_brand, httpserver: HTTPServer
):
    brand = await make_brand()
    httpserver.expect_request("/down").respond_with_data("busy", status=503)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_station(db_session, await add_location(db_session), "CS-1")
        await monitoring.update_rule(
            db_session,
            "offline",
            RuleInput(
                enabled=True, threshold="1", emails="", webhook_url=httpserver.url_for("/down")
            ),
        )
    await detect(database, brand, minutes=2)
    async with database.tenant_session(brand.key) as db_session:
        alert = await db_session.scalar(select(Alert))
        assert alert is not None
        with pytest.raises(WebhookFailedError, match="the receiver answered 503"):
            await send_webhook(db_session, brand, alert.id, "opened", private_addresses=True)
        # Without the platform's permission the platform's own network is out of reach,
        # and nothing is sent.
        with pytest.raises(
            WebhookFailedError,
            match=r"the webhook's host localhost is not public \((127\.0\.0\.1|::1)\)",
        ):
            await send_webhook(db_session, brand, alert.id, "opened")
    assert len(httpserver.log) == 1
