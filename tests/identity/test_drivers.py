"""Driver identity: sign-up, e-mail links, throttled sign-in with rotating sliding sessions,
password reset, OpenID Connect accounts, cards, and deleting an account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

import voltlane.identity.tasks  # noqa: F401 - registers identity.send_notification
from tests.factories import add_user
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.identity.drivers import accounts, links, sessions, signin
from voltlane.identity.drivers.errors import (
    DriverFormError,
    LinkInvalidError,
)
from voltlane.identity.drivers.signin import OidcClaims, SignInFailure, Throttle
from voltlane.identity.passwords import verify_password
from voltlane.identity.service import token_hash
from voltlane.models.tenant import (
    AccountKind,
    CustomerAccount,
    DriverEmailLink,
    DriverLogin,
    DriverSession,
    EmailLinkPurpose,
    Invoicing,
    LoginAttempt,
    Notification,
)
from voltlane.tenancy import TenantInfo

PASSWORD = "charge-it-up-42"
LOCALES = ["en_GB", "de_DE"]
LIMITS = Throttle(max_failures=3, window=timedelta(minutes=15))
SECRET = "test-secret-key"


def lena(**overrides: object) -> accounts.SignUp:
    values: dict[str, object] = {
        "name": "  Lena   Fischer ",
        "email": " Lena@Example.COM ",
        "password": PASSWORD,
        "country": "de",
        "locale": "de_DE",
        "accepted_terms": True,
    }
    values.update(overrides)
    return accounts.SignUp(**values)  # type: ignore[arg-type]


async def signed_up(database: Database, brand: TenantInfo, **overrides: object) -> DriverLogin:
    async with database.tenant_transaction(brand.key) as db_session:
        login, _token = await accounts.sign_up(db_session, lena(**overrides), locales=LOCALES)
        return login


async def count(database: Database, brand: TenantInfo, model: type) -> int:
    async with database.tenant_session(brand.key) as db_session:
        return int(await db_session.scalar(select(func.count()).select_from(model)) or 0)


async def password_sign_in(
    db_session, email: str, password: str, *, previous: str | None = None
) -> signin.SignInResult:
    return await signin.sign_in(
        db_session,
        email=email,
        password=password,
        ip="203.0.113.9",
        user_agent="pytest",
        previous_token=previous,
        limits=LIMITS,
    )


# -- sign-up and confirming the address ------------------------------------------------------


async def test_sign_up_creates_a_per_session_driver_account_and_an_unverified_login(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    async with database.tenant_transaction(brand.key) as db_session:
        login, token = await accounts.sign_up(db_session, lena(), locales=LOCALES)
    async with database.tenant_session(brand.key) as db_session:
        account = await db_session.get(CustomerAccount, login.account_id)
        stored = await db_session.get(DriverLogin, login.id)
        link = await db_session.get(DriverEmailLink, token_hash(token))
    assert account is not None
    assert stored is not None
    assert link is not None
    assert (account.kind, account.name, account.email, account.country, account.locale) == (
        AccountKind.DRIVER,
        "Lena Fischer",
        "lena@example.com",
        "DE",
        "de_DE",
    )
    assert (account.invoicing, account.redeem_points, account.vat_id) == (
        Invoicing.PER_SESSION,
        False,
        None,
    )
    assert stored.email == "lena@example.com"
    assert stored.email_verified_at is None
    assert stored.terms_accepted_at is not None
    assert stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert verify_password(stored.password_hash, PASSWORD)
    assert link.purpose is EmailLinkPurpose.VERIFY
    assert link.used_at is None
    assert (
        timedelta(hours=47, minutes=59) < link.expires_at - link.created_at <= timedelta(hours=48)
    )
    assert token not in link.token_hash


async def test_every_refused_field_is_named_and_nothing_is_written(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    bad = lena(
        name=" ",
        email="lena@",
        password="short",
        country="XX",
        locale="fr_FR",
        accepted_terms=False,
    )
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(DriverFormError) as refused:
            await accounts.sign_up(db_session, bad, locales=LOCALES)
    assert refused.value.errors == {
        "name": "Enter your name.",
        "email": "Enter a valid e-mail address.",
        "password": "Choose a password of 10 to 256 characters.",
        "country": "Choose your country.",
        "locale": "Choose one of the languages offered.",
        "terms": "Accept the terms of use to create an account.",
    }
    assert await count(database, brand, CustomerAccount) == 0
    assert await count(database, brand, DriverLogin) == 0


async def test_a_password_equal_to_the_address_or_one_repeated_character_is_refused(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    for password in ("lena@example.com", "aaaaaaaaaaaa"):
        async with database.tenant_transaction(brand.key) as db_session:
            with pytest.raises(DriverFormError) as refused:
                await accounts.sign_up(db_session, lena(password=password), locales=LOCALES)
        assert refused.value.errors == {
            "password": "This password is too easy to guess. Choose another one."
        }


async def test_an_address_with_an_account_is_refused_without_saying_more(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    await signed_up(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(DriverFormError) as refused:
            await accounts.sign_up(
                db_session, lena(email="LENA@example.com", name="Someone Else"), locales=LOCALES
            )
    assert refused.value.errors == {
        "email": "This address cannot be used for a new account. If it is yours, sign in or "
        "reset your password."
    }
    assert await count(database, brand, CustomerAccount) == 1


async def test_the_verification_link_confirms_the_address_once(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    async with database.tenant_transaction(brand.key) as db_session:
        login, token = await accounts.sign_up(db_session, lena(), locales=LOCALES)
    async with database.tenant_transaction(brand.key) as db_session:
        verified = await accounts.verify_email(db_session, token)
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(LinkInvalidError):
            await accounts.verify_email(db_session, token)
        with pytest.raises(LinkInvalidError):
            await accounts.verify_email(db_session, "not-a-token")
    assert verified.id == login.id
    assert verified.email_verified_at is not None


async def test_an_expired_link_is_refused_and_a_new_link_retires_the_old_one(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    async with database.tenant_transaction(brand.key) as db_session:
        login, first = await accounts.sign_up(db_session, lena(), locales=LOCALES)
        second = await links.issue_link(db_session, login, EmailLinkPurpose.VERIFY)
        third = await links.issue_link(db_session, login, EmailLinkPurpose.VERIFY)
        link = await db_session.get(DriverEmailLink, token_hash(third))
        assert link is not None
        link.expires_at = utcnow() - timedelta(seconds=1)
    async with database.tenant_transaction(brand.key) as db_session:
        for token in (first, second, third):
            with pytest.raises(LinkInvalidError):
                await accounts.verify_email(db_session, token)


async def test_the_outbox_loses_a_link_once_it_was_used(database: Database, make_brand) -> None:
    brand = await make_brand(locales=LOCALES)
    async with database.tenant_transaction(brand.key) as db_session:
        login, token = await accounts.sign_up(db_session, lena(), locales=LOCALES)
        await links.send_link(
            db_session,
            brand.key,
            login,
            token,
            EmailLinkPurpose.VERIFY,
            subject="Confirm your address",
            body=f"Open https://x.example/account/verify/{token}",
        )
    async with database.tenant_session(brand.key) as db_session:
        before = await db_session.scalar(select(Notification))
    async with database.tenant_transaction(brand.key) as db_session:
        await accounts.verify_email(db_session, token)
    async with database.tenant_session(brand.key) as db_session:
        after = await db_session.scalar(select(Notification))
    assert before is not None
    assert after is not None
    assert (before.kind, before.recipient, before.reference) == (
        "driver.verify",
        "lena@example.com",
        token_hash(token),
    )
    assert token in before.body
    assert after.body == links.LINK_REMOVED
    assert after.subject == "Confirm your address"


# -- sign-in, sessions, reset -------------------------------------------------------------------


async def test_sign_in_opens_a_sliding_session_and_rotates_the_previous_one(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await signed_up(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        first = await password_sign_in(db_session, "LENA@example.com", PASSWORD)
    assert first.token is not None
    async with database.tenant_transaction(brand.key) as db_session:
        second = await password_sign_in(
            db_session, "lena@example.com", PASSWORD, previous=first.token
        )
    assert second.token is not None
    assert second.identity is not None
    async with database.tenant_transaction(brand.key) as db_session:
        stale = await sessions.resolve_session(db_session, first.token)
        row = await db_session.get(DriverSession, token_hash(second.token))
        assert row is not None
        # A month-old sign-in used again a minute before it would expire: 30 days more.
        row.last_seen_at = utcnow() - timedelta(days=29, hours=23)
        row.expires_at = utcnow() + timedelta(minutes=1)
    async with database.tenant_transaction(brand.key) as db_session:
        driver = await sessions.resolve_session(db_session, second.token)
        row = await db_session.get(DriverSession, token_hash(second.token))
    assert stale is None
    assert driver == second.identity
    assert driver is not None
    assert (driver.login_id, driver.email, driver.name, driver.verified) == (
        login.id,
        "lena@example.com",
        "Lena Fischer",
        False,
    )
    assert second.locale == "de_DE"
    assert row is not None
    assert timedelta(days=29, hours=23) < row.expires_at - utcnow() <= timedelta(days=30)
    assert await count(database, brand, DriverSession) == 1


async def test_failed_sign_ins_are_throttled_apart_from_staff_sign_ins(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    await signed_up(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "lena@example.com", "staff password 123")
    results = []
    for attempt in range(LIMITS.max_failures):
        async with database.tenant_transaction(brand.key) as db_session:
            results.append(await password_sign_in(db_session, "lena@example.com", f"no {attempt}"))
    async with database.tenant_transaction(brand.key) as db_session:
        throttled = await password_sign_in(db_session, "lena@example.com", PASSWORD)
        unknown = await password_sign_in(db_session, "nobody@example.com", PASSWORD)
        keys = await db_session.scalars(select(LoginAttempt.email).distinct())
        attempt_keys = sorted(keys)
    assert [r.failure for r in results] == [SignInFailure.INVALID_CREDENTIALS] * 3
    assert throttled.failure is SignInFailure.RATE_LIMITED
    assert throttled.token is None
    assert throttled.retry_after is not None
    assert 0 < throttled.retry_after <= 15 * 60 + 1
    assert unknown.failure is SignInFailure.INVALID_CREDENTIALS
    assert attempt_keys == ["driver:lena@example.com", "driver:nobody@example.com"]
    assert await count(database, brand, DriverSession) == 0


async def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await signed_up(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        phone = await password_sign_in(db_session, "lena@example.com", PASSWORD)
        laptop = await password_sign_in(db_session, "lena@example.com", PASSWORD)
        found = await accounts.login_for_reset(db_session, " LENA@example.com")
        nobody = await accounts.login_for_reset(db_session, "nobody@example.com")
        assert found is not None
        token = await links.issue_link(db_session, found, EmailLinkPurpose.RESET)
        link = await db_session.get(DriverEmailLink, token_hash(token))
        assert link is not None
        ttl = link.expires_at - link.created_at
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(DriverFormError) as weak:
            await accounts.reset_password(db_session, token, "short")
    async with database.tenant_transaction(brand.key) as db_session:
        await accounts.reset_password(db_session, token, "a-new-password-7")
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(LinkInvalidError):
            await accounts.reset_password(db_session, token, "another-password-8")
        old = await password_sign_in(db_session, "lena@example.com", PASSWORD)
        new = await password_sign_in(db_session, "lena@example.com", "a-new-password-7")
        stored = await db_session.get(DriverLogin, login.id)
    assert nobody is None
    assert ttl == timedelta(hours=1)
    assert weak.value.errors == {"password": "Choose a password of 10 to 256 characters."}
    assert phone.token is not None
    assert laptop.token is not None
    assert old.failure is SignInFailure.INVALID_CREDENTIALS
    assert new.token is not None
    assert new.identity is not None
    assert new.identity.verified
    assert stored is not None
    assert stored.password_changed_at is not None
    async with database.tenant_session(brand.key) as db_session:
        assert await sessions.resolve_session(db_session, phone.token) is None
        assert await sessions.resolve_session(db_session, laptop.token) is None
    assert await count(database, brand, DriverSession) == 1


# -- OpenID Connect ----------------------------------------------------------------------------


def claims(**overrides: object) -> OidcClaims:
    values: dict[str, object] = {
        "provider": "idp",
        "subject": "sub-123",
        "email": "Lena@Example.com",
        "email_verified": True,
        "name": "Lena Fischer",
    }
    values.update(overrides)
    return OidcClaims(**values)  # type: ignore[arg-type]


async def test_a_provider_vouching_for_the_address_links_the_existing_login(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await signed_up(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        unvouched = await signin.sign_in_oidc(
            db_session, claims(email_verified=False), previous_token=None, user_agent=None
        )
        linked = await signin.sign_in_oidc(
            db_session, claims(), previous_token=None, user_agent=None
        )
    async with database.tenant_transaction(brand.key) as db_session:
        # The link is remembered: the subject alone signs in from now on.
        again = await signin.sign_in_oidc(
            db_session, claims(email="changed@example.com"), previous_token=None, user_agent=None
        )
        other = await signin.sign_in_oidc(
            db_session, claims(subject="sub-999"), previous_token=None, user_agent=None
        )
        stored = await db_session.get(DriverLogin, login.id)
    assert unvouched is None
    assert linked is not None
    assert linked.identity is not None
    assert linked.token is not None
    assert (linked.identity.login_id, linked.identity.verified) == (login.id, True)
    assert again is not None
    assert again.identity is not None
    assert again.identity.login_id == login.id
    assert other is None  # the login is linked to sub-123 already: never taken over
    assert stored is not None
    assert (stored.oidc_provider, stored.oidc_subject) == ("idp", "sub-123")
    assert stored.password_hash is not None


async def test_a_new_provider_driver_gets_an_account_once_they_accept_the_terms(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(DriverFormError) as refused:
            await signin.sign_up_oidc(
                db_session,
                claims(),
                name="",
                country="",
                locale="xx",
                locales=LOCALES,
                accepted_terms=False,
                user_agent=None,
            )
    async with database.tenant_transaction(brand.key) as db_session:
        result = await signin.sign_up_oidc(
            db_session,
            claims(email_verified=False),
            name="Lena Fischer",
            country="AT",
            locale="en_GB",
            locales=LOCALES,
            accepted_terms=True,
            user_agent="pytest",
        )
    assert refused.value.errors == {
        "name": "Enter your name.",
        "country": "Choose your country.",
        "locale": "Choose one of the languages offered.",
        "terms": "Accept the terms of use to create an account.",
    }
    assert result.identity is not None
    assert result.token is not None
    assert (result.identity.email, result.identity.verified, result.locale) == (
        "lena@example.com",
        False,
        "en_GB",
    )
    async with database.tenant_session(brand.key) as db_session:
        login = await db_session.get(DriverLogin, result.identity.login_id)
        account = await db_session.get(CustomerAccount, result.identity.account_id)
    assert login is not None
    assert account is not None
    assert (login.password_hash, login.oidc_provider, login.oidc_subject) == (
        None,
        "idp",
        "sub-123",
    )
    assert (account.name, account.country, account.invoicing) == (
        "Lena Fischer",
        "AT",
        Invoicing.PER_SESSION,
    )


async def test_the_demo_driver_is_seeded_once_with_a_confirmed_address(
    database: Database, make_brand
) -> None:
    brand = await make_brand(locales=LOCALES)
    async with database.tenant_transaction(brand.key) as db_session:
        account = await accounts.create_driver_account(
            db_session,
            name="Lena Fischer",
            email="lena@voltaria.example",
            country="DE",
            locale="de_DE",
        )
        first = await accounts.ensure_demo_login(
            db_session, account_id=account.id, email="Lena@Voltaria.example", password=PASSWORD
        )
        again = await accounts.ensure_demo_login(
            db_session, account_id=account.id, email="lena@voltaria.example", password=PASSWORD
        )
        signed = await password_sign_in(db_session, "lena@voltaria.example", PASSWORD)
    assert again.id == first.id
    assert (first.email, first.account_id) == ("lena@voltaria.example", account.id)
    assert first.email_verified_at is not None
    assert first.terms_accepted_at is not None
    assert signed.identity is not None
    assert signed.identity.verified
    assert await count(database, brand, DriverLogin) == 1
