"""Commands through the API to real OCPP 1.6 and 2.0.1 chargers on an in-process gateway.

Every call returns a definite status (accepted, rejected, timeout, offline) within its
deadline plus a short grace, whatever the station does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid

import msgspec
from ocpp.v16 import call as call16
from sqlalchemy import select

from tests.api.conftest import PASSWORD, create_location, create_station, issue_key
from tests.factories import brand_spec
from voltlane.api.command_bodies import TYPED_ENDPOINTS
from voltlane.core.db import Database
from voltlane.identity.passwords import verify_station_password
from voltlane.models.platform import StationPresence
from voltlane.models.tenant import AuditEntry, ChargingStation, StationCommand
from voltlane.station import typed_commands as tc
from voltlane.tenancy import service as tenancy


async def _station(client, station_id: str) -> dict:
    location = await create_location(client)
    return await create_station(
        client, location["id"], station_id, security_profile=1, password=PASSWORD
    )


async def _commands(database: Database, brand) -> list[StationCommand]:
    async with database.tenant_session(brand.key) as db_session:
        return list(
            await db_session.scalars(select(StationCommand).order_by(StationCommand.created_at))
        )


async def _stored(database: Database, brand, station_id: str) -> ChargingStation:
    async with database.tenant_session(brand.key) as db_session:
        station = await db_session.scalar(
            select(ChargingStation).where(ChargingStation.station_id == station_id)
        )
    assert station is not None
    return station


def _without_id(body: dict) -> dict:
    assert uuid.UUID(body["command_id"])
    return {k: v for k, v in body.items() if k != "command_id"}


def _default_profile(*, limit: float, **more: object) -> dict[str, object]:
    """A one-period TxDefaultProfile body for set-charging-profile."""
    return {
        "evse_id": 1,
        "profile_id": 1,
        "stack_level": 0,
        "purpose": "TxDefaultProfile",
        "kind": "Absolute",
        "rate_unit": "A",
        "periods": [{"start_period": 0, "limit": limit}],
        **more,
    }


async def test_remote_start_reaches_a_16_station_and_is_accepted(
    database: Database, make_brand, api_for, charger
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand, name="app-backend")
    async with api_for(brand, key) as client:
        station = await _station(client, "CP16")
        cp = await charger(brand, "CP16", "ocpp1.6")
        response = await client.post(
            f"/api/v1/stations/{station['id']}/commands/remote-start",
            json={"id_token": "RFID0001", "evse_id": 1, "deadline_seconds": 10},
        )
        listed = await client.get(f"/api/v1/stations/{station['id']}")
    assert response.status_code == 200
    assert _without_id(response.json()) == {
        "status": "accepted",
        "action": "RemoteStartTransaction",
        "response": {"status": "Accepted"},
        "error": None,
    }
    assert cp.behaviour.received == [
        ("RemoteStartTransaction", {"id_tag": "RFID0001", "connector_id": 1})
    ]
    assert (listed.json()["protocol"], listed.json()["connected"]) == ("ocpp1.6", True)
    [command] = await _commands(database, brand)
    assert str(command.id) == response.json()["command_id"]
    assert (command.status.value, command.requested_by) == ("accepted", "api-key:app-backend")
    async with database.tenant_session(brand.key) as db_session:
        entry = await db_session.scalar(
            select(AuditEntry).where(AuditEntry.action == "api.station.command")
        )
    assert entry is not None
    assert (entry.actor_email, entry.entity_id) == ("api-key:app-backend", station["id"])
    assert entry.detail == {
        "action": "RemoteStartTransaction",
        "command_id": response.json()["command_id"],
        "status": "accepted",
        "command": "remote-start",
    }


async def test_remote_start_reaches_a_201_station_in_its_words(
    database: Database, make_brand, api_for, charger
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        station = await _station(client, "CS201")
        cp = await charger(brand, "CS201", "ocpp2.0.1")
        response = await client.post(
            f"/api/v1/stations/{station['id']}/commands/remote-start",
            json={"id_token": "APP-1", "evse_id": 1, "remote_start_id": 7},
        )
    assert _without_id(response.json()) == {
        "status": "accepted",
        "action": "RequestStartTransaction",
        "response": {"status": "Accepted"},
        "error": None,
    }
    assert cp.behaviour.received == [
        (
            "RequestStartTransaction",
            {
                "id_token": {"id_token": "APP-1", "type": "Central"},
                "remote_start_id": 7,
                "evse_id": 1,
            },
        )
    ]


async def test_a_station_answering_rejected_gives_rejected(
    database: Database, make_brand, api_for, charger
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        station = await _station(client, "CP16")
        cp = await charger(brand, "CP16", "ocpp1.6")
        cp.behaviour.status = "Rejected"
        response = await client.post(
            f"/api/v1/stations/{station['id']}/commands/remote-start", json={"id_token": "RFID1"}
        )
    assert _without_id(response.json()) == {
        "status": "rejected",
        "action": "RemoteStartTransaction",
        "response": {"status": "Rejected"},
        "error": None,
    }


async def test_a_station_that_never_answers_gives_timeout_within_the_deadline(
    database: Database, make_brand, api_for, charger
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        station = await _station(client, "CS201")
        cp = await charger(brand, "CS201", "ocpp2.0.1")
        cp.behaviour.delay = 8.0
        started = time.monotonic()
        response = await client.post(
            f"/api/v1/stations/{station['id']}/commands/remote-start",
            json={"id_token": "APP-1", "deadline_seconds": 1},
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    body = _without_id(response.json())
    assert (body["status"], body["action"], body["response"]) == (
        "timeout",
        "RequestStartTransaction",
        None,
    )
    assert body["error"]
    assert elapsed < 1 + 3
    [command] = await _commands(database, brand)
    assert command.status.value == "timeout"


async def test_a_disconnected_station_gives_offline_at_once(
    database: Database, make_brand, api_for, charger
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        station = await _station(client, "CP16")
        cp = await charger(brand, "CP16", "ocpp1.6")
        await cp.close()
        for _ in range(100):  # the gateway releases the station's presence after the close
            async with database.platform_session() as platform:
                present = await platform.scalar(
                    select(StationPresence).where(StationPresence.tenant_key == brand.key)
                )
            if present is None:
                break
            await asyncio.sleep(0.05)
        started = time.monotonic()
        response = await client.post(
            f"/api/v1/stations/{station['id']}/commands/reset", json={"deadline_seconds": 30}
        )
        elapsed = time.monotonic() - started
        fetched = await client.get(f"/api/v1/stations/{station['id']}")
    assert _without_id(response.json()) == {
        "status": "offline",
        "action": "Reset",
        "response": None,
        "error": "The station is not connected.",
    }
    assert elapsed < 1.0
    assert fetched.json()["connected"] is False


async def test_a_station_that_never_connected_is_a_conflict(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        station = await _station(client, "CP-NEW")
        response = await client.post(f"/api/v1/stations/{station['id']}/commands/clear-cache")
    assert response.status_code == 409
    assert response.json() == {
        "type": "about:blank",
        "title": "Station not connected",
        "status": 409,
        "detail": "Station CP-NEW has not connected yet, so its OCPP version is unknown.",
    }
    assert await _commands(database, brand) == []


async def test_a_2x_only_command_on_a_16_station_is_422_and_sends_nothing(
    database: Database, make_brand, api_for, charger
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        station = await _station(client, "CP16")
        cp = await charger(brand, "CP16", "ocpp1.6")
        response = await client.post(
            f"/api/v1/stations/{station['id']}/commands/get-variables",
            json={"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}]},
        )
    assert response.status_code == 422
    assert response.json() == {
        "type": "about:blank",
        "title": "Command not supported",
        "status": 422,
        "detail": "get-variables cannot be sent to CP16 (ocpp1.6): "
        "GetVariables is not available on OCPP 1.6.",
    }
    assert cp.behaviour.received == []
    assert await _commands(database, brand) == []


async def test_typed_bodies_are_validated_before_anything_is_sent(
    database: Database, make_brand, api_for, charger
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        station = await _station(client, "CP16")
        cp = await charger(brand, "CP16", "ocpp1.6")
        base = f"/api/v1/stations/{station['id']}/commands"
        responses = {
            "deadline_seconds": await client.post(
                f"{base}/clear-cache", json={"deadline_seconds": 301}
            ),
            "id_token": await client.post(f"{base}/remote-start", json={}),
            "expires_at": await client.post(
                f"{base}/reserve-now",
                json={"reservation_id": 1, "id_token": "X", "expires_at": "2030-01-01T10:00:00"},
            ),
            "periods[0].limit": await client.post(
                f"{base}/set-charging-profile", json=_default_profile(limit=-1)
            ),
            "min_charging_rate": await client.post(
                f"{base}/set-charging-profile",
                json=_default_profile(limit=16, min_charging_rate=-6),
            ),
            "key": await client.post(
                f"{base}/change-configuration", json={"key": "AuthorizationKey", "value": "x"}
            ),
        }
    for field, response in responses.items():
        assert response.status_code == 422, (field, response.text)
        if field != "key":
            assert response.json()["field"] == field
    assert responses["key"].json()["detail"] == (
        "The Basic-auth password changes only through POST .../password/rotate."
    )
    assert cp.behaviour.received == []
    assert await _commands(database, brand) == []


async def test_a_raw_ocpp_call_is_validated_then_answered_by_the_station(
    database: Database, make_brand, api_for, charger
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        station = await _station(client, "CP16")
        cp = await charger(brand, "CP16", "ocpp1.6")
        base = f"/api/v1/stations/{station['id']}/ocpp"
        invalid = await client.post(f"{base}/GetConfiguration", json={"key": "HeartbeatInterval"})
        unknown = await client.post(f"{base}/GetVariables", json={"getVariableData": []})
        bad_name = await client.post(f"{base}/Get..Configuration", json={})
        not_object = await client.post(f"{base}/GetConfiguration", json=["HeartbeatInterval"])
        password = await client.post(
            f"{base}/ChangeConfiguration", json={"key": "AuthorizationKey", "value": "p" * 20}
        )
        valid = await client.post(
            f"{base}/GetConfiguration",
            params={"deadline_seconds": 5},
            json={"key": ["HeartbeatInterval", "Nope"]},
        )
    assert invalid.status_code == 422
    assert invalid.json()["title"] == "Invalid OCPP call"
    assert invalid.json()["detail"] == (
        "GetConfiguration is not a valid OCPP 1.6 call: 'HeartbeatInterval' is not of type 'array'."
    )
    assert unknown.status_code == 422
    assert (bad_name.status_code, bad_name.json()["field"]) == (422, "action")
    assert not_object.status_code == 422
    assert password.status_code == 422
    assert valid.status_code == 200
    assert _without_id(valid.json()) == {
        "status": "accepted",
        "action": "GetConfiguration",
        "response": {
            "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
            "unknownKey": ["Nope"],
        },
        "error": None,
    }
    assert cp.behaviour.received == [("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})]
    [command] = await _commands(database, brand)
    assert (command.action, command.payload) == (
        "GetConfiguration",
        {"key": ["HeartbeatInterval", "Nope"]},
    )


async def test_rotate_stores_the_new_password_when_a_16_station_accepts(
    database: Database, make_brand, api_for, charger
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand, name="rotator")
    async with api_for(brand, key) as client:
        station = await _station(client, "CP16")
        cp = await charger(brand, "CP16", "ocpp1.6")
        response = await client.post(f"/api/v1/stations/{station['id']}/password/rotate")
        log = await client.get(f"/api/v1/stations/{station['id']}/commands")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = _without_id(response.json())
    password = body.pop("password")
    assert body == {
        "status": "accepted",
        "action": "ChangeConfiguration",
        "response": {"status": "Accepted"},
        "error": None,
    }
    assert cp.behaviour.received == [
        ("ChangeConfiguration", {"key": "AuthorizationKey", "value": password})
    ]
    stored = await _stored(database, brand, "CP16")
    assert verify_station_password(stored.password_hash, password)
    assert not verify_station_password(stored.password_hash, PASSWORD)
    assert stored.password_changed_at is not None
    [logged] = log.json()["items"]
    assert logged["payload"] == {"key": "AuthorizationKey", "value": "[redacted]"}
    assert password not in log.text
    async with database.tenant_session(brand.key) as db_session:
        entry = await db_session.scalar(
            select(AuditEntry).where(AuditEntry.action == "api.station.password_rotate")
        )
    assert entry is not None
    assert entry.detail["status"] == "accepted"
    assert password not in str(entry.detail)


async def test_rotate_keeps_the_old_password_when_a_201_station_refuses(
    database: Database, make_brand, api_for, charger
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        station = await _station(client, "CS201")
        cp = await charger(brand, "CS201", "ocpp2.0.1")
        cp.behaviour.status = "Rejected"
        refused = await client.post(f"/api/v1/stations/{station['id']}/password/rotate")
        after_refusal = await _stored(database, brand, "CS201")
        cp.behaviour.status = "Accepted"
        accepted = await client.post(
            f"/api/v1/stations/{station['id']}/password/rotate", json={"deadline_seconds": 5}
        )
    assert refused.status_code == 200
    assert (refused.json()["status"], refused.json()["password"]) == ("rejected", None)
    assert refused.json()["action"] == "SetVariables"
    assert refused.json()["error"] == "The station did not take the new password."
    assert verify_station_password(after_refusal.password_hash, PASSWORD)
    assert after_refusal.password_changed_at is None
    [(action, sent)] = cp.behaviour.received[:1]
    assert action == "SetVariables"
    assert sent["set_variable_data"][0]["component"] == {"name": "SecurityCtrlr"}
    assert sent["set_variable_data"][0]["variable"] == {"name": "BasicAuthPassword"}
    password = accepted.json()["password"]
    assert accepted.json()["status"] == "accepted"
    assert verify_station_password(
        (await _stored(database, brand, "CS201")).password_hash, password
    )


async def test_the_command_log_is_newest_first_and_paged(
    database: Database, make_brand, api_for, charger
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        station = await _station(client, "CP16")
        await charger(brand, "CP16", "ocpp1.6")
        base = f"/api/v1/stations/{station['id']}"
        for token in ("A", "B", "C"):
            await client.post(f"{base}/commands/remote-start", json={"id_token": token})
        first = await client.get(f"{base}/commands", params={"limit": 2})
        rest = await client.get(f"{base}/commands", params={"limit": 2, "offset": 2})
    assert [c["payload"]["idTag"] for c in first.json()["items"]] == ["C", "B"]
    assert [c["payload"]["idTag"] for c in rest.json()["items"]] == ["A"]
    assert first.json()["total"] == rest.json()["total"] == 3
    item = first.json()["items"][0]
    assert (item["status"], item["requested_by"], item["response"]) == (
        "accepted",
        "api-key:integration",
        {"status": "Accepted"},
    )


async def test_an_approved_station_boots_accepted(
    database: Database, settings, api_for, charger
) -> None:
    spec = msgspec.structs.replace(brand_spec(), features={"auto_commissioning": True})
    async with database.platform_transaction() as db_session:
        info, _ = await tenancy.register_tenant(db_session, spec)
    brand = await tenancy.provision_tenant(database, settings.migrations_dir, info.id)
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        location = await create_location(client)
        cp = await charger(brand, "NEW-1", "ocpp1.6", registration="Pending")
        [pending] = (
            await client.get("/api/v1/stations", params={"registration_status": "Pending"})
        ).json()["items"]
        approved = await client.post(
            f"/api/v1/stations/{pending['id']}/approve", json={"location_id": location["id"]}
        )
        boot = await cp.cp.call(
            call16.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22")
        )
    assert (pending["station_id"], pending["connected"]) == ("NEW-1", True)
    assert approved.json()["registration_status"] == "Accepted"
    assert boot.status == "Accepted"


def test_every_typed_command_has_an_endpoint_with_its_fields() -> None:
    commands = {
        cls
        for cls in vars(tc).values()
        if dataclasses.is_dataclass(cls) and cls.__module__ == tc.__name__
    }
    nested = {tc.VariableRef, tc.LocalListEntry, tc.SchedulePeriod, tc.SetBasicAuthPassword}
    assert {e.command for e in TYPED_ENDPOINTS} == commands - nested
    for endpoint in TYPED_ENDPOINTS:
        fields = [f.name for f in dataclasses.fields(endpoint.command)]
        assert set(endpoint.body.__struct_fields__) == {*fields, "deadline_seconds"}, endpoint.name
