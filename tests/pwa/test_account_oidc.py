"""Signing in to the driver app with a brand's OpenID Connect provider: the real authlib
client against a local provider (RS256 tokens, PKCE, discovery, JWKS)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import msgspec
import pytest
from httpx import Response
from joserfc.jwk import RSAKey
from sqlalchemy import select

from tests.factories import brand_spec
from tests.fakes.oidc import CLIENT_ID, FakeOidc, Person, oidc_provider
from tests.pwa.test_account import (
    HTML,
    LOCALES,
    Client,
    driver,
    field_error,
    host,
    post_form,
)
from voltlane.core.db import Database
from voltlane.models.tenant import CustomerAccount, DriverLogin
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.tenancy import service as tenancy
from voltlane.tenancy.spec import DriverApp, OidcProvider

SECRET_ENV = "VOLTLANE_TEST_OIDC_SECRET"


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOidc]:
    with oidc_provider() as fake:
        monkeypatch.setenv(SECRET_ENV, fake.client_secret)
        yield fake


async def oidc_brand(database: Database, settings: Settings, issuer: str) -> TenantInfo:
    """A brand whose tenant file lists the provider (``[app] oidc``)."""
    spec = msgspec.structs.replace(
        brand_spec(locales=LOCALES),
        app=DriverApp(
            oidc=[
                OidcProvider(
                    key="idp",
                    name="Fake ID",
                    issuer=issuer,
                    client_id=CLIENT_ID,
                    secret_env=SECRET_ENV,
                )
            ]
        ),
    )
    async with database.platform_transaction() as db_session:
        info, _ = await tenancy.register_tenant(db_session, spec)
    return await tenancy.provision_tenant(database, settings.migrations_dir, info.id)


async def through_provider(
    client: Client, start: str = "/account/oidc/idp?next=/account/cards"
) -> Response:
    """The browser's round trip: to the provider, signed in there, back to the callback."""
    started = await client.get(start, headers=HTML)
    assert started.status_code == 303, started.text
    async with httpx.AsyncClient() as browser:
        at_provider = await browser.get(started.headers["location"])
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["location"])
    return await client.get(f"{back.path}?{back.query}", headers=HTML)


async def test_a_new_driver_signs_up_through_the_provider_after_accepting_the_terms(
    database: Database, settings: Settings, client_for, provider: FakeOidc, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    provider.person = Person("sub-42", "Lena@Example.com", email_verified=True, name="Lena F.")
    brand = await oidc_brand(database, settings, provider.issuer)
    async with client_for(host(brand)) as client:
        sign_in_page = await client.get("/account/sign-in", headers=HTML)
        back = await through_provider(client)
        form = await client.get("/account/oidc/complete", headers=HTML)
        refused = await post_form(
            client,
            "/account/oidc/complete",
            {"name": "", "country": "", "locale": "xx"},
            page="/account/oidc/complete",
        )
        created = await post_form(
            client,
            "/account/oidc/complete",
            {"name": "Lena Fischer", "country": "DE", "locale": "de_DE", "terms": "1"},
            page="/account/oidc/complete",
        )
        home = await client.get("/account", headers=HTML)

    assert 'href="/account/oidc/idp?next=/account"' in sign_in_page.text
    assert (back.status_code, back.headers["location"]) == (303, "/account/oidc/complete")
    assert "One more step for lena@example.com." in form.text
    assert 'value="Lena F."' in form.text
    assert refused.status_code == 400
    assert field_error("name", "Enter your name.") in refused.text
    assert field_error("country", "Choose your country.") in refused.text
    assert field_error("locale", "Choose one of the languages offered.") in refused.text
    assert field_error("terms", "Accept the terms of use to create an account.") in refused.text
    assert (created.status_code, created.headers["location"]) == (303, "/account/cards")
    assert home.status_code == 200
    assert 'id="verify-banner"' not in home.text

    (authorization,) = provider.authorizations
    (token_request,) = provider.token_requests
    assert authorization["code_challenge_method"] == "S256"
    assert authorization["scope"] == "openid email profile"
    assert len(authorization["nonce"]) >= 32
    assert len(authorization["state"]) >= 20
    assert authorization["redirect_uri"] == f"http://{host(brand)}/account/oidc/idp/callback"
    assert len(token_request["code_verifier"]) >= 43
    assert provider.client_secret not in caplog.text
    async with database.tenant_session(brand.key) as db_session:
        login = await db_session.scalar(select(DriverLogin))
        account = await db_session.scalar(select(CustomerAccount))
    assert login is not None
    assert account is not None
    assert (login.email, login.oidc_provider, login.oidc_subject, login.password_hash) == (
        "lena@example.com",
        "idp",
        "sub-42",
        None,
    )
    assert login.email_verified_at is not None
    assert login.terms_accepted_at is not None
    assert (account.name, account.country, account.locale) == ("Lena Fischer", "DE", "de_DE")


async def test_a_verified_address_links_the_provider_to_the_existing_login(
    database: Database, settings: Settings, client_for, provider: FakeOidc
) -> None:
    brand = await oidc_brand(database, settings, provider.issuer)
    login = await driver(database, brand)
    provider.person = Person("sub-7", "lena@example.com", email_verified=True)
    async with client_for(host(brand)) as client:
        back = await through_provider(client, "/account/oidc/idp")
        home = await client.get("/account", headers=HTML)
    assert (back.status_code, back.headers["location"]) == (303, "/account")
    assert home.status_code == 200
    async with database.tenant_session(brand.key) as db_session:
        stored = await db_session.get(DriverLogin, login.id)
    assert stored is not None
    assert (stored.oidc_provider, stored.oidc_subject) == ("idp", "sub-7")


async def test_an_unverified_address_at_the_provider_does_not_take_over_a_login(
    database: Database, settings: Settings, client_for, provider: FakeOidc
) -> None:
    brand = await oidc_brand(database, settings, provider.issuer)
    await driver(database, brand)
    provider.person = Person("sub-8", "lena@example.com", email_verified=False)
    async with client_for(host(brand)) as client:
        back = await through_provider(client, "/account/oidc/idp")
    assert back.status_code == 400
    assert (
        "No account is linked to this sign-in. If you have an account, sign in with your"
        " password." in back.text
    )
    assert "vl_driver" not in back.cookies


@pytest.mark.parametrize(
    "misbehaviour",
    ["nonce", "audience", "expired", "other_key", "unknown_key"],
)
async def test_an_id_token_that_does_not_check_out_is_refused(
    database: Database, settings: Settings, client_for, provider: FakeOidc, misbehaviour: str
) -> None:
    brand = await oidc_brand(database, settings, provider.issuer)
    if misbehaviour == "nonce":
        provider.nonce_override = "replayed-nonce"
    elif misbehaviour == "audience":
        provider.audience_override = "another-client"
    elif misbehaviour == "expired":
        provider.expires_in = -600
    elif misbehaviour == "other_key":
        provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    else:
        provider.sign_with = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    async with client_for(host(brand)) as client:
        back = await through_provider(client, "/account/oidc/idp")
    assert back.status_code == 400
    assert "The sign-in provider&#39;s answer could not be verified." in back.text
    assert "vl_driver" not in back.cookies
    async with database.tenant_session(brand.key) as db_session:
        assert await db_session.scalar(select(DriverLogin)) is None


async def test_a_callback_with_another_state_is_refused(
    database: Database, settings: Settings, client_for, provider: FakeOidc
) -> None:
    brand = await oidc_brand(database, settings, provider.issuer)
    async with client_for(host(brand)) as client:
        started = await client.get("/account/oidc/idp", headers=HTML)
        async with httpx.AsyncClient() as browser:
            at_provider = await browser.get(started.headers["location"])
        query = parse_qs(urlsplit(at_provider.headers["location"]).query)
        forged = await client.get(
            "/account/oidc/idp/callback",
            params={"code": query["code"][0], "state": "forged-state"},
            headers=HTML,
        )
    async with client_for(host(brand)) as other_browser:
        without_flow = await other_browser.get(
            "/account/oidc/idp/callback",
            params={"code": query["code"][0], "state": query["state"][0]},
            headers=HTML,
        )
    assert forged.status_code == 400
    assert "The sign-in did not come back as it was sent. Please start again." in forged.text
    assert without_flow.status_code == 400
    assert provider.token_requests == []


async def test_a_provider_without_its_secret_is_not_offered(
    database: Database, settings: Settings, client_for, provider: FakeOidc, monkeypatch
) -> None:
    brand = await oidc_brand(database, settings, provider.issuer)
    monkeypatch.delenv(SECRET_ENV)
    async with client_for(host(brand)) as client:
        page = await client.get("/account/sign-in", headers=HTML)
        start = await client.get("/account/oidc/idp", headers=HTML)
    assert "/account/oidc/idp" not in page.text
    assert start.status_code == 404


async def test_a_driver_without_password_confirms_deletion_at_the_provider(
    database: Database, settings: Settings, client_for, provider: FakeOidc
) -> None:
    provider.person = Person("sub-9", "max@example.com", email_verified=True, name="Max")
    brand = await oidc_brand(database, settings, provider.issuer)
    async with client_for(host(brand)) as client:
        await through_provider(client, "/account/oidc/idp")
        await post_form(
            client,
            "/account/oidc/complete",
            {"name": "Max Muster", "country": "DE", "locale": "en_GB", "terms": "1"},
            page="/account/oidc/complete",
        )
        confirm = await client.get("/account/delete/", headers=HTML)
        started = await post_form(
            client, "/account/oidc/idp/reauthenticate", {}, page="/account/delete/"
        )
        async with httpx.AsyncClient() as browser:
            at_provider = await browser.get(started.headers["location"])
        back = urlsplit(at_provider.headers["location"])
        done = await client.get(f"{back.path}?{back.query}", headers=HTML)
        after = await client.get("/account", headers=HTML)
    assert "Confirm with Fake ID and delete" in confirm.text
    assert provider.authorizations[-1]["prompt"] == "login"
    assert provider.authorizations[-1]["max_age"] == "0"
    assert (done.status_code, done.headers["location"]) == (303, "/account/sign-in?notice=deleted")
    assert after.status_code == 303
    async with database.tenant_session(brand.key) as db_session:
        assert await db_session.scalar(select(DriverLogin)) is None
        account = await db_session.scalar(select(CustomerAccount))
    assert account is not None
    assert (account.name, account.email) == ("Deleted account", None)
