"""Web push: VAPID keys, subscribing (driver, guest, bad input, other brands), and the
notifications of a charge started from the app, sent to a local push service that decrypts
them with the subscribing browser's private key."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import stat
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from ocpp.v201 import call as call201
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from tests.fakes.push import FakeBrowser, FakePushService, b64url
from tests.ocpp.conftest import add_ocpp_station, gateway, open_charger
from voltlane import billing
from voltlane.core.clock import iso_utc, utcnow
from voltlane.core.db import Database
from voltlane.identity.drivers.sessions import open_session
from voltlane.models.tenant import (
    AccountKind,
    ChargeRequest,
    ChargeRequestStatus,
    ChargingSession,
    ChargingStation,
    CustomerAccount,
    DriverLogin,
    Evse,
    Invoicing,
    PushSubscription,
)
from voltlane.models.tenant.driver import PushDelivery
from voltlane.pwa.auth import DRIVER_COOKIE
from voltlane.pwa.push_events import (
    CHARGING_FINISHED,
    IDLE_FEE_SOON,
    due_events,
    idle_fee_starts_in,
    send_event,
)
from voltlane.pwa.push_keys import DEMO_KEY_FILE, VapidKeys, parse_private_key, vapid_keys
from voltlane.pwa.tasks import NOTIFY_BRAND, SEND_PUSH, notify_brand, send_push
from voltlane.settings import Settings, SettingsError
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext
from voltlane.worker.models import OutboxMessage

__all__ = ["gateway", "open_charger"]

SUBJECT = "mailto:push-ops@voltaria.example"
API = "/api/app/v1/push-subscriptions"
JSON = {"content-type": "application/json"}
CSRF_RE = re.compile(r'"x-csrftoken": "([^"]+)"')
REGISTER = "Energy.Active.Import.Register"


@pytest.fixture
def vapid(monkeypatch: pytest.MonkeyPatch) -> VapidKeys:
    """A VAPID key pair in the environment; push endpoints on this machine are allowed."""
    key = ec.generate_private_key(ec.SECP256R1())
    raw = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    monkeypatch.setenv("VOLTLANE_VAPID_PRIVATE_KEY", raw)
    monkeypatch.setenv("VOLTLANE_VAPID_SUBJECT", SUBJECT)
    monkeypatch.setenv("VOLTLANE_PUSH_PRIVATE_ENDPOINTS", "1")
    return VapidKeys(key, SUBJECT)


@pytest.fixture
def push_service(httpserver: HTTPServer) -> FakePushService:
    return FakePushService(httpserver)


async def add_driver(database: Database, brand: TenantInfo) -> tuple[uuid.UUID, str]:
    """A signed-in driver: their account id and the app session cookie's token."""
    async with database.tenant_transaction(brand.key) as db_session:
        account = CustomerAccount(
            kind=AccountKind.DRIVER,
            name="Amara Okafor",
            email="amara@example.com",
            locale="en_GB",
            country="GB",
            invoicing=Invoicing.PER_SESSION,
        )
        db_session.add(account)
        await db_session.flush()
        login = DriverLogin(
            account_id=account.id,
            email="amara@example.com",
            password_hash="unused: the session is opened directly",
            email_verified_at=utcnow(),
        )
        db_session.add(login)
        await db_session.flush()
        token = await open_session(db_session, login, previous_token=None, user_agent="pytest")
        return account.id, token


async def add_charge_request(
    database: Database,
    brand: TenantInfo,
    *,
    account_id: uuid.UUID | None = None,
    session_id: uuid.UUID | None = None,
    secret: str = "guest-link-secret",
    locale: str | None = None,
) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        evse_id = await db_session.scalar(select(Evse.id).limit(1))
        request = ChargeRequest(
            evse_id=evse_id,
            account_id=account_id,
            guest_email=None if account_id else "guest@example.com",
            id_token="VLAPP" + secrets.token_hex(7).upper(),
            access_hash=hashlib.sha256(secret.encode()).hexdigest(),
            status=ChargeRequestStatus.CHARGING,
            session_id=session_id,
            locale=locale,
        )
        db_session.add(request)
        await db_session.flush()
        return request.id


async def subscriptions(database: Database, brand: TenantInfo) -> list[tuple[Any, ...]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.execute(
            select(
                PushSubscription.endpoint,
                PushSubscription.account_id,
                PushSubscription.charge_request_id,
            ).order_by(PushSubscription.endpoint)
        )
        return [tuple(r) for r in rows]


# -- keys -----------------------------------------------------------------------------------


def test_vapid_keys_come_from_the_environment_or_once_from_the_demo_data_dir(
    settings: Settings, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOLTLANE_VAPID_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("VOLTLANE_VAPID_SUBJECT", raising=False)
    assert vapid_keys(settings) is None  # not a demo, nothing configured: no notifications

    demo = replace(settings, demo=True, data_dir=tmp_path / "data")
    first = vapid_keys(demo)
    again = vapid_keys(demo)
    key_file = tmp_path / "data" / DEMO_KEY_FILE
    assert first is not None
    assert again is not None
    assert again.public_key == first.public_key
    assert first.subject == "mailto:push@voltlane.example"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.public_key) == 87  # 65 bytes of an uncompressed P-256 point

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    monkeypatch.setenv("VOLTLANE_VAPID_PRIVATE_KEY", pem)
    monkeypatch.setenv("VOLTLANE_VAPID_SUBJECT", "https://voltaria.example/contact")
    configured = vapid_keys(settings)
    point = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert configured is not None
    assert configured.public_key == b64url(point)
    assert configured.subject == "https://voltaria.example/contact"

    monkeypatch.setenv("VOLTLANE_VAPID_SUBJECT", "ops@voltaria.example")
    with pytest.raises(SettingsError, match="VOLTLANE_VAPID_SUBJECT must be a mailto:"):
        vapid_keys(settings)
    with pytest.raises(SettingsError) as bad:
        parse_private_key("not-a-key-at-all")
    assert str(bad.value) == "VOLTLANE_VAPID_PRIVATE_KEY is not a readable EC private key"
    assert "not-a-key-at-all" not in str(bad.value)


async def test_the_app_gets_the_public_key_and_none_when_push_is_off(
    make_brand, client_for, vapid: VapidKeys, monkeypatch: pytest.MonkeyPatch
) -> None:
    brand = await make_brand()
    async with client_for(f"{brand.slug}.localhost") as client:
        served = await client.get(f"{API}/key")
        monkeypatch.delenv("VOLTLANE_VAPID_PRIVATE_KEY")
        off = await client.get(f"{API}/key")
    assert served.json() == {"public_key": vapid.public_key}
    assert off.status_code == 503
    assert off.json()["title"] == "Notifications unavailable"


# -- subscribing ----------------------------------------------------------------------------


async def test_a_signed_in_driver_subscribes_and_unsubscribes_their_browser(
    database: Database, make_brand, client_for, vapid: VapidKeys
) -> None:
    brand = await make_brand()
    account_id, token = await add_driver(database, brand)
    browser = FakeBrowser()
    endpoint = "https://push.example.net/v1/device-abc"
    async with client_for(f"{brand.slug}.localhost") as client:
        anonymous = await client.post(API, json=browser.subscription(endpoint), headers=JSON)
        client.cookies.set(DRIVER_COOKIE, token)
        made = await client.post(API, json=browser.subscription(endpoint), headers=JSON)
        # The same browser again (new keys after a reinstall): one row, the new keys.
        renewed = FakeBrowser()
        again = await client.post(API, json=renewed.subscription(endpoint), headers=JSON)
        stored = await subscriptions(database, brand)
        removed = await client.request("DELETE", API, json={"endpoint": endpoint}, headers=JSON)
        gone = await client.request("DELETE", API, json={"endpoint": endpoint}, headers=JSON)
    assert anonymous.status_code == 401
    assert anonymous.json()["title"] == "Sign-in required"
    assert made.status_code == 201
    assert made.json()["owner"] == "account"
    assert again.json()["id"] == made.json()["id"]
    assert stored == [(endpoint, account_id, None)]
    async with database.tenant_session(brand.key) as db_session:
        assert (await db_session.scalar(select(func.count()).select_from(PushSubscription))) == 0
    assert removed.status_code == 204
    assert gone.status_code == 404


async def test_a_guest_subscribes_for_their_charge_with_its_secret(
    database: Database, make_brand, client_for, vapid: VapidKeys
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP-GUEST")
    request_id = await add_charge_request(database, brand, secret="s3cret-link")
    by_body, by_cookie = FakeBrowser(), FakeBrowser()
    first = "https://push.example.net/v1/guest-1"
    second = "https://push.example.net/v1/guest-2"
    async with client_for(f"{brand.slug}.localhost") as client:
        wrong = await client.post(
            API,
            json={
                **by_body.subscription(first),
                "charge_request": str(request_id),
                "access_key": "guess",
            },
            headers=JSON,
        )
        ok = await client.post(
            API,
            json={
                **by_body.subscription(first),
                "charge_request": str(request_id),
                "access_key": "s3cret-link",
            },
            headers=JSON,
        )
        # From the live screen: the secret is the cookie of that charge's pages.
        page = await client.get("/offline", headers={"accept": "text/html"})
        csrf = CSRF_RE.search(page.text)
        assert csrf is not None
        live = f"/charge/live/{request_id}"
        client.cookies.set("vl_charge", "s3cret-link", path=live)
        no_csrf = await client.post(
            f"{live}/push-subscriptions", json=by_cookie.subscription(second), headers=JSON
        )
        from_screen = await client.post(
            f"{live}/push-subscriptions",
            json=by_cookie.subscription(second),
            headers={**JSON, "x-csrftoken": csrf.group(1)},
        )
    assert wrong.status_code == 404
    assert wrong.json()["detail"] == "No such charge."
    assert ok.status_code == 201
    assert ok.json()["owner"] == "charge_request"
    assert no_csrf.status_code == 403
    assert from_screen.status_code == 201
    assert from_screen.json()["owner"] == "charge_request"
    assert await subscriptions(database, brand) == [
        (first, None, request_id),
        (second, None, request_id),
    ]


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"endpoint": "http://push.example.net/v1/x"}, 422, "endpoint"),
        ({"endpoint": "https://127.0.0.1:8443/push"}, 422, "endpoint"),
        ({"endpoint": "https://user:pw@push.example.net/v1/x"}, 422, "endpoint"),
        ({"keys": {"p256dh": "AAAA", "auth": b64url(bytes(16))}}, 422, "keys.p256dh"),
        (
            {"keys": {"p256dh": b64url(b"\x04" + bytes(64)), "auth": b64url(bytes(16))}},
            422,
            "keys.p256dh",
        ),
        ({"auth": "short"}, 422, "keys.auth"),
        ({"keys": None}, 400, None),
    ],
)
async def test_bad_subscriptions_get_a_clear_error_and_write_nothing(
    database: Database,
    make_brand,
    client_for,
    vapid: VapidKeys,
    monkeypatch: pytest.MonkeyPatch,
    change: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    monkeypatch.delenv("VOLTLANE_PUSH_PRIVATE_ENDPOINTS")
    brand = await make_brand()
    _account, token = await add_driver(database, brand)
    body = FakeBrowser().subscription("https://push.example.net/v1/device")
    if "auth" in change:
        body["keys"]["auth"] = change["auth"]
    else:
        body.update(change)
    async with client_for(f"{brand.slug}.localhost") as client:
        client.cookies.set(DRIVER_COOKIE, token)
        answer = await client.post(API, json=body, headers=JSON)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json().get("field") == field
    assert await subscriptions(database, brand) == []


async def test_only_json_from_the_brands_own_pages_is_taken(
    database: Database, make_brand, client_for, vapid: VapidKeys
) -> None:
    brand = await make_brand()
    _account, token = await add_driver(database, brand)
    body = FakeBrowser().subscription("https://push.example.net/v1/device")
    async with client_for(f"{brand.slug}.localhost") as client:
        client.cookies.set(DRIVER_COOKIE, token)
        as_text = await client.post(
            API, content=json.dumps(body), headers={"content-type": "text/plain"}
        )
        foreign = await client.post(
            API, json=body, headers={**JSON, "origin": "https://evil.example"}
        )
        own = await client.post(
            API, json=body, headers={**JSON, "origin": f"http://{brand.slug}.localhost"}
        )
    assert as_text.status_code == 415
    assert foreign.status_code == 403
    assert own.status_code == 201
    assert len(await subscriptions(database, brand)) == 1


async def test_another_brands_charges_and_subscriptions_are_out_of_reach(
    database: Database, make_brand, client_for, vapid: VapidKeys
) -> None:
    ours, theirs = await make_brand(), await make_brand()
    await add_ocpp_station(database, theirs, "CP-THEIRS")
    their_request = await add_charge_request(database, theirs, secret="their-secret")
    endpoint = "https://push.example.net/v1/theirs"
    async with client_for(f"{theirs.slug}.localhost") as client:
        made = await client.post(
            API,
            json={
                **FakeBrowser().subscription(endpoint),
                "charge_request": str(their_request),
                "access_key": "their-secret",
            },
            headers=JSON,
        )
    async with client_for(f"{ours.slug}.localhost") as client:
        subscribe = await client.post(
            API,
            json={
                **FakeBrowser().subscription("https://push.example.net/v1/ours"),
                "charge_request": str(their_request),
                "access_key": "their-secret",
            },
            headers=JSON,
        )
        unsubscribe = await client.request("DELETE", API, json={"endpoint": endpoint}, headers=JSON)
    assert made.status_code == 201
    assert subscribe.status_code == 404
    assert unsubscribe.status_code == 404
    assert await subscriptions(database, ours) == []
    assert await subscriptions(database, theirs) == [(endpoint, None, their_request)]


# -- notifications --------------------------------------------------------------------------


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
    # The next pass finds nothing due.
    async with database.tenant_session(brand.key) as db_session:
        assert await due_events(db_session, utcnow()) == []
    assert NOTIFY_BRAND == "pwa.notify_brand"


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
