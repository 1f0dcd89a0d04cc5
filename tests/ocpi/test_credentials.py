"""Credentials module, served: a partner registers with our token A (its API read back
with its token B), updates with PUT, unregisters with DELETE; every fault answered with
the status the spec names."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.conftest import MakeBrand
from tests.ocpi.conftest import OcpiClientFactory, data_of, registration_token
from tests.ocpi.peer import EmspPeer
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.platform import CredentialKind, OcpiCredential
from voltlane.models.tenant import OcpiPartner, OcpiPush, PartnerState, PushState
from voltlane.ocpi.partners import partner_token
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Ocpi

PEER_B = "peer-token-b"


@pytest.fixture
def peer(httpserver: HTTPServer) -> EmspPeer:
    return EmspPeer(httpserver, accepted={PEER_B}).serve()


def ours(brand: TenantInfo, token: str) -> dict[str, Any]:
    return {
        "token": token,
        "url": f"http://{brand.slug}.localhost:8000/ocpi/versions",
        "roles": [
            {
                "role": "CPO",
                "party_id": "VLT",
                "country_code": "DE",
                "business_details": {"name": brand.name},
            }
        ],
    }


async def partner_row(database: Database, brand: TenantInfo, partner_id: uuid.UUID) -> OcpiPartner:
    async with database.tenant_transaction(brand.key) as db_session:
        partner = await db_session.get(OcpiPartner, partner_id)
    assert partner is not None
    return partner


async def kinds(database: Database, brand: TenantInfo, partner_id: uuid.UUID) -> list[str]:
    async with database.platform_transaction() as platform:
        rows = await platform.scalars(
            select(OcpiCredential.kind).where(
                OcpiCredential.tenant_key == brand.key, OcpiCredential.partner_id == partner_id
            )
        )
        return sorted(kind.value for kind in rows)


def status_of(response: httpx.Response) -> tuple[int, int]:
    return response.status_code, response.json()["status_code"]


async def register(
    ocpi_for: OcpiClientFactory, brand: TenantInfo, token_a: str, body: dict[str, Any]
) -> httpx.Response:
    async with ocpi_for(brand, token_a) as client:
        return await client.post("/ocpi/2.2.1/credentials", json=body)


async def test_token_a_reads_our_credentials_with_itself_as_the_token(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    issued = await registration_token(database, cpo, "Example Mobility")
    async with ocpi_for(cpo, issued.token) as client:
        response = await client.get("/ocpi/2.2.1/credentials")
    assert response.status_code == 200
    assert data_of(response) == ours(cpo, issued.token)


async def test_a_partner_registers_updates_and_unregisters(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    peer: EmspPeer,
) -> None:
    issued = await registration_token(database, cpo, "Example Mobility")
    response = await register(ocpi_for, cpo, issued.token, peer.credentials(PEER_B))

    token_c = data_of(response)["token"]
    assert data_of(response) == ours(cpo, token_c)
    assert len(token_c) == 43
    partner = await partner_row(database, cpo, issued.partner_id)
    assert partner.state == PartnerState.REGISTERED
    assert (partner.country_code, partner.party_id) == ("NL", "EXA")
    assert partner.version == "2.2.1"
    assert partner.versions_url == peer.versions_url
    assert partner.roles == peer.credentials(PEER_B)["roles"]
    assert [(e["identifier"], e["role"]) for e in partner.endpoints] == [
        ("credentials", "SENDER"),
        ("tokens", "SENDER"),
        ("locations", "RECEIVER"),
        ("sessions", "RECEIVER"),
    ]
    assert partner.endpoints[1]["url"] == peer.url("2.2.1/tokens")
    assert partner_token(settings.secret_key, partner) == PEER_B
    assert partner.registered_at is not None
    assert partner.name == "Example Mobility"
    assert await kinds(database, cpo, issued.partner_id) == ["C"]

    # Token A died with the registration; token C is registered and cannot POST again.
    again = await register(ocpi_for, cpo, issued.token, peer.credentials(PEER_B))
    assert status_of(again) == (401, 2000)
    twice = await register(ocpi_for, cpo, token_c, peer.credentials(PEER_B))
    assert status_of(twice) == (405, 2000)
    async with ocpi_for(cpo, token_c) as client:
        assert data_of(await client.get("/ocpi/2.2.1/credentials")) == ours(cpo, token_c)

    # PUT: the partner's new token is used to read its endpoints; we mint a new token C.
    peer.accepted = {"peer-token-b2"}
    peer.modules = (("tokens", "SENDER"), ("cdrs", "RECEIVER"))
    async with ocpi_for(cpo, token_c) as client:
        updated = await client.put(
            "/ocpi/2.2.1/credentials", json=peer.credentials("peer-token-b2")
        )
    new_c = data_of(updated)["token"]
    assert new_c != token_c
    assert data_of(updated) == ours(cpo, new_c)
    async with ocpi_for(cpo, token_c) as client:
        assert (await client.get("/ocpi/2.2.1/credentials")).status_code == 401
    async with ocpi_for(cpo, new_c) as client:
        assert data_of(await client.get("/ocpi/2.2.1/credentials"))["token"] == new_c
    partner = await partner_row(database, cpo, issued.partner_id)
    assert partner_token(settings.secret_key, partner) == "peer-token-b2"
    assert [e["identifier"] for e in partner.endpoints] == ["credentials", "tokens", "cdrs"]
    assert partner.state == PartnerState.REGISTERED

    # DELETE: the connection ends; what we still owed the partner is given up.
    async with database.tenant_transaction(cpo.key) as db_session:
        db_session.add(
            OcpiPush(
                partner_id=issued.partner_id,
                module="locations",
                object_id="LOC1",
                method="PUT",
                path="/DE/VLT/LOC1",
                body={"id": "LOC1"},
                state=PushState.PENDING,
                attempts=0,
                next_attempt_at=utcnow(),
            )
        )
    async with ocpi_for(cpo, new_c) as client:
        deleted = await client.delete("/ocpi/2.2.1/credentials")
        after = await client.get("/ocpi/2.2.1/credentials")
    assert status_of(deleted) == (200, 1000)
    assert "data" not in deleted.json()
    assert after.status_code == 401
    partner = await partner_row(database, cpo, issued.partner_id)
    assert partner.state == PartnerState.UNREGISTERED
    assert partner.token_sealed is None
    assert partner.unregistered_at is not None
    assert await kinds(database, cpo, issued.partner_id) == []
    async with database.tenant_transaction(cpo.key) as db_session:
        push = await db_session.scalar(
            select(OcpiPush).where(OcpiPush.partner_id == issued.partner_id)
        )
    assert push is not None
    assert (push.state, push.last_error) == (PushState.FAILED, "the partner unregistered")


async def test_put_and_delete_before_registration_are_not_allowed(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory, peer: EmspPeer
) -> None:
    issued = await registration_token(database, cpo, "Example Mobility")
    async with ocpi_for(cpo, issued.token) as client:
        put = await client.put("/ocpi/2.2.1/credentials", json=peer.credentials(PEER_B))
        deleted = await client.delete("/ocpi/2.2.1/credentials")
    assert status_of(put) == (405, 2000)
    assert status_of(deleted) == (405, 2000)
    assert (await partner_row(database, cpo, issued.partner_id)).state == PartnerState.PENDING
    assert await kinds(database, cpo, issued.partner_id) == ["A"]


async def test_an_unreachable_versions_url_is_3001_and_token_a_stays(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory, peer: EmspPeer
) -> None:
    issued = await registration_token(database, cpo, "Example Mobility")
    body = peer.credentials(PEER_B) | {"url": "http://127.0.0.1:9/ocpi/versions"}
    response = await register(ocpi_for, cpo, issued.token, body)
    assert status_of(response) == (200, 3001)
    assert response.json()["status_message"].startswith(
        "Your versions endpoint: GET http://127.0.0.1:9/ocpi/versions: ConnectError"
    )
    refused = await register(ocpi_for, cpo, issued.token, peer.credentials("not-their-token"))
    assert status_of(refused) == (200, 3001)
    assert "HTTP 401, OCPI 2000: unknown token" in refused.json()["status_message"]
    assert (await partner_row(database, cpo, issued.partner_id)).state == PartnerState.PENDING
    assert await kinds(database, cpo, issued.partner_id) == ["A"]


async def test_a_partner_without_2_2_1_is_3002(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory, peer: EmspPeer
) -> None:
    peer.versions = ("2.1.1", "2.2")
    issued = await registration_token(database, cpo, "Example Mobility")
    response = await register(ocpi_for, cpo, issued.token, peer.credentials(PEER_B))
    assert status_of(response) == (200, 3002)
    assert response.json()["status_message"] == (
        "This CPO speaks OCPI 2.2.1 only; you offer: 2.1.1, 2.2."
    )


async def test_a_partner_with_nothing_but_credentials_is_3003(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory, peer: EmspPeer
) -> None:
    peer.modules = (("parking", "RECEIVER"),)
    issued = await registration_token(database, cpo, "Example Mobility")
    response = await register(ocpi_for, cpo, issued.token, peer.credentials(PEER_B))
    assert status_of(response) == (200, 3003)
    assert (await partner_row(database, cpo, issued.partner_id)).state == PartnerState.PENDING


def role(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "role": "EMSP",
        "party_id": "EXA",
        "country_code": "NL",
        "business_details": {"name": "Example Mobility"},
    }
    return base | changes


BAD_BODIES: list[tuple[dict[str, Any], str]] = [
    ({"url": "https://e.example/v", "roles": [role()]}, "token is required."),
    (
        {"token": "has space", "url": "https://e.example/v", "roles": [role()]},
        "token must be at most 64 printable ASCII characters without spaces.",
    ),
    (
        {"token": "x" * 65, "url": "https://e.example/v", "roles": [role()]},
        "token must be at most 64 printable ASCII characters without spaces.",
    ),
    ({"token": "t", "url": "ftp://e.example/v", "roles": [role()]}, "url must be an http(s) URL."),
    ({"token": "t", "roles": [role()]}, "url is required."),
    (
        {"token": "t", "url": "https://e.example/v", "roles": []},
        "roles must list at least one CredentialsRole.",
    ),
    (
        {"token": "t", "url": "https://e.example/v", "roles": [role(role="DRIVER")]},
        "roles[0].role must be one of CPO, EMSP, HUB, NAP, NSP, OTHER, SCSP.",
    ),
    (
        {"token": "t", "url": "https://e.example/v", "roles": [role(party_id="E*A")]},
        "roles[0].party_id must be 3 characters (letters and digits).",
    ),
    (
        {"token": "t", "url": "https://e.example/v", "roles": [role(country_code="N1")]},
        "roles[0].country_code must be 2 characters (ISO 3166 alpha-2).",
    ),
    (
        {
            "token": "t",
            "url": "https://e.example/v",
            "roles": [role(), role(business_details={})],
        },
        "roles[1].business_details.name is required.",
    ),
    (
        {
            "token": "t",
            "url": "https://e.example/v",
            "roles": [role(business_details={"name": "n" * 101})],
        },
        "roles[0].business_details.name is longer than 100 characters.",
    ),
    (
        {
            "token": "t",
            "url": "https://e.example/v",
            "roles": [role(business_details={"name": "E", "logo": {"url": "https://e/l.png"}})],
        },
        "roles[0].business_details.logo.category must be one of CHARGER, ENTRANCE, "
        "LOCATION, NETWORK, OPERATOR, OTHER, OWNER.",
    ),
    (
        {"token": "t", "url": "https://e.example/v", "roles": [role(), role(party_id="exa")]},
        "roles[1] repeats role, country_code and party_id.",
    ),
]


async def test_bad_bodies_are_2001_naming_the_field(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    issued = await registration_token(database, cpo, "Example Mobility")
    async with ocpi_for(cpo, issued.token) as client:
        for body, message in BAD_BODIES:
            response = await client.post("/ocpi/2.2.1/credentials", json=body)
            assert status_of(response) == (200, 2001), body
            assert response.json()["status_message"] == message
        listed = await client.post("/ocpi/2.2.1/credentials", json=[1])
        broken = await client.post(
            "/ocpi/2.2.1/credentials",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
    assert listed.json()["status_message"] == "The body must be an object."
    assert status_of(broken) == (400, 2000)
    assert await kinds(database, cpo, issued.partner_id) == ["A"]


async def test_a_party_with_a_live_connection_cannot_register_twice(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory, peer: EmspPeer
) -> None:
    first = await registration_token(database, cpo, "Example Mobility")
    second = await registration_token(database, cpo, "Example Mobility again")
    data_of(await register(ocpi_for, cpo, first.token, peer.credentials(PEER_B)))
    peer.accepted = {PEER_B}
    response = await register(ocpi_for, cpo, second.token, peer.credentials(PEER_B))
    assert status_of(response) == (200, 2000)
    assert response.json()["status_message"] == (
        "The party NL*EXA already has a connection with this CPO."
    )
    assert (await partner_row(database, cpo, second.partner_id)).state == PartnerState.PENDING


async def test_a_token_c_of_one_brand_is_refused_on_another(
    database: Database,
    cpo: TenantInfo,
    make_brand: MakeBrand,
    ocpi_for: OcpiClientFactory,
    peer: EmspPeer,
) -> None:
    other = await make_brand(ocpi=Ocpi(country_code="NL", party_id="OTH"))
    issued = await registration_token(database, cpo, "Example Mobility")
    token_c = data_of(await register(ocpi_for, cpo, issued.token, peer.credentials(PEER_B)))[
        "token"
    ]
    async with ocpi_for(other, token_c) as client:
        read = await client.get("/ocpi/2.2.1/credentials")
        deleted = await client.delete("/ocpi/2.2.1/credentials")
    assert status_of(read) == (401, 2000)
    assert status_of(deleted) == (401, 2000)
    assert (await partner_row(database, cpo, issued.partner_id)).state == PartnerState.REGISTERED
    assert await kinds(database, cpo, issued.partner_id) == [CredentialKind.ACCESS.value]
