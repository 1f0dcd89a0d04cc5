"""Locations over the API: exact values, errors beside fields, paging, audit."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.api.conftest import LOCATION, create_location, issue_key
from voltlane.core.db import Database
from voltlane.models.tenant import AuditEntry, Location


async def test_create_returns_the_stored_location_and_audits_it(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand, name="erp")
    async with api_for(brand, key) as client:
        response = await client.post(
            "/api/v1/locations",
            json={
                **LOCATION,
                "opening_hours": {
                    "twentyfourseven": False,
                    "regular_hours": [
                        {"weekday": 1, "period_begin": "07:00", "period_end": "22:00"}
                    ],
                },
                "publish": False,
            },
        )
    assert response.status_code == 201
    body = response.json()
    assert uuid.UUID(body.pop("id"))
    assert body.pop("created_at") == body.pop("updated_at")
    assert body == {
        "name": "Harbour depot",
        "address": "Hafenstraße 1",
        "city": "Hamburg",
        "postal_code": "20359",
        "country": "DEU",
        "latitude": "53.5461000",
        "longitude": "9.9661000",
        "timezone": "Europe/Berlin",
        "opening_hours": {
            "twentyfourseven": False,
            "regular_hours": [{"weekday": 1, "period_begin": "07:00", "period_end": "22:00"}],
            "exceptional_openings": [],
            "exceptional_closings": [],
        },
        "publish": False,
    }
    async with database.tenant_session(brand.key) as db_session:
        [entry] = list(await db_session.scalars(select(AuditEntry)))
        stored = await db_session.scalar(select(Location))
    assert (entry.action, entry.actor_email, entry.entity) == (
        "api.location.create",
        "api-key:erp",
        "location",
    )
    assert entry.entity_id == response.json()["id"]
    assert stored is not None
    assert stored.publish is False


@pytest.mark.parametrize(
    ("override", "field", "message"),
    [
        ({"country": "DE"}, "country", "Expected `str` matching regex '^[A-Z]{3}$'"),
        ({"timezone": "Mars/Olympus"}, "timezone", "'Mars/Olympus' is not an IANA timezone."),
        ({"latitude": "91"}, "latitude", "Latitude must be between -90 and 90."),
        ({"longitude": -180.5}, "longitude", "Longitude must be between -180 and 180."),
        ({"address": "x" * 46}, "address", "Expected `str` of length <= 45"),
        ({"name": ""}, "name", "Expected `str` of length >= 1"),
        ({"colour": "red"}, "colour", "Object contains unknown field `colour`"),
        (
            {"opening_hours": {"twentyfourseven": False, "regular_hours": [{"weekday": 8}]}},
            "opening_hours.regular_hours[0].weekday",
            "Expected `int` <= 7",
        ),
    ],
)
async def test_invalid_locations_get_422_naming_the_field(
    database: Database, make_brand, api_for, override, field: str, message: str
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        response = await client.post("/api/v1/locations", json={**LOCATION, **override})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["field"]) == (422, field)
    assert message in body["detail"]
    async with database.tenant_session(brand.key) as db_session:
        assert list(await db_session.scalars(select(Location))) == []
        assert list(await db_session.scalars(select(AuditEntry))) == []


async def test_a_missing_field_is_named(database: Database, make_brand, api_for) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    payload = {k: v for k, v in LOCATION.items() if k != "city"}
    async with api_for(brand, key) as client:
        response = await client.post("/api/v1/locations", json=payload)
    assert response.status_code == 422
    assert response.json() == {
        "type": "about:blank",
        "title": "Invalid input",
        "status": 422,
        "detail": "city: Object missing required field `city`",
        "field": "city",
        "errors": [
            {"field": "city", "message": "Object missing required field `city`", "source": "body"}
        ],
    }


async def test_malformed_and_missing_bodies_are_400(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        malformed = await client.post(
            "/api/v1/locations", content=b"{nope", headers={"content-type": "application/json"}
        )
        empty = await client.post("/api/v1/locations")
    assert (malformed.status_code, malformed.json()["title"]) == (400, "Bad request")
    assert empty.status_code == 400
    assert empty.json() == {
        "type": "about:blank",
        "title": "Bad request",
        "status": 400,
        "detail": "Send a JSON object body.",
    }


async def test_list_pages_by_name_with_the_total(database: Database, make_brand, api_for) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        for name in ("Delta", "Alpha", "Echo", "Charlie", "Bravo"):
            await create_location(client, name=name)
        first = await client.get("/api/v1/locations", params={"limit": 2})
        last = await client.get("/api/v1/locations", params={"limit": 2, "offset": 4})
        beyond = await client.get("/api/v1/locations", params={"offset": 10})
        too_big = await client.get("/api/v1/locations", params={"limit": 201})
        too_small = await client.get("/api/v1/locations", params={"limit": 0})
        negative = await client.get("/api/v1/locations", params={"offset": -1})
    assert [item["name"] for item in first.json()["items"]] == ["Alpha", "Bravo"]
    assert first.json()["total"] == 5
    assert [item["name"] for item in last.json()["items"]] == ["Echo"]
    assert beyond.json() == {"items": [], "total": 5}
    for response, field in ((too_big, "limit"), (too_small, "limit"), (negative, "offset")):
        assert response.status_code == 422
        assert response.json()["field"] == field
        assert response.json()["errors"][0]["source"] == "query"


async def test_get_and_patch_change_only_the_given_fields(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        created = await create_location(client)
        path = f"/api/v1/locations/{created['id']}"
        patched = await client.patch(
            path, json={"name": "Harbour depot North", "postal_code": None, "latitude": 53.55}
        )
        fetched = await client.get(path)
        invalid = await client.patch(path, json={"timezone": "Nowhere/Else"})
        after_invalid = await client.get(path)
    assert patched.status_code == 200
    expected = {
        **created,
        "name": "Harbour depot North",
        "postal_code": None,
        "latitude": "53.5500000",
        "updated_at": patched.json()["updated_at"],
    }
    assert patched.json() == expected
    assert fetched.json() == expected
    assert (invalid.status_code, invalid.json()["field"]) == (422, "timezone")
    assert after_invalid.json() == expected
    async with database.tenant_session(brand.key) as db_session:
        actions = list(await db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        detail = await db_session.scalar(
            select(AuditEntry.detail).where(AuditEntry.action == "api.location.update")
        )
    assert actions == ["api.location.create", "api.location.update"]
    assert detail == {
        "changes": {"name": "Harbour depot North", "postal_code": None, "latitude": "53.55"}
    }


async def test_an_unknown_location_is_404(database: Database, make_brand, api_for) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    missing = uuid.uuid4()
    async with api_for(brand, key) as client:
        fetched = await client.get(f"/api/v1/locations/{missing}")
        patched = await client.patch(f"/api/v1/locations/{missing}", json={"name": "x"})
        malformed = await client.get("/api/v1/locations/not-a-uuid")
    for response in (fetched, patched, malformed):
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert fetched.json() == {
        "type": "about:blank",
        "title": "Not found",
        "status": 404,
        "detail": f"No location {missing}.",
    }
