"""Stations over the API: commissioning with OCPP URL and password, approval, passwords,
EVSEs and connectors; errors beside fields and nothing written when refused."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy import func, select, update

from tests.api.conftest import CONNECTOR, api_client, create_location, create_station, issue_key
from voltlane.app import create_app
from voltlane.core.db import Database
from voltlane.identity.passwords import verify_station_password
from voltlane.models.tenant import AuditEntry, ChargingStation, Connector, Evse
from voltlane.station import operations

STORED_PASSWORD = "station-password-0123456789"


async def _stored(database: Database, brand, station_id: str) -> ChargingStation:
    async with database.tenant_session(brand.key) as db_session:
        station = await db_session.scalar(
            select(ChargingStation).where(ChargingStation.station_id == station_id)
        )
    assert station is not None
    return station


async def _count(database: Database, brand, model) -> int:
    async with database.tenant_session(brand.key) as db_session:
        return int(await db_session.scalar(select(func.count()).select_from(model)) or 0)


async def test_create_returns_the_station_its_ocpp_url_and_its_password_once(
    database: Database, make_brand, api_for, settings
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand, name="commissioning")
    async with api_for(brand, key) as client:
        location = await create_location(client)
        response = await client.post(
            "/api/v1/stations",
            json={
                "location_id": location["id"],
                "station_id": "CP-0001",
                "vendor": "Acme",
                "model": "AC22",
                "evses": [
                    {"connectors": [CONNECTOR], "emi3_id": "DE*ACM*E0001*1"},
                    {"connectors": [CONNECTOR, {**CONNECTOR, "format": "CABLE"}]},
                ],
            },
        )
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    password = body.pop("password")
    station_pk = body.pop("id")
    for field in ("created_at", "updated_at"):
        assert body.pop(field)
    evses = body.pop("evses")
    assert body == {
        "station_id": "CP-0001",
        "location_id": location["id"],
        "vendor": "Acme",
        "model": "AC22",
        "serial_number": None,
        "firmware_version": None,
        "protocol": None,
        "security_profile": 2,
        "registration_status": "Accepted",
        "connected": False,
        "last_boot_at": None,
        "password_changed_at": None,
        "ocpp_url": f"wss://{brand.slug}.localhost:{settings.ocpp_tls_port}/ocpp/{brand.key}/CP-0001",
    }
    assert [(e["evse_id"], e["emi3_id"], e["charging_station_id"]) for e in evses] == [
        (1, "DE*ACM*E0001*1", station_pk),
        (2, None, station_pk),
    ]
    connectors = [c for e in evses for c in e["connectors"]]
    assert [(c["connector_id"], c["format"], c["status"]) for c in connectors] == [
        (1, "SOCKET", "Unknown"),
        (1, "SOCKET", "Unknown"),
        (2, "CABLE", "Unknown"),
    ]
    assert {k: connectors[0][k] for k in CONNECTOR} == CONNECTOR
    assert len(password) == 32
    stored = await _stored(database, brand, "CP-0001")
    assert stored.password_hash is not None
    assert password not in stored.password_hash
    assert verify_station_password(stored.password_hash, password)
    async with database.tenant_session(brand.key) as db_session:
        entry = await db_session.scalar(
            select(AuditEntry).where(AuditEntry.action == "api.station.create")
        )
    assert entry is not None
    assert (entry.actor_email, entry.entity, entry.entity_id) == (
        "api-key:commissioning",
        "charging_station",
        station_pk,
    )
    assert entry.detail == {"station_id": "CP-0001", "security_profile": 2}


async def test_profile_1_gets_ws_and_a_given_password_profile_3_none(
    database: Database, make_brand, api_for, settings
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        location = await create_location(client)
        plain = await create_station(
            client,
            location["id"],
            "CP|plain:1",
            security_profile=1,
            password=STORED_PASSWORD,
        )
        mtls = await create_station(client, location["id"], "CP-TLS", security_profile=3)
    assert plain["ocpp_url"] == (
        f"ws://{brand.slug}.localhost:{settings.ocpp_port}/ocpp/{brand.key}/CP%7Cplain:1"
    )
    assert plain["password"] == STORED_PASSWORD
    assert verify_station_password(
        (await _stored(database, brand, "CP|plain:1")).password_hash, STORED_PASSWORD
    )
    assert mtls["ocpp_url"] == (
        f"wss://{brand.slug}.localhost:{settings.ocpp_tls_port}/ocpp/{brand.key}/CP-TLS"
    )
    assert mtls["password"] is None
    assert (await _stored(database, brand, "CP-TLS")).password_hash is None


async def test_an_https_platform_gives_every_station_a_wss_url(
    database: Database, make_brand, settings, database_url, broker
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    https_app = create_app(
        replace(settings, public_scheme="https"), database_url=database_url, broker=broker
    )
    async with api_client(https_app, brand, key, scheme="https") as c:
        location = await create_location(c)
        station = await create_station(c, location["id"], "CP-1", security_profile=1)
    assert station["ocpp_url"] == (
        f"wss://{brand.slug}.localhost:{settings.ocpp_tls_port}/ocpp/{brand.key}/CP-1"
    )


@pytest.mark.parametrize(
    ("override", "status", "field"),
    [
        ({"station_id": "CP 1"}, 422, "station_id"),
        ({"station_id": "x" * 49}, 422, "station_id"),
        ({"security_profile": 4}, 422, "security_profile"),
        ({"evses": []}, 422, "evses"),
        ({"evses": [{"connectors": []}]}, 422, "evses[0].connectors"),
        (
            {"evses": [{"connectors": [{**CONNECTOR, "max_voltage": 0}]}]},
            422,
            "evses[0].connectors[0].max_voltage",
        ),
        (
            {"evses": [{"connectors": [{**CONNECTOR, "standard": "SCHUKO"}]}]},
            422,
            "evses[0].connectors[0].standard",
        ),
        (
            {"evses": [{"connectors": [{k: v for k, v in CONNECTOR.items() if k != "format"}]}]},
            422,
            "evses[0].connectors[0].format",
        ),
        ({"password": "too-short"}, 422, "password"),
        ({"location_id": str(uuid.uuid4())}, 422, "location_id"),
        ({"location_id": "not-a-uuid"}, 422, "location_id"),
        ({"station_id": "CP-TAKEN"}, 409, "station_id"),
        (
            {"evses": [{"connectors": [CONNECTOR], "emi3_id": "DE*ACM*E0009*1"}]},
            409,
            "emi3_id",
        ),
        (
            {
                "evses": [
                    {"connectors": [CONNECTOR], "emi3_id": "DE*ACM*E0010*1"},
                    {"connectors": [CONNECTOR], "emi3_id": "DE*ACM*E0010*1"},
                ]
            },
            422,
            "emi3_id",
        ),
    ],
)
async def test_invalid_stations_name_the_field_and_write_nothing(
    database: Database, make_brand, api_for, override, status: int, field: str
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        location = await create_location(client)
        await create_station(
            client,
            location["id"],
            "CP-TAKEN",
            evses=[{"connectors": [CONNECTOR], "emi3_id": "DE*ACM*E0009*1"}],
        )
        payload = {
            "location_id": location["id"],
            "station_id": "CP-NEW",
            "evses": [{"connectors": [CONNECTOR]}],
            **override,
        }
        response = await client.post("/api/v1/stations", json=payload)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert await _count(database, brand, ChargingStation) == 1
    assert await _count(database, brand, Evse) == 1
    assert await _count(database, brand, Connector) == 1


async def test_list_filters_and_pages_stations(database: Database, make_brand, api_for) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        north = await create_location(client, name="North")
        south = await create_location(client, name="South")
        for station_id in ("CP-3", "CP-1", "CP-2"):
            await create_station(client, north["id"], station_id)
        await create_station(client, south["id"], "CP-4")
        async with database.tenant_transaction(brand.key) as db_session:
            await operations.auto_commission(
                db_session, station_id="CP-0", password=STORED_PASSWORD, security_profile=1
            )
        everything = await client.get("/api/v1/stations")
        page = await client.get("/api/v1/stations", params={"limit": 2, "offset": 1})
        at_north = await client.get("/api/v1/stations", params={"location_id": north["id"]})
        pending = await client.get("/api/v1/stations", params={"registration_status": "Pending"})
        bad_status = await client.get("/api/v1/stations", params={"registration_status": "Maybe"})
    assert [s["station_id"] for s in everything.json()["items"]] == [
        "CP-0",
        "CP-1",
        "CP-2",
        "CP-3",
        "CP-4",
    ]
    assert everything.json()["total"] == 5
    assert [s["station_id"] for s in page.json()["items"]] == ["CP-1", "CP-2"]
    assert page.json()["total"] == 5
    assert [s["station_id"] for s in at_north.json()["items"]] == ["CP-1", "CP-2", "CP-3"]
    assert at_north.json()["total"] == 3
    [waiting] = pending.json()["items"]
    assert (waiting["station_id"], waiting["location_id"], waiting["evses"]) == ("CP-0", None, [])
    assert pending.json()["total"] == 1
    assert (bad_status.status_code, bad_status.json()["field"]) == (422, "registration_status")


async def test_get_one_shows_connector_status(database: Database, make_brand, api_for) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        location = await create_location(client)
        created = await create_station(client, location["id"], "CP-1")
        async with database.tenant_transaction(brand.key) as db_session:
            await db_session.execute(update(Connector).values(status="Charging"))
        fetched = await client.get(f"/api/v1/stations/{created['id']}")
        missing = await client.get(f"/api/v1/stations/{uuid.uuid4()}")
    assert fetched.status_code == 200
    [evse] = fetched.json()["evses"]
    assert [c["status"] for c in evse["connectors"]] == ["Charging"]
    assert "password" not in fetched.json()
    assert (missing.status_code, missing.json()["title"]) == (404, "Unknown station")


async def test_patch_changes_details_location_and_security_profile(
    database: Database, make_brand, api_for, settings
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        first = await create_location(client, name="First")
        second = await create_location(client, name="Second")
        created = await create_station(client, first["id"], "CP-1")
        path = f"/api/v1/stations/{created['id']}"
        moved = await client.patch(
            path, json={"vendor": "Acme", "model": None, "location_id": second["id"]}
        )
        to_mtls = await client.patch(path, json={"security_profile": 3})
        stored_mtls = await _stored(database, brand, "CP-1")
        back_to_basic = await client.patch(path, json={"security_profile": 1})
        bad_profile = await client.patch(path, json={"security_profile": 0})
        bad_location = await client.patch(path, json={"location_id": str(uuid.uuid4())})
        null_location = await client.patch(path, json={"location_id": None})
    assert moved.status_code == 200
    assert (moved.json()["vendor"], moved.json()["model"], moved.json()["location_id"]) == (
        "Acme",
        None,
        second["id"],
    )
    assert moved.json()["password"] is None
    assert to_mtls.json()["security_profile"] == 3
    assert to_mtls.json()["password"] is None
    assert stored_mtls.password_hash is None
    generated = back_to_basic.json()["password"]
    assert back_to_basic.json()["ocpp_url"].startswith(f"ws://{brand.slug}.localhost:")
    assert len(generated) == 32
    stored = await _stored(database, brand, "CP-1")
    assert verify_station_password(stored.password_hash, generated)
    assert stored.password_changed_at is not None
    assert (bad_profile.status_code, bad_profile.json()["field"]) == (422, "security_profile")
    assert (bad_location.status_code, bad_location.json()["field"]) == (422, "location_id")
    assert (null_location.status_code, null_location.json()["field"]) == (422, "location_id")
    assert (stored.vendor, stored.model, stored.location_id, stored.security_profile) == (
        "Acme",
        None,
        uuid.UUID(second["id"]),
        1,
    )


async def test_approve_accepts_a_pending_station_at_a_location(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand, name="ops")
    async with database.tenant_transaction(brand.key) as db_session:
        pending = await operations.auto_commission(
            db_session, station_id="NEW-1", password=STORED_PASSWORD, security_profile=1
        )
    path = f"/api/v1/stations/{pending.id}/approve"
    async with api_for(brand, key) as client:
        location = await create_location(client)
        no_body = await client.post(path)
        no_location = await client.post(path, json={})
        unknown = await client.post(path, json={"location_id": str(uuid.uuid4())})
        still_pending = await _stored(database, brand, "NEW-1")
        approved = await client.post(path, json={"location_id": location["id"]})
        again = await client.post(path, json={"location_id": location["id"]})
    assert no_body.status_code == 400
    assert (no_location.status_code, no_location.json()["field"]) == (422, "location_id")
    assert (unknown.status_code, unknown.json()["field"]) == (422, "location_id")
    assert (still_pending.registration_status.value, still_pending.location_id) == (
        "Pending",
        None,
    )
    assert approved.status_code == 200
    assert (approved.json()["registration_status"], approved.json()["location_id"]) == (
        "Accepted",
        location["id"],
    )
    assert "password" not in approved.json()
    assert again.status_code == 409
    assert again.json()["detail"] == "Station NEW-1 is Accepted, not waiting for approval."
    stored = await _stored(database, brand, "NEW-1")
    assert verify_station_password(stored.password_hash, STORED_PASSWORD)  # kept as it was
    async with database.tenant_session(brand.key) as db_session:
        entries = list(
            await db_session.scalars(
                select(AuditEntry).where(AuditEntry.action == "api.station.approve")
            )
        )
    assert [(e.actor_email, e.entity_id, e.detail) for e in entries] == [
        ("api-key:ops", str(pending.id), {"location_id": location["id"]})
    ]


async def test_put_password_stores_a_given_or_generated_password(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        location = await create_location(client)
        created = await create_station(client, location["id"], "CP-1")
        mtls = await create_station(client, location["id"], "CP-3", security_profile=3)
        path = f"/api/v1/stations/{created['id']}/password"
        given = await client.put(path, json={"password": "a-password-of-24-chars!!"})
        after_given = await _stored(database, brand, "CP-1")
        generated = await client.put(path)
        after_generated = await _stored(database, brand, "CP-1")
        empty_object = await client.put(path, json={})
        short = await client.put(path, json={"password": "x" * 15})
        long = await client.put(path, json={"password": "x" * 41})
        certificate = await client.put(f"/api/v1/stations/{mtls['id']}/password")
        after_refusals = await _stored(database, brand, "CP-1")
    assert given.status_code == 200
    assert given.headers["cache-control"] == "no-store"
    assert given.json()["password"] == "a-password-of-24-chars!!"
    assert verify_station_password(after_given.password_hash, "a-password-of-24-chars!!")
    assert not verify_station_password(after_given.password_hash, created["password"])
    assert after_given.password_changed_at is not None
    password = generated.json()["password"]
    assert len(password) == 32
    assert verify_station_password(after_generated.password_hash, password)
    assert after_generated.password_changed_at > after_given.password_changed_at
    for response in (empty_object, short, long):
        assert (response.status_code, response.json()["field"]) == (422, "password")
    assert (certificate.status_code, certificate.json()["field"]) == (409, "security_profile")
    assert after_refusals.password_hash == after_generated.password_hash


async def test_evses_and_connectors_are_added_and_changed(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        location = await create_location(client)
        created = await create_station(
            client,
            location["id"],
            "CP-1",
            evses=[{"connectors": [CONNECTOR], "emi3_id": "DE*ACM*E1*1"}],
        )
        added = await client.post(
            f"/api/v1/stations/{created['id']}/evses",
            json={"connectors": [CONNECTOR, CONNECTOR], "physical_reference": "B"},
        )
        evse_pk = added.json()["id"]
        taken = await client.post(
            f"/api/v1/stations/{created['id']}/evses",
            json={"connectors": [CONNECTOR], "emi3_id": "DE*ACM*E1*1"},
        )
        renamed = await client.patch(
            f"/api/v1/evses/{evse_pk}",
            json={"emi3_id": "DE*ACM*E1*2", "physical_reference": None},
        )
        taken_on_patch = await client.patch(
            f"/api/v1/evses/{evse_pk}", json={"emi3_id": "DE*ACM*E1*1"}
        )
        connector = await client.post(
            f"/api/v1/evses/{evse_pk}/connectors",
            json={**CONNECTOR, "standard": "IEC_62196_T2_COMBO", "power_type": "DC"},
        )
        connector_pk = connector.json()["id"]
        changed = await client.patch(
            f"/api/v1/connectors/{connector_pk}",
            json={"max_electric_power": None, "max_amperage": 200},
        )
        zero = await client.patch(f"/api/v1/connectors/{connector_pk}", json={"max_amperage": 0})
        station = await client.get(f"/api/v1/stations/{created['id']}")
        unknown_evse = await client.post(f"/api/v1/evses/{uuid.uuid4()}/connectors", json=CONNECTOR)
        unknown_connector = await client.patch(
            f"/api/v1/connectors/{uuid.uuid4()}", json={"max_amperage": 16}
        )
        unknown_station = await client.post(
            f"/api/v1/stations/{uuid.uuid4()}/evses", json={"connectors": [CONNECTOR]}
        )
    assert added.status_code == 201
    assert (added.json()["evse_id"], added.json()["physical_reference"]) == (2, "B")
    assert [c["connector_id"] for c in added.json()["connectors"]] == [1, 2]
    assert (taken.status_code, taken.json()["field"]) == (409, "emi3_id")
    assert renamed.status_code == 200
    assert (renamed.json()["emi3_id"], renamed.json()["physical_reference"]) == (
        "DE*ACM*E1*2",
        None,
    )
    assert (taken_on_patch.status_code, taken_on_patch.json()["field"]) == (409, "emi3_id")
    assert connector.status_code == 201
    assert (connector.json()["connector_id"], connector.json()["evse_pk"]) == (3, evse_pk)
    assert changed.status_code == 200
    assert {k: changed.json()[k] for k in ("standard", "max_amperage", "max_electric_power")} == {
        "standard": "IEC_62196_T2_COMBO",
        "max_amperage": 200,
        "max_electric_power": None,
    }
    assert (zero.status_code, zero.json()["field"]) == (422, "max_amperage")
    assert [
        (e["evse_id"], e["emi3_id"], [c["connector_id"] for c in e["connectors"]])
        for e in station.json()["evses"]
    ] == [(1, "DE*ACM*E1*1", [1]), (2, "DE*ACM*E1*2", [1, 2, 3])]
    for response in (unknown_evse, unknown_connector, unknown_station):
        assert response.status_code == 404
    async with database.tenant_session(brand.key) as db_session:
        actions = list(await db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == [
        "api.location.create",
        "api.station.create",
        "api.evse.create",
        "api.evse.update",
        "api.connector.create",
        "api.connector.update",
    ]
