"""Signing drivers in: by e-mail and password under the same throttling as staff, or by an
OpenID Connect provider's verified claims (linked to the login with that address, or a new
account once the driver has accepted the terms)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.text import N_
from voltlane.identity import throttle
from voltlane.identity.drivers.accounts import (
    Errors,
    check_country,
    check_locale,
    check_name,
    create_driver_account,
)
from voltlane.identity.drivers.errors import DriverFormError
from voltlane.identity.drivers.repository import DriverRepository
from voltlane.identity.drivers.schemas import DriverIdentity
from voltlane.identity.drivers.sessions import open_session
from voltlane.identity.passwords import hash_password, needs_rehash, verify_password
from voltlane.identity.service import normalise_email
from voltlane.models.tenant import DriverLogin


def attempt_key(email: str) -> str:
    """Drivers' attempts are counted apart from staff's, who may share an address."""
    return f"driver:{email}"


class SignInFailure(enum.StrEnum):
    INVALID_CREDENTIALS = "invalid_credentials"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True, slots=True)
class SignInResult:
    """A signed-in driver and their session token, or why not; the attempt is recorded
    either way, so the caller commits in both cases."""

    identity: DriverIdentity | None
    token: str | None
    locale: str | None = None  # the driver's language, for the pages that follow
    failure: SignInFailure | None = None
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class Throttle:
    max_failures: int
    window: timedelta


async def sign_in(
    db_session: AsyncSession,
    *,
    email: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
    previous_token: str | None,
    limits: Throttle,
) -> SignInResult:
    """Check the password under throttling and open a new session (the browser's earlier
    session ends: the session id changes at sign-in)."""
    normalised = normalise_email(email)[:254]
    key = attempt_key(normalised)
    wait = await throttle.retry_after(
        db_session, key=key, ip=ip, max_failures=limits.max_failures, window=limits.window
    )
    if wait is not None:
        return SignInResult(None, None, failure=SignInFailure.RATE_LIMITED, retry_after=wait)
    repo = DriverRepository(db_session)
    login = await repo.login_by_email(normalised)
    if not verify_password(login.password_hash if login else None, password) or login is None:
        throttle.record_attempt(db_session, key=key, ip=ip, succeeded=False)
        return SignInResult(None, None, failure=SignInFailure.INVALID_CREDENTIALS)
    throttle.record_attempt(db_session, key=key, ip=ip, succeeded=True)
    assert login.password_hash is not None
    if needs_rehash(login.password_hash):
        login.password_hash = hash_password(password)
    return await _signed_in(db_session, login, previous_token, user_agent)


async def _signed_in(
    db_session: AsyncSession, login: DriverLogin, previous_token: str | None, user_agent: str | None
) -> SignInResult:
    account = await DriverRepository(db_session).account(login.account_id)
    assert account is not None  # the foreign key holds
    token = await open_session(
        db_session, login, previous_token=previous_token, user_agent=user_agent
    )
    return SignInResult(DriverIdentity.from_rows(login, account), token, locale=account.locale)


@dataclass(frozen=True, slots=True)
class OidcClaims:
    """What a provider's checked ID token says about the driver."""

    provider: str  # the brand's key for the provider
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


async def sign_in_oidc(
    db_session: AsyncSession,
    claims: OidcClaims,
    *,
    previous_token: str | None,
    user_agent: str | None,
) -> SignInResult | None:
    """Sign in the login linked to the provider's subject, or the login with the same
    address once the provider vouches for it (the link is remembered). None: nobody yet;
    the driver completes a sign-up first (``sign_up_oidc``)."""
    repo = DriverRepository(db_session)
    login = await repo.login_by_oidc(claims.provider, claims.subject)
    if login is None and claims.email and claims.email_verified:
        login = await repo.login_by_email(normalise_email(claims.email))
        if login is not None and login.oidc_subject is None:
            login.oidc_provider = claims.provider
            login.oidc_subject = claims.subject
        elif login is not None:
            # Linked to another provider's identity already: never take it over.
            return None
    if login is None:
        return None
    vouched = claims.email_verified and normalise_email(claims.email or "") == login.email
    if vouched and login.email_verified_at is None:
        login.email_verified_at = utcnow()
    return await _signed_in(db_session, login, previous_token, user_agent)


async def email_taken(db_session: AsyncSession, email: str) -> bool:
    return await DriverRepository(db_session).login_by_email(normalise_email(email)) is not None


async def sign_up_oidc(
    db_session: AsyncSession,
    claims: OidcClaims,
    *,
    name: str,
    country: str,
    locale: str,
    locales: Sequence[str],
    accepted_terms: bool,
    user_agent: str | None,
) -> SignInResult:
    """Create the account of a driver who signed in with a provider for the first time,
    once they chose their country and language and accepted the terms; they are signed in.
    Their address counts as confirmed when the provider says it is."""
    errors: Errors = {}
    cleaned = check_name(name, errors)
    code = check_country(country, errors)
    check_locale(locale, locales, errors)
    if not accepted_terms:
        errors["terms"] = N_("Accept the terms of use to create an account.")
    email = normalise_email(claims.email or "")
    if not email:
        errors["_form"] = N_("The provider did not tell us your e-mail address.")
    elif await email_taken(db_session, email):
        errors["_form"] = N_(
            "An account with this address exists. Sign in with your password first."
        )
    if errors:
        raise DriverFormError(errors)
    account = await create_driver_account(
        db_session, name=cleaned, email=email, country=code, locale=locale
    )
    now = utcnow()
    login = DriverLogin(
        account_id=account.id,
        email=email,
        oidc_provider=claims.provider,
        oidc_subject=claims.subject,
        email_verified_at=now if claims.email_verified else None,
        terms_accepted_at=now,
    )
    DriverRepository(db_session).add(login)
    await db_session.flush()
    return await _signed_in(db_session, login, None, user_agent)
