"""API keys: only a live key of the host's brand opens the API; problem details otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.api.conftest import issue_key
from voltlane.core.db import Database
from voltlane.identity import api_keys
from voltlane.models.tenant import ApiKey

UNAUTHORIZED = {
    "type": "about:blank",
    "title": "API key required",
    "status": 401,
    "detail": "The API key is not valid for this brand.",
}


async def test_a_live_key_opens_the_api(database: Database, make_brand, api_for) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        response = await client.get("/api/v1/locations")
    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0}


async def test_a_request_without_a_key_gets_401_with_a_bearer_challenge(
    make_brand, api_for
) -> None:
    brand = await make_brand()
    async with api_for(brand, None) as client:
        response = await client.post("/api/v1/locations", json={"name": ""})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="Voltlane API"'
    assert response.json() == {
        "type": "about:blank",
        "title": "API key required",
        "status": 401,
        "detail": "Send Authorization: Bearer <API key>.",
    }


@pytest.mark.parametrize(
    "header",
    [
        "Bearer vl_0123456789_" + "A" * 43,  # well-formed, unknown
        "Bearer not-a-key",
        "Basic dXNlcjpwYXNz",
        "Bearer",
    ],
)
async def test_unknown_and_malformed_keys_get_401(
    database: Database, make_brand, api_for, header: str
) -> None:
    brand = await make_brand()
    async with api_for(brand, None) as client:
        response = await client.get("/api/v1/stations", headers={"Authorization": header})
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


async def test_a_wrong_secret_with_a_real_prefix_gets_401(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    prefix, secret = api_keys.parse_key(key) or ("", "")
    forged = f"vl_{prefix}_{'x' * len(secret)}"
    async with api_for(brand, forged) as client:
        response = await client.get("/api/v1/stations")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


async def test_a_revoked_key_gets_401(database: Database, make_brand, api_for) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    prefix = key.split("_")[1]
    async with database.tenant_transaction(brand.key) as db_session:
        revoked = await api_keys.revoke_api_key(db_session, prefix)
        first_revocation = revoked.revoked_at
        again = await api_keys.revoke_api_key(db_session, revoked.id)
    async with api_for(brand, key) as client:
        response = await client.get("/api/v1/stations")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)
    assert again.revoked_at == first_revocation


async def test_a_key_of_another_brand_gets_401(database: Database, make_brand, api_for) -> None:
    a = await make_brand()
    b = await make_brand()
    key_of_a = await issue_key(database, a)
    async with api_for(b, key_of_a) as client:
        response = await client.get("/api/v1/locations")
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


async def test_keys_are_stored_as_prefix_and_sha256_only(database: Database, make_brand) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        key, plaintext = await api_keys.create_api_key(
            db_session, name="  billing export ", created_by="ops@example.com"
        )
    prefix, secret = api_keys.parse_key(plaintext) or ("", "")
    assert plaintext == f"vl_{prefix}_{secret}"
    assert (len(prefix), len(secret)) == (10, 43)
    async with database.tenant_session(brand.key) as db_session:
        row = await db_session.scalar(select(ApiKey).where(ApiKey.id == key.id))
    assert row is not None
    assert (row.name, row.prefix, row.created_by) == ("billing export", prefix, "ops@example.com")
    assert row.secret_hash == api_keys.secret_hash(secret)
    assert secret not in row.secret_hash
    assert (row.last_used_at, row.revoked_at) == (None, None)


async def test_a_given_secret_gives_the_same_key_every_time(database: Database, make_brand) -> None:
    secret = "s" * 43
    keys = []
    for brand in (await make_brand(), await make_brand()):
        async with database.tenant_transaction(brand.key) as db_session:
            _, plaintext = await api_keys.create_api_key(
                db_session, name="demo", created_by=None, secret=secret
            )
        keys.append(plaintext)
    assert keys[0] == keys[1]
    assert keys[0].endswith("_" + secret)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": " ", "secret": None}, "name"),
        ({"name": "x" * 121, "secret": None}, "name"),
        ({"name": "demo", "secret": "too-short"}, "secret"),
        ({"name": "demo", "secret": "a" * 42}, "secret"),
        ({"name": "demo", "secret": "a" * 42 + "!"}, "secret"),
    ],
)
async def test_invalid_key_requests_name_the_field(
    database: Database, make_brand, kwargs, field: str
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(api_keys.InvalidApiKeyError) as caught:
            await api_keys.create_api_key(db_session, created_by=None, **kwargs)
    assert caught.value.field == field


async def test_the_same_secret_twice_in_one_brand_is_a_conflict(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await api_keys.create_api_key(db_session, name="a", created_by=None, secret="q" * 43)
        with pytest.raises(api_keys.DuplicateApiKeyError) as caught:
            await api_keys.create_api_key(db_session, name="b", created_by=None, secret="q" * 43)
    assert caught.value.field == "secret"


async def test_last_used_at_is_written_at_most_once_a_minute(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)

    async def last_used():
        async with database.tenant_session(brand.key) as db_session:
            return await db_session.scalar(select(ApiKey.last_used_at))

    async with api_for(brand, key) as client:
        await client.get("/api/v1/locations")
        first = await last_used()
        await client.get("/api/v1/locations")
        second = await last_used()
        async with database.tenant_transaction(brand.key) as db_session:
            await db_session.execute(
                update(ApiKey).values(last_used_at=ApiKey.last_used_at - timedelta(minutes=2))
            )
        await client.get("/api/v1/locations")
        third = await last_used()
    assert first is not None
    assert second == first
    assert third is not None
    assert third > first


async def test_revoking_an_unknown_key_is_not_found(database: Database, make_brand) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(api_keys.ApiKeyNotFoundError):
            await api_keys.revoke_api_key(db_session, "0000000000")


async def test_list_api_keys_shows_live_and_revoked_newest_first(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        old, _ = await api_keys.create_api_key(db_session, name="old", created_by=None)
        await api_keys.revoke_api_key(db_session, old.id)
    async with database.tenant_transaction(brand.key) as db_session:
        await api_keys.create_api_key(db_session, name="new", created_by=None)
    async with database.tenant_session(brand.key) as db_session:
        listed = await api_keys.list_api_keys(db_session)
    assert [(k.name, k.revoked_at is not None) for k in listed] == [
        ("new", False),
        ("old", True),
    ]


async def test_the_api_needs_no_csrf_token_and_sets_no_csrf_cookie(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        listed = await client.get("/api/v1/id-tokens")
        created = await client.post(
            "/api/v1/id-tokens", json={"id_token": "CARD1", "type": "ISO14443"}
        )
    assert (listed.status_code, created.status_code) == (200, 201)
    assert "vl_csrf" not in listed.cookies
    assert "vl_csrf" not in created.cookies


async def test_openapi_documents_every_api_route_and_the_key_scheme(make_brand, api_for) -> None:
    brand = await make_brand()
    async with api_for(brand, None) as client:
        response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "description": "An API key of the brand whose host serves the request.",
        "scheme": "bearer",
        "bearerFormat": "vl_<prefix>_<secret>",
    }
    paths = schema["paths"]
    api_paths = sorted(p for p in paths if p.startswith("/api/v1/"))
    assert "/api/v1/stations/{charging_station_id}/commands/remote-start" in api_paths
    assert "/api/v1/stations/{charging_station_id}/ocpp/{action}" in api_paths
    assert not [p for p in paths if p.startswith("/portal")]
    for path in api_paths:
        for operation in paths[path].values():
            assert operation["security"] == [{"apiKey": []}], path
    remote_start = paths["/api/v1/stations/{charging_station_id}/commands/remote-start"]["post"]
    body_ref = remote_start["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = schema["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert body["required"] == ["id_token"]
    assert set(body["properties"]) == {
        "deadline_seconds",
        "id_token",
        "id_token_type",
        "evse_id",
        "remote_start_id",
        "charging_profile",
    }
    create_station = paths["/api/v1/stations"]["post"]
    assert create_station["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/StationWithPassword"
    }
