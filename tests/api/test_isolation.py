"""Brand isolation: on brand A's host, brand B's ids are unknown everywhere; lists hold A's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.api.conftest import CONNECTOR, create_location, create_station, issue_key
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AuditEntry,
    ChargingStation,
    Connector,
    Evse,
    IdToken,
    Location,
    StationCommand,
)
from voltlane.station import operations


async def _seed(client, city: str) -> dict[str, Any]:
    location = await create_location(client, name="Depot", city=city)
    station = await create_station(client, location["id"], "CP-SHARED")
    evse = station["evses"][0]
    token = await client.post("/api/v1/id-tokens", json={"id_token": "CARD", "type": "ISO14443"})
    return {
        "location": location["id"],
        "station": station["id"],
        "evse": evse["id"],
        "connector": evse["connectors"][0]["id"],
        "token": token.json()["id"],
    }


async def _snapshot(database: Database, key: str) -> list[Any]:
    async with database.tenant_session(key) as db_session:
        rows: list[Any] = []
        for model in (Location, ChargingStation, Evse, Connector, IdToken, StationCommand):
            for row in await db_session.scalars(select(model)):
                rows.append({c.key: getattr(row, c.key) for c in model.__mapper__.column_attrs})
        rows.append(len(list(await db_session.scalars(select(AuditEntry)))))
    return rows


async def test_brand_b_ids_are_404_on_brand_a_host(database: Database, make_brand, api_for) -> None:
    a = await make_brand(name="Alpha Charge")
    b = await make_brand(name="Bravo Energy")
    key_a, key_b = await issue_key(database, a), await issue_key(database, b)
    async with api_for(a, key_a) as client:
        ids_a = await _seed(client, "Hamburg")
    async with api_for(b, key_b) as client:
        ids_b = await _seed(client, "Leeds")
    before = await _snapshot(database, b.key)
    station, evse, connector = ids_b["station"], ids_b["evse"], ids_b["connector"]
    calls = [
        ("GET", f"/api/v1/locations/{ids_b['location']}", None),
        ("PATCH", f"/api/v1/locations/{ids_b['location']}", {"name": "Taken over"}),
        ("GET", f"/api/v1/stations/{station}", None),
        ("PATCH", f"/api/v1/stations/{station}", {"vendor": "Evil"}),
        ("POST", f"/api/v1/stations/{station}/approve", {"location_id": ids_a["location"]}),
        ("PUT", f"/api/v1/stations/{station}/password", {"password": "p" * 20}),
        ("POST", f"/api/v1/stations/{station}/password/rotate", {}),
        ("POST", f"/api/v1/stations/{station}/evses", {"connectors": [CONNECTOR]}),
        ("GET", f"/api/v1/stations/{station}/commands", None),
        ("POST", f"/api/v1/stations/{station}/commands/reset", {}),
        ("POST", f"/api/v1/stations/{station}/commands/remote-start", {"id_token": "CARD"}),
        ("POST", f"/api/v1/stations/{station}/ocpp/Reset", {"type": "Soft"}),
        ("PATCH", f"/api/v1/evses/{evse}", {"physical_reference": "X"}),
        ("POST", f"/api/v1/evses/{evse}/connectors", CONNECTOR),
        ("PATCH", f"/api/v1/connectors/{connector}", {"max_amperage": 1}),
        ("GET", f"/api/v1/id-tokens/{ids_b['token']}", None),
        ("PATCH", f"/api/v1/id-tokens/{ids_b['token']}", {"status": "Blocked"}),
    ]
    async with api_for(a, key_a) as client:
        responses = [
            (method, path, await client.request(method, path, json=body))
            for method, path, body in calls
        ]
        by_reference = [
            await client.post(
                "/api/v1/stations",
                json={
                    "location_id": ids_b["location"],
                    "station_id": "CP-NEW",
                    "evses": [{"connectors": [CONNECTOR]}],
                },
            ),
            await client.patch(
                f"/api/v1/stations/{ids_a['station']}", json={"location_id": ids_b["location"]}
            ),
        ]
        lists = {
            path: (await client.get(path)).json()
            for path in ("/api/v1/locations", "/api/v1/stations", "/api/v1/id-tokens")
        }
    for method, path, response in responses:
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "Leeds" not in response.text
    for response in by_reference:
        assert (response.status_code, response.json()["field"]) == (422, "location_id")
    assert [item["city"] for item in lists["/api/v1/locations"]["items"]] == ["Hamburg"]
    assert [item["id"] for item in lists["/api/v1/stations"]["items"]] == [ids_a["station"]]
    assert [item["id"] for item in lists["/api/v1/id-tokens"]["items"]] == [ids_a["token"]]
    assert all(lists[path]["total"] == 1 for path in lists)
    assert await _snapshot(database, b.key) == before


async def test_approving_with_another_brands_location_is_refused(
    database: Database, make_brand, api_for
) -> None:
    a = await make_brand()
    b = await make_brand()
    key_a, key_b = await issue_key(database, a), await issue_key(database, b)
    async with database.tenant_transaction(a.key) as db_session:
        pending = await operations.auto_commission(
            db_session, station_id="NEW", password="p" * 20, security_profile=1
        )
    async with api_for(b, key_b) as client:
        location_b = await create_location(client)
    async with api_for(a, key_a) as client:
        response = await client.post(
            f"/api/v1/stations/{pending.id}/approve", json={"location_id": location_b["id"]}
        )
    assert (response.status_code, response.json()["field"]) == (422, "location_id")
