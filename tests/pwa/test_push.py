"""Web push notifications of a charge started from the app, sent to a local push service
that decrypts them with the subscribing browser's private key: charging finished (every
subscribed browser, once; a 410 removes the subscription) and the idle fee warning."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpp.v201 import call as call201
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.fakes.push import FakeBrowser, FakePushService
from tests.ocpp.conftest import add_ocpp_station, gateway, open_charger
from tests.pwa.push_support import (
    SUBJECT,
    add_charge_request,
    add_driver,
    subscriptions,
    vapid,
)
from voltlane import billing
from voltlane.core.clock import iso_utc, utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingSession, ChargingStation, PushSubscription
from voltlane.models.tenant.driver import PushDelivery
from voltlane.pwa.push_events import (
    CHARGING_FINISHED,
    IDLE_FEE_SOON,
    due_events,
    idle_fee_starts_in,
    send_event,
)
from voltlane.pwa.push_keys import VapidKeys
from voltlane.pwa.tasks import SEND_PUSH, notify_brand, send_push
from voltlane.settings import Settings
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext
from voltlane.worker.models import OutboxMessage

__all__ = ["gateway", "open_charger", "vapid"]

REGISTER = "Energy.Active.Import.Register"


@pytest.fixture
def push_service(httpserver: HTTPServer) -> FakePushService:
    return FakePushService(httpserver)


def transaction_event(kind: str, seq: int, at: datetime, state: str, wh: int) -> Any:
    return call201.TransactionEvent(
        event_type=kind,
        timestamp=iso_utc(at),
        trigger_reason={"Started": "Authorized", "Updated": "ChargingStateChanged"}.get(
            kind, "EVDeparted"
        ),
        seq_no=seq,
        transaction_info={"transaction_id": "TX-APP-1", "charging_state": state}
        | ({"stopped_reason": "EVDisconnected"} if kind == "Ended" else {}),
        evse={"id": 1, "connector_id": 1} if kind == "Started" else None,
        id_token={"id_token": "VLAPPTOKEN0001", "type": "Central"} if kind == "Started" else None,
        meter_value=[
            {
                "timestamp": iso_utc(at),
                "sampled_value": [
                    {"value": wh, "measurand": REGISTER, "unit_of_measure": {"unit": "Wh"}}
                ],
            }
        ],
    )


async def app_session(
    database: Database, brand: TenantInfo, open_charger: Any, events: list[Any]
) -> uuid.UUID:
    """A session a real OCPP 2.0.1 charger reports, started from the app (idle fee: 0.10
    a minute after an hour's grace)."""
    await add_ocpp_station(database, brand, "CP201")
    async with database.tenant_transaction(brand.key) as db_session:
        await billing.create_tariff_version(
            db_session,
            definition={
                "id": "APP-AC",
                "currency": "EUR",
                "elements": [
                    {"price_components": [{"type": "ENERGY", "price": "0.39", "step_size": 1}]}
                ],
            },
            segment=SegmentKind.PUBLIC,
            segment_ref=None,
            idle_fee={"price_per_minute": "0.10", "grace": 3600, "step_size": 60},
            brand_currency="EUR",
            created_by="finance@example.com",
        )
        await billing.assign_tariff(db_session, "APP-AC")
    charger = await open_charger(brand, "CP201", "ocpp2.0.1")
    for event in events:
        await charger.cp.call(event)
    async with database.tenant_session(brand.key) as db_session:
        session_id: uuid.UUID = await db_session.scalar(
            select(ChargingSession.id)
            .join(ChargingStation)
            .where(ChargingStation.station_id == "CP201")
        )
    return session_id


async def test_charging_finished_reaches_every_subscribed_browser_once(
    database: Database,
    make_brand,
    settings: Settings,
    open_charger,
    push_service: FakePushService,
    vapid: VapidKeys,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("voltlane.worker.outbox._relay", None)  # keep the jobs in the outbox
    brand = await make_brand(locale="en_GB")
    start = utcnow().replace(microsecond=0) - timedelta(minutes=50)
    session_id = await app_session(
        database,
        brand,
        open_charger,
        [
            transaction_event("Started", 0, start, "Charging", 50_000),
            transaction_event("Updated", 1, start + timedelta(minutes=40), "SuspendedEV", 62_500),
            transaction_event("Ended", 2, start + timedelta(minutes=45), "EVConnected", 62_500),
        ],
    )
    account_id, _token = await add_driver(database, brand)
    request_id = await add_charge_request(
        database, brand, account_id=account_id, session_id=session_id
    )
    phone, laptop = FakeBrowser(), FakeBrowser()
    async with database.tenant_transaction(brand.key) as db_session:
        for endpoint, browser, owner in (
            (push_service.endpoint("phone", phone), phone, {"account_id": account_id}),
            (
                push_service.endpoint("laptop", laptop, status=410),
                laptop,
                {"charge_request_id": request_id},
            ),
        ):
            keys = browser.subscription(endpoint)["keys"]
            db_session.add(PushSubscription(endpoint=endpoint, **keys, **owner))
    # Another brand with a subscribed driver of its own.
    other = await make_brand(locale="en_GB")
    other_account, _other_token = await add_driver(database, other)
    stranger = FakeBrowser()
    async with database.tenant_transaction(other.key) as db_session:
        endpoint = push_service.endpoint("other-brand", stranger)
        keys = stranger.subscription(endpoint)["keys"]
        db_session.add(PushSubscription(endpoint=endpoint, account_id=other_account, **keys))
    jobs = JobContext(database=database, settings=settings)

    await notify_brand(jobs, tenant=brand.key)
    async with database.platform_transaction() as db_session:
        queued = [
            m["kwargs"]
            for m in await db_session.scalars(
                select(OutboxMessage.message).where(OutboxMessage.actor_name == SEND_PUSH)
            )
            if m["kwargs"]["tenant"] == brand.key
        ]
    assert queued == [
        {"tenant": brand.key, "session_id": str(session_id), "event": CHARGING_FINISHED}
    ]
    await send_push(jobs, **queued[0])
    await send_push(jobs, **queued[0])  # a retried or doubled job sends nothing again
    # The same session id under the other brand names nothing there.
    await send_push(jobs, **{**queued[0], "tenant": other.key})

    expected = {
        "title": "Charging finished",
        "body": "12.50 kWh charged at Site of CP201. Please unplug and free the charger.",
        "url": f"/charge/live/{request_id}",
        "tag": f"charging_finished-{session_id}",
        "lang": "en-GB",
    }
    assert sorted(r.path for r in push_service.received) == ["/push/laptop", "/push/phone"]
    for received in push_service.received:
        assert received.message == expected
        assert received.claims["aud"] == push_service.origin
        assert received.claims["sub"] == SUBJECT
        assert received.vapid_key == vapid.public_key
        assert received.headers["content-encoding"] == "aes128gcm"
        assert received.headers["ttl"] == "43200"
        assert received.headers["urgency"] == "normal"
    # The push service forgot the laptop (410): its subscription is gone, the phone's stays.
    assert [row[0].rsplit("/", 1)[1] for row in await subscriptions(database, brand)] == ["phone"]
    async with database.tenant_session(brand.key) as db_session:
        deliveries = [
            (d.session_id, d.event, d.recipients)
            for d in await db_session.scalars(select(PushDelivery))
        ]
    assert deliveries == [(session_id, CHARGING_FINISHED, 1)]
    # The next pass finds nothing due; the other brand has nothing due and was sent nothing.
    async with database.tenant_session(brand.key) as db_session:
        assert await due_events(db_session, utcnow()) == []
    async with database.tenant_session(other.key) as db_session:
        assert await due_events(db_session, utcnow()) == []
        assert list(await db_session.scalars(select(PushDelivery))) == []


async def test_idle_fee_warning_five_minutes_before_the_grace_ends(
    database: Database,
    make_brand,
    open_charger,
    push_service: FakePushService,
    vapid: VapidKeys,
) -> None:
    brand = await make_brand(locale="en_GB")
    start = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    full = start + timedelta(minutes=40)
    session_id = await app_session(
        database,
        brand,
        open_charger,
        [
            transaction_event("Started", 0, start, "Charging", 50_000),
            transaction_event("Updated", 1, full, "SuspendedEV", 62_500),
        ],
    )
    request_id = await add_charge_request(database, brand, session_id=session_id, locale="en_GB")
    browser = FakeBrowser()
    async with database.tenant_transaction(brand.key) as db_session:
        endpoint = push_service.endpoint("guest-phone", browser)
        db_session.add(
            PushSubscription(
                endpoint=endpoint,
                charge_request_id=request_id,
                **browser.subscription(endpoint)["keys"],
            )
        )
    grace_ends = full + timedelta(hours=1)
    async with database.tenant_transaction(brand.key) as db_session:
        session = await db_session.get(ChargingSession, session_id)
        assert session is not None
        charging = await idle_fee_starts_in(db_session, session, full - timedelta(minutes=1))
        early = await due_events(db_session, grace_ends - timedelta(minutes=10))
        due = await due_events(db_session, grace_ends - timedelta(minutes=4, seconds=30))
        running = await due_events(db_session, grace_ends + timedelta(minutes=1))
        sent = await send_event(
            db_session,
            brand,
            session_id,
            IDLE_FEE_SOON,
            vapid,
            now=grace_ends - timedelta(minutes=4, seconds=30),
            private_endpoints=True,
        )
    async with database.tenant_transaction(brand.key) as db_session:
        twice = await send_event(
            db_session,
            brand,
            session_id,
            IDLE_FEE_SOON,
            vapid,
            now=grace_ends - timedelta(minutes=4),
            private_endpoints=True,
        )
        after = await due_events(db_session, grace_ends - timedelta(minutes=4))

    assert charging is None  # still charging: no idle fee coming
    assert early == []
    assert due == [(session_id, IDLE_FEE_SOON)]
    assert running == []  # the fee runs already: too late to warn
    assert (sent, twice, after) == (1, None, [])
    [received] = push_service.received
    assert received.message == {
        "title": "Idle fee soon",
        "body": (
            "Your car stopped charging at Site of CP201. Unplug within 5 minutes to avoid"
            " an idle fee."
        ),
        "url": f"/charge/live/{request_id}",
        "tag": f"idle_fee_soon-{session_id}",
        "lang": "en-GB",
    }
    assert received.headers["ttl"] == "270"
    assert received.headers["urgency"] == "high"
    assert received.claims["sub"] == SUBJECT
