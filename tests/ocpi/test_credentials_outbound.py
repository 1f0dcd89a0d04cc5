"""The brand registers with a partner (its versions URL and token A), rotates the token it
handed out, and ends the connection; the partner is a real eMSP on a local HTTP server."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.peer import EmspPeer
from tests.ocpi.test_credentials import kinds, ours, partner_row
from voltlane.core.db import Database
from voltlane.models.tenant import OcpiPartner, PartnerInitiator, PartnerState
from voltlane.ocpi.partners import partner_token
from voltlane.ocpi.registration import (
    RegistrationError,
    register_with_partner,
    rotate_our_token,
    unregister_partner,
)
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo

PEER_A = "peer-token-a"


@pytest.fixture
def peer(httpserver: HTTPServer) -> EmspPeer:
    return EmspPeer(httpserver, accepted={PEER_A}).serve()


def our_url(brand: TenantInfo) -> str:
    return f"http://{brand.slug}.localhost:8000/ocpi/versions"


async def partner_count(database: Database, brand: TenantInfo) -> int:
    async with database.tenant_transaction(brand.key) as db_session:
        return int(await db_session.scalar(select(func.count()).select_from(OcpiPartner)) or 0)


async def test_we_register_rotate_and_unregister(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    peer: EmspPeer,
) -> None:
    partner_id = await register_with_partner(
        database,
        cpo,
        settings.secret_key,
        name=" Example Mobility ",
        versions_url=peer.versions_url,
        token_a=PEER_A,
        our_versions_url=our_url(cpo),
    )

    token_b = peer.received[0]["token"]
    assert peer.received == [ours(cpo, token_b)]
    assert peer.accepted == {"peer-token-c-0"}  # their token A died
    partner = await partner_row(database, cpo, partner_id)
    assert partner.name == "Example Mobility"
    assert partner.state == PartnerState.REGISTERED
    assert partner.initiated_by == PartnerInitiator.US
    assert (partner.country_code, partner.party_id) == ("NL", "EXA")
    assert partner.versions_url == peer.versions_url
    assert [e["identifier"] for e in partner.endpoints] == [
        "credentials",
        "tokens",
        "locations",
        "sessions",
    ]
    assert partner_token(settings.secret_key, partner) == "peer-token-c-0"
    assert await kinds(database, cpo, partner_id) == ["C"]
    async with ocpi_for(cpo, token_b) as client:
        assert data_of(await client.get("/ocpi/2.2.1/credentials")) == ours(cpo, token_b)

    await rotate_our_token(
        database, cpo, settings.secret_key, partner_id, our_versions_url=our_url(cpo)
    )
    new_b = peer.received[1]["token"]
    assert new_b != token_b
    assert peer.received[1] == ours(cpo, new_b)
    partner = await partner_row(database, cpo, partner_id)
    assert partner_token(settings.secret_key, partner) == "peer-token-c-1"
    assert partner.last_error is None
    async with ocpi_for(cpo, token_b) as client:
        assert (await client.get("/ocpi/2.2.1/credentials")).status_code == 401
    async with ocpi_for(cpo, new_b) as client:
        assert data_of(await client.get("/ocpi/2.2.1/credentials"))["token"] == new_b

    assert await unregister_partner(database, cpo, settings.secret_key, partner_id) is None
    assert peer.deleted == 1
    partner = await partner_row(database, cpo, partner_id)
    assert (partner.state, partner.token_sealed) == (PartnerState.UNREGISTERED, None)
    assert await kinds(database, cpo, partner_id) == []
    async with ocpi_for(cpo, new_b) as client:
        assert (await client.get("/ocpi/2.2.1/credentials")).status_code == 401


async def test_a_registration_that_fails_leaves_nothing_behind(
    database: Database, settings: Settings, cpo: TenantInfo, peer: EmspPeer
) -> None:
    attempts = [
        ("http://127.0.0.1:9/ocpi/versions", PEER_A, "versions_url"),
        (peer.versions_url, "wrong-token", "token_a"),
        ("not a url", PEER_A, "versions_url"),
        (peer.versions_url, "has space", "token_a"),
    ]
    for versions_url, token_a, field in attempts:
        with pytest.raises(RegistrationError) as caught:
            await register_with_partner(
                database,
                cpo,
                settings.secret_key,
                name="Example Mobility",
                versions_url=versions_url,
                token_a=token_a,
                our_versions_url=our_url(cpo),
            )
        assert caught.value.field == field
    assert caught.value.message == ("The token is at most 64 printable characters without spaces.")
    peer.versions = ("2.1.1",)
    with pytest.raises(RegistrationError) as unsupported:
        await register_with_partner(
            database,
            cpo,
            settings.secret_key,
            name="Example Mobility",
            versions_url=peer.versions_url,
            token_a=PEER_A,
            our_versions_url=our_url(cpo),
        )
    assert unsupported.value.message == "This CPO speaks OCPI 2.2.1 only; you offer: 2.1.1."
    assert peer.received == []
    assert await partner_count(database, cpo) == 0


async def test_a_party_already_connected_is_refused_and_the_partner_told(
    database: Database, settings: Settings, cpo: TenantInfo, peer: EmspPeer
) -> None:
    await register_with_partner(
        database,
        cpo,
        settings.secret_key,
        name="Example Mobility",
        versions_url=peer.versions_url,
        token_a=PEER_A,
        our_versions_url=our_url(cpo),
    )
    peer.accepted = {"second-token-a"}
    with pytest.raises(RegistrationError) as caught:
        await register_with_partner(
            database,
            cpo,
            settings.secret_key,
            name="Example Mobility twice",
            versions_url=peer.versions_url,
            token_a="second-token-a",
            our_versions_url=our_url(cpo),
        )
    assert caught.value.message == "The party NL*EXA already has a connection with this CPO."
    assert peer.deleted == 1
    assert await partner_count(database, cpo) == 1


async def test_unregistering_ends_the_connection_here_even_when_the_partner_refuses(
    database: Database, settings: Settings, cpo: TenantInfo, peer: EmspPeer
) -> None:
    partner_id = await register_with_partner(
        database,
        cpo,
        settings.secret_key,
        name="Example Mobility",
        versions_url=peer.versions_url,
        token_a=PEER_A,
        our_versions_url=our_url(cpo),
    )
    peer.accepted = set()
    problem = await unregister_partner(database, cpo, settings.secret_key, partner_id)
    assert problem is not None
    assert problem.endswith("HTTP 401, OCPI 2000: unknown token")
    partner = await partner_row(database, cpo, partner_id)
    assert partner.state == PartnerState.UNREGISTERED
    assert await kinds(database, cpo, partner_id) == []
