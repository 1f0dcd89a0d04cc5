"""The Roaming page: partners listed, a registration token shown once, registering with a
partner (a real eMSP on a local HTTP server), suspend, resume, unregister and a push sent
again; every action audited; operations staff only."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.conftest import BrandClient, MakeBrand
from tests.factories import add_user
from tests.ocpi.conftest import ocpi_client
from tests.ocpi.peer import EmspPeer
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import AuditEntry, OcpiPartner, OcpiPush, PartnerState, PushState, Role
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Ocpi

PASSWORD = "correct horse battery"
OPS = "ops@example.com"


@pytest.fixture
async def brand(database: Database, make_brand: MakeBrand) -> TenantInfo:
    brand = await make_brand(ocpi=Ocpi(country_code="DE", party_id="VLT"))
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, OPS, PASSWORD, Role.OPERATIONS, "Olga Ops")
        await add_user(db_session, "read@example.com", PASSWORD, Role.READ_ONLY, "Rita Read")
    return brand


@pytest.fixture
def peer(httpserver: HTTPServer) -> EmspPeer:
    return EmspPeer(httpserver, accepted={"peer-token-a"}).serve()


async def audit_of(database: Database, brand: TenantInfo) -> list[tuple[str, str, Any]]:
    async with database.tenant_transaction(brand.key) as db_session:
        rows = await db_session.execute(
            select(AuditEntry.actor_email, AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action.startswith("portal.roaming."))
            .order_by(AuditEntry.at, AuditEntry.id)
        )
        return [(email, action, detail) for email, action, detail in rows.all()]


async def only_partner(database: Database, brand: TenantInfo) -> OcpiPartner:
    async with database.tenant_transaction(brand.key) as db_session:
        partners = (await db_session.scalars(select(OcpiPartner))).all()
    assert len(partners) == 1
    return partners[0]


async def test_a_registration_token_is_shown_once_and_opens_our_versions(
    database: Database,
    brand: TenantInfo,
    client_for: BrandClient,
    app: Litestar,
) -> None:
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, OPS, PASSWORD)
        page = await client.get("/portal/roaming", headers=HTML)
        assert page.status_code == 200
        assert '<a href="/portal/roaming" aria-current="page">Roaming</a>' in page.text
        assert "No roaming partner yet." in page.text
        token = csrf_token(page.text)
        empty = await client.post(
            "/portal/roaming/tokens", data={"token_name": " ", "_csrf_token": token}, headers=HTML
        )
        issued = await client.post(
            "/portal/roaming/tokens",
            data={"token_name": "Example Mobility", "_csrf_token": token},
            headers=HTML,
        )
        partner = await only_partner(database, brand)
        assert issued.status_code == 303
        assert issued.headers["location"] == f"/portal/roaming/{partner.id}/token"
        shown = await client.get(issued.headers["location"], headers=HTML)
        again = await client.get(issued.headers["location"], headers=HTML)
        listed = await client.get("/portal/roaming", headers=HTML)
    assert empty.status_code == 400
    assert "Give the partner a name of at most 100 characters." in empty.text
    assert shown.headers["cache-control"] == "no-store"
    assert f'value="http://{brand.slug}.localhost/ocpi/versions"' in shown.text
    secret = shown.text.split('data-testid="secret"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert len(secret) == 43
    assert "This was shown once already and cannot be shown again." in again.text
    assert secret not in again.text
    assert "Example Mobility" in listed.text
    assert "Waiting for the partner" in listed.text
    assert partner.state == PartnerState.PENDING
    async with ocpi_client(app, brand, secret) as ocpi:
        assert (await ocpi.get("/ocpi/versions")).status_code == 200
    assert await audit_of(database, brand) == [
        (OPS, "portal.roaming.token", {"name": "Example Mobility"})
    ]


async def test_registering_with_a_partner_and_ending_the_connection(
    database: Database, brand: TenantInfo, client_for: BrandClient, peer: EmspPeer
) -> None:
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, OPS, PASSWORD)
        token = csrf_token((await client.get("/portal/roaming", headers=HTML)).text)
        form = {"name": "Example Mobility", "versions_url": peer.versions_url, "_csrf_token": token}
        wrong = await client.post(
            "/portal/roaming/register", data=form | {"token_a": "wrong"}, headers=HTML
        )
        registered = await client.post(
            "/portal/roaming/register", data=form | {"token_a": "peer-token-a"}, headers=HTML
        )
        partner = await only_partner(database, brand)
        assert registered.headers["location"] == f"/portal/roaming/{partner.id}"
        shown = await client.get(registered.headers["location"], headers=HTML)
        suspended = await client.post(
            f"/portal/roaming/{partner.id}/suspend", data={"_csrf_token": token}, headers=HTML
        )
        after_suspend = (await only_partner(database, brand)).state
        twice = await client.post(
            f"/portal/roaming/{partner.id}/suspend", data={"_csrf_token": token}, headers=HTML
        )
        resumed = await client.post(
            f"/portal/roaming/{partner.id}/resume", data={"_csrf_token": token}, headers=HTML
        )
        after_resume = (await only_partner(database, brand)).state
        rotated = await client.post(
            f"/portal/roaming/{partner.id}/rotate", data={"_csrf_token": token}, headers=HTML
        )
        ended = await client.post(
            f"/portal/roaming/{partner.id}/unregister", data={"_csrf_token": token}, headers=HTML
        )
        final = await client.get(f"/portal/roaming/{partner.id}", headers=HTML)
    assert wrong.status_code == 400
    assert 'id="token_a-error"' in wrong.text
    assert "HTTP 401, OCPI 2000: unknown token" in wrong.text
    assert 'value="wrong"' not in wrong.text
    assert registered.status_code == 303
    assert shown.status_code == 200
    assert '<dd data-testid="state">Connected</dd>' in shown.text
    assert "NL*EXA" in shown.text
    assert peer.url("2.2.1/tokens") in shown.text
    assert (suspended.status_code, after_suspend) == (303, PartnerState.SUSPENDED)
    assert twice.status_code == 409
    assert "The connection is not in a state to change." in twice.text
    assert (resumed.status_code, after_resume) == (303, PartnerState.REGISTERED)
    assert rotated.status_code == 303
    assert [sent["token"] != peer.received[0]["token"] for sent in peer.received] == [False, True]
    assert ended.status_code == 303
    assert peer.deleted == 1
    assert '<dd data-testid="state">Ended</dd>' in final.text
    assert (await only_partner(database, brand)).state == PartnerState.UNREGISTERED
    assert [action for _, action, _ in await audit_of(database, brand)] == [
        "portal.roaming.register",
        "portal.roaming.suspend",
        "portal.roaming.resume",
        "portal.roaming.rotate",
        "portal.roaming.unregister",
    ]
    assert (await audit_of(database, brand))[-1][2] == {
        "name": "Example Mobility",
        "partner_refused": None,
    }


async def test_a_failed_push_is_sent_again(
    database: Database, brand: TenantInfo, client_for: BrandClient
) -> None:
    async with database.tenant_transaction(brand.key) as db_session:
        partner = OcpiPartner(
            name="Example Mobility",
            state=PartnerState.REGISTERED,
            initiated_by="them",
            country_code="NL",
            party_id="EXA",
        )
        db_session.add(partner)
        await db_session.flush()
        push = OcpiPush(
            partner_id=partner.id,
            module="locations",
            object_id="LOC1",
            method="PUT",
            path="/DE/VLT/LOC1",
            body={"id": "LOC1"},
            state=PushState.FAILED,
            attempts=12,
            next_attempt_at=utcnow(),
            last_http_status=503,
            last_error="PUT http://e.example/locations/DE/VLT/LOC1: HTTP 503",
        )
        db_session.add(push)
        await db_session.flush()
        partner_id, push_id = partner.id, push.id
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, OPS, PASSWORD)
        page = await client.get(f"/portal/roaming/{partner_id}", headers=HTML)
        listed = await client.get("/portal/roaming", headers=HTML)
        retried = await client.post(
            f"/portal/roaming/{partner_id}/pushes/{push_id}/retry",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
    assert "HTTP 503" in page.text
    assert f"/portal/roaming/{partner_id}/pushes/{push_id}/retry" in page.text
    assert "Failed (HTTP 503)" in listed.text
    assert retried.status_code == 303
    async with database.tenant_transaction(brand.key) as db_session:
        again = await db_session.get(OcpiPush, push_id)
    assert again is not None
    assert (again.state, again.attempts) == (PushState.PENDING, 11)
    assert await audit_of(database, brand) == [
        (
            OPS,
            "portal.roaming.retry",
            {"push": str(push_id), "module": "locations", "object": "LOC1"},
        )
    ]


async def test_only_staff_who_operate_the_network_open_roaming(
    brand: TenantInfo, client_for: BrandClient
) -> None:
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "read@example.com", PASSWORD)
        page = await client.get("/portal/roaming", headers=HTML)
        dashboard = await client.get("/portal/", headers=HTML)
    assert page.status_code == 403
    assert "/portal/roaming" not in dashboard.text


async def test_a_brand_without_an_ocpi_party_cannot_register_with_a_partner(
    database: Database, make_brand: MakeBrand, client_for: BrandClient, peer: EmspPeer
) -> None:
    plain = await make_brand()
    async with database.tenant_transaction(plain.key) as db_session:
        await add_user(db_session, OPS, PASSWORD, Role.OPERATIONS, "Olga Ops")
    async with client_for(f"{plain.slug}.localhost") as client:
        await sign_in(client, OPS, PASSWORD)
        token = csrf_token((await client.get("/portal/roaming", headers=HTML)).text)
        refused = await client.post(
            "/portal/roaming/register",
            data={
                "name": "Example Mobility",
                "versions_url": peer.versions_url,
                "token_a": "peer-token-a",
                "_csrf_token": token,
            },
            headers=HTML,
        )
    assert refused.status_code == 400
    assert "This brand has no OCPI party (country code and party ID) yet." in refused.text
    assert peer.received == []
    assert await audit_of(database, plain) == []


async def test_a_partner_of_one_brand_is_not_found_on_another(
    database: Database,
    brand: TenantInfo,
    make_brand: MakeBrand,
    client_for: BrandClient,
) -> None:
    other = await make_brand(ocpi=Ocpi(country_code="NL", party_id="OTH"))
    async with database.tenant_transaction(other.key) as db_session:
        await add_user(db_session, OPS, PASSWORD, Role.OPERATIONS, "Olga Ops")
        partner = OcpiPartner(name="Theirs", state=PartnerState.PENDING, initiated_by="them")
        db_session.add(partner)
        await db_session.flush()
        partner_id = partner.id
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, OPS, PASSWORD)
        page = await client.get("/portal/roaming", headers=HTML)
        shown = await client.get(f"/portal/roaming/{partner_id}", headers=HTML)
        ended = await client.post(
            f"/portal/roaming/{partner_id}/unregister",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
    assert "Theirs" not in page.text
    assert shown.status_code == 404
    assert ended.status_code == 404
    assert (await only_partner(database, other)).state == PartnerState.PENDING
