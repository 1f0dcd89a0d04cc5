"""Web push keys and subscriptions: the VAPID key pair, subscribing as a signed-in driver or
as a guest with a charge's secret, bad input, other brands' charges."""

from __future__ import annotations

import json
import re
import stat
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from tests.fakes.push import FakeBrowser, b64url
from tests.ocpp.conftest import add_ocpp_station
from tests.pwa.push_support import (
    API,
    JSON,
    add_charge_request,
    add_driver,
    subscriptions,
    vapid,
)
from voltlane.core.db import Database
from voltlane.models.tenant import PushSubscription
from voltlane.pwa.auth import DRIVER_COOKIE
from voltlane.pwa.push_keys import DEMO_KEY_FILE, VapidKeys, parse_private_key, vapid_keys
from voltlane.settings import Settings, SettingsError

__all__ = ["vapid"]

CSRF_RE = re.compile(r'"x-csrftoken": "([^"]+)"')


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
    assert [f.name for f in key_file.parent.iterdir()] == [DEMO_KEY_FILE]
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
