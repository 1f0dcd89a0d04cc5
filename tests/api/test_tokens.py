"""IdTokens over the API: create, list with filters, get, change; what authorize then says."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests.api.conftest import issue_key
from voltlane.charging import service as charging
from voltlane.core.db import Database
from voltlane.models.tenant import AuditEntry, IdToken


async def test_create_get_and_patch_a_token(database: Database, make_brand, api_for) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand, name="crm")
    async with api_for(brand, key) as client:
        created = await client.post(
            "/api/v1/id-tokens",
            json={
                "id_token": "04A2B3C4D5E6F7",
                "type": "ISO14443",
                "expires_at": "2030-01-01T01:00:00+01:00",
                "group_id_token": "FLEET-7",
                "label": "Ada's card",
            },
        )
        path = f"/api/v1/id-tokens/{created.json()['id']}"
        fetched = await client.get(path)
        blocked = await client.patch(path, json={"status": "Blocked", "label": None})
        cleared = await client.patch(path, json={"expires_at": None})
        invalid = await client.patch(path, json={"status": "Expired"})
        naive = await client.patch(path, json={"expires_at": "2030-01-01T00:00:00"})
        unknown = await client.get(f"/api/v1/id-tokens/{uuid.uuid4()}")
    assert created.status_code == 201
    body = created.json()
    assert uuid.UUID(body.pop("id"))
    assert body.pop("created_at") == body.pop("updated_at")
    assert body == {
        "id_token": "04A2B3C4D5E6F7",
        "type": "ISO14443",
        "status": "Accepted",
        "expires_at": "2030-01-01T00:00:00Z",
        "group_id_token": "FLEET-7",
        "label": "Ada's card",
        # Billed per session to whoever presents it: no customer account.
        "account_id": None,
        "driver_name": None,
        "vehicle": None,
        "cost_centre": None,
    }
    assert fetched.json() == created.json()
    assert (blocked.json()["status"], blocked.json()["label"]) == ("Blocked", None)
    assert blocked.json()["expires_at"] == "2030-01-01T00:00:00Z"
    assert cleared.json()["expires_at"] is None
    assert cleared.json()["status"] == "Blocked"
    assert (invalid.status_code, invalid.json()["field"]) == (422, "status")
    assert (naive.status_code, naive.json()["field"]) == (422, "expires_at")
    assert (unknown.status_code, unknown.json()["title"]) == (404, "Unknown IdToken")
    async with database.tenant_session(brand.key) as db_session:
        decision = await charging.authorize(
            db_session, id_token="04A2B3C4D5E6F7", token_type="ISO14443"
        )
        entries = list(await db_session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert decision.status.value == "Blocked"
    assert [(e.action, e.actor_email, e.detail) for e in entries] == [
        ("api.id_token.create", "api-key:crm", {"status": "Accepted"}),
        ("api.id_token.update", "api-key:crm", {"changes": {"status": "Blocked", "label": None}}),
        ("api.id_token.update", "api-key:crm", {"changes": {"expires_at": None}}),
    ]


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"id_token": "", "type": "ISO14443"}, 422, "id_token"),
        ({"id_token": "x" * 37, "type": "ISO14443"}, 422, "id_token"),
        ({"id_token": " CARD", "type": "ISO14443"}, 422, "id_token"),
        ({"id_token": "CARD", "type": "Magic"}, 422, "type"),
        ({"id_token": "CARD"}, 422, "type"),
        ({"id_token": "CARD", "type": "ISO14443", "status": "Expired"}, 422, "status"),
        ({"id_token": "CARD", "type": "ISO14443", "expires_at": "tomorrow"}, 422, "expires_at"),
        ({"id_token": "CARD", "type": "ISO14443", "label": "x" * 121}, 422, "label"),
        ({"id_token": "TAKEN", "type": "ISO14443"}, 409, "id_token"),
    ],
)
async def test_invalid_tokens_name_the_field_and_write_nothing(
    database: Database, make_brand, api_for, payload, status: int, field: str
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        await client.post("/api/v1/id-tokens", json={"id_token": "TAKEN", "type": "ISO14443"})
        response = await client.post("/api/v1/id-tokens", json=payload)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    async with database.tenant_session(brand.key) as db_session:
        assert list(await db_session.scalars(select(IdToken.id_token))) == ["TAKEN"]


async def test_the_same_value_may_exist_once_per_type(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        rfid = await client.post("/api/v1/id-tokens", json={"id_token": "X1", "type": "ISO14443"})
        app = await client.post("/api/v1/id-tokens", json={"id_token": "X1", "type": "Central"})
    assert (rfid.status_code, app.status_code) == (201, 201)


async def test_list_filters_by_status_and_value_prefix(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        for value, status in (
            ("AB-1", "Accepted"),
            ("AB-2", "Blocked"),
            ("ab_3", "Accepted"),
            ("ABC", "Invalid"),
            ("ZZ", "Accepted"),
        ):
            response = await client.post(
                "/api/v1/id-tokens", json={"id_token": value, "type": "Local", "status": status}
            )
            assert response.status_code == 201
        everything = await client.get("/api/v1/id-tokens")
        accepted = await client.get("/api/v1/id-tokens", params={"status": "Accepted"})
        prefixed = await client.get("/api/v1/id-tokens", params={"search": "ab"})
        underscore = await client.get("/api/v1/id-tokens", params={"search": "ab_"})
        percent = await client.get("/api/v1/id-tokens", params={"search": "%"})
        both = await client.get(
            "/api/v1/id-tokens", params={"search": "AB", "status": "Accepted", "limit": 1}
        )
        bad = await client.get("/api/v1/id-tokens", params={"status": "Maybe"})

    def values(response) -> list[str]:
        return [item["id_token"] for item in response.json()["items"]]

    assert values(everything) == ["AB-1", "AB-2", "ABC", "ZZ", "ab_3"]
    assert everything.json()["total"] == 5
    assert values(accepted) == ["AB-1", "ZZ", "ab_3"]
    assert values(prefixed) == ["AB-1", "AB-2", "ABC", "ab_3"]
    assert values(underscore) == ["ab_3"]  # "_" is no wildcard
    assert percent.json() == {"items": [], "total": 0}
    assert (values(both), both.json()["total"]) == (["AB-1"], 2)
    assert (bad.status_code, bad.json()["field"]) == (422, "status")
