"""A driver's account: sign-up, confirming the e-mail address, a new password by e-mail
link, and the details printed on their receipts.

Sign-up creates the driver's customer account (receipts per session, in their language)
and their login in the caller's transaction; nothing is written when a field is refused.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from babel import Locale
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.errors import ValidationError
from voltlane.core.text import N_
from voltlane.identity.drivers.errors import DriverFormError, DriverNotFoundError
from voltlane.identity.drivers.links import consume_link, issue_link
from voltlane.identity.drivers.repository import DriverRepository
from voltlane.identity.passwords import hash_password
from voltlane.identity.service import (
    EMAIL_RE,
    check_password_policy,
    normalise_email,
    token_hash,
)
from voltlane.models.tenant import (
    AccountKind,
    CustomerAccount,
    DriverLogin,
    EmailLinkPurpose,
    Invoicing,
)

MIN_DRIVER_PASSWORD = 10
MAX_NAME = 120
MAX_STREET = 200
MAX_POSTAL_CODE = 20
MAX_CITY = 100
VAT_ID_RE = re.compile(r"^[A-Z]{2}[A-Z0-9+*.]{2,13}$")
Errors = dict[str, str]
# Babel's territories include groupings and placeholders that are no country.
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})


@dataclass(frozen=True, slots=True)
class SignUp:
    name: str
    email: str
    password: str
    country: str
    locale: str
    accepted_terms: bool


@dataclass(frozen=True, slots=True)
class Profile:
    """What a driver's receipts print about them; empty strings clear a field."""

    name: str
    street: str
    postal_code: str
    city: str
    country: str
    vat_id: str


@cache
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 codes with their English names (the page names them in the
    reader's language)."""
    names = Locale("en").territories
    return {
        code: names[code]
        for code in sorted(names)
        if re.fullmatch(r"[A-Z]{2}", code) and code not in NOT_COUNTRIES
    }


def check_email(email: str, errors: Errors) -> str:
    normalised = normalise_email(email)
    if not normalised:
        errors["email"] = N_("Enter your e-mail address.")
    elif not EMAIL_RE.fullmatch(normalised) or len(normalised) > 254:
        errors["email"] = N_("Enter a valid e-mail address.")
    return normalised


def check_password(password: str, email: str, errors: Errors) -> None:
    """The driver's password policy: the staff policy's bounds from 10 characters, and not
    the e-mail address or one repeated character."""
    try:
        check_password_policy(password, MIN_DRIVER_PASSWORD)
    except ValidationError:
        errors["password"] = N_("Choose a password of 10 to 256 characters.")
        return
    if password.strip().lower() == email or len(set(password)) == 1:
        errors["password"] = N_("This password is too easy to guess. Choose another one.")


def check_name(name: str, errors: Errors) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        errors["name"] = N_("Enter your name.")
    elif len(cleaned) > MAX_NAME:
        errors["name"] = N_("At most 120 characters.")
    return cleaned


def check_country(country: str, errors: Errors) -> str:
    code = country.strip().upper()
    if code not in countries():
        errors["country"] = N_("Choose your country.")
    return code


def check_locale(locale: str, locales: Sequence[str], errors: Errors) -> None:
    if locale not in locales:
        errors["locale"] = N_("Choose one of the languages offered.")


async def sign_up(
    db_session: AsyncSession, data: SignUp, *, locales: Sequence[str]
) -> tuple[DriverLogin, str]:
    """Create a driver's account and login (not yet verified) and the token of the link
    that confirms their address. DriverFormError lists every refused field; an address
    that has an account already is refused without saying more about that account."""
    errors: Errors = {}
    name = check_name(data.name, errors)
    email = check_email(data.email, errors)
    check_password(data.password, email, errors)
    country = check_country(data.country, errors)
    check_locale(data.locale, locales, errors)
    if not data.accepted_terms:
        errors["terms"] = N_("Accept the terms of use to create an account.")
    repo = DriverRepository(db_session)
    if "email" not in errors and await repo.login_by_email(email) is not None:
        errors["email"] = N_(
            "This address cannot be used for a new account. If it is yours, sign in or "
            "reset your password."
        )
    if errors:
        raise DriverFormError(errors)
    account = await create_driver_account(
        db_session, name=name, email=email, country=country, locale=data.locale
    )
    now = utcnow()
    login = DriverLogin(
        account_id=account.id,
        email=email,
        password_hash=hash_password(data.password),
        password_changed_at=now,
        terms_accepted_at=now,
    )
    repo.add(login)
    await db_session.flush()
    return login, await issue_link(db_session, login, EmailLinkPurpose.VERIFY)


async def create_driver_account(
    db_session: AsyncSession, *, name: str, email: str, country: str, locale: str
) -> CustomerAccount:
    """The customer account a new driver's sessions are billed to: a receipt per session,
    in their language."""
    account = CustomerAccount(
        kind=AccountKind.DRIVER,
        name=name,
        email=email,
        locale=locale,
        country=country,
        invoicing=Invoicing.PER_SESSION,
    )
    DriverRepository(db_session).add(account)
    await db_session.flush()
    return account


async def ensure_demo_login(
    db_session: AsyncSession, *, account_id: uuid.UUID, email: str, password: str
) -> DriverLogin:
    """The demo driver's login (address confirmed, terms accepted), created unless the
    address or the account has one already (seeding runs on every start)."""
    repo = DriverRepository(db_session)
    normalised = normalise_email(email)
    existing = await repo.login_by_email(normalised)
    if existing is not None:
        return existing
    now = utcnow()
    login = DriverLogin(
        account_id=account_id,
        email=normalised,
        password_hash=hash_password(password),
        password_changed_at=now,
        email_verified_at=now,
        terms_accepted_at=now,
    )
    repo.add(login)
    await db_session.flush()
    return login


async def verify_email(db_session: AsyncSession, token: str) -> DriverLogin:
    """Confirm the address the link was sent to (LinkInvalidError for a bad link)."""
    login = await consume_link(db_session, token, EmailLinkPurpose.VERIFY)
    login.email_verified_at = login.email_verified_at or utcnow()
    await db_session.flush()
    return login


async def login_for_reset(db_session: AsyncSession, email: str) -> DriverLogin | None:
    """The login a password reset is for; None for an unknown address (the page says the
    same either way)."""
    return await DriverRepository(db_session).login_by_email(normalise_email(email)[:254])


async def reset_password(db_session: AsyncSession, token: str, password: str) -> DriverLogin:
    """Set a new password by reset link: the link is used up, every session of the driver
    ends, and the address counts as confirmed (the link reached it)."""
    repo = DriverRepository(db_session)
    errors: Errors = {}
    link = await repo.link(token_hash(token))
    email = ""
    if link is not None:
        owner = await repo.login(link.login_id)
        email = owner.email if owner is not None else ""
    check_password(password, email, errors)
    if errors:
        raise DriverFormError(errors)
    login = await consume_link(db_session, token, EmailLinkPurpose.RESET)
    now = utcnow()
    login.password_hash = hash_password(password)
    login.password_changed_at = now
    login.email_verified_at = login.email_verified_at or now
    await repo.delete_sessions_of(login.id)
    await db_session.flush()
    return login


async def update_profile(
    db_session: AsyncSession, account_id: uuid.UUID, profile: Profile
) -> CustomerAccount:
    """Change the name, billing address and VAT id printed on the driver's next receipts
    (receipts issued before keep what they printed)."""
    errors: Errors = {}
    name = check_name(profile.name, errors)
    country = check_country(profile.country, errors)
    street = " ".join(profile.street.split())
    postal_code = profile.postal_code.strip()
    city = " ".join(profile.city.split())
    vat_id = re.sub(r"[\s-]", "", profile.vat_id).upper()
    for field, value, limit, message in (
        ("street", street, MAX_STREET, N_("At most 200 characters.")),
        ("postal_code", postal_code, MAX_POSTAL_CODE, N_("At most 20 characters.")),
        ("city", city, MAX_CITY, N_("At most 100 characters.")),
    ):
        if len(value) > limit:
            errors[field] = message
    if vat_id and not VAT_ID_RE.fullmatch(vat_id):
        errors["vat_id"] = N_("Enter a VAT id with its country prefix, e.g. DE123456789.")
    if errors:
        raise DriverFormError(errors)
    account = await account_of(db_session, account_id)
    account.name = name
    account.street = street or None
    account.postal_code = postal_code or None
    account.city = city or None
    account.country = country
    account.vat_id = vat_id or None
    await db_session.flush()
    return account


async def set_locale(
    db_session: AsyncSession, account_id: uuid.UUID, locale: str, *, locales: Sequence[str]
) -> CustomerAccount:
    """The driver's language among the brand's: pages, e-mails and receipts follow it."""
    errors: Errors = {}
    check_locale(locale, locales, errors)
    if errors:
        raise DriverFormError(errors)
    account = await account_of(db_session, account_id)
    account.locale = locale
    await db_session.flush()
    return account


async def account_of(db_session: AsyncSession, account_id: uuid.UUID) -> CustomerAccount:
    """The driver's customer account (DriverNotFoundError when it is gone)."""
    account = await DriverRepository(db_session).account(account_id)
    if account is None:
        raise DriverNotFoundError(f"no driver account {account_id}")
    return account


async def login_of(db_session: AsyncSession, login_id: uuid.UUID) -> DriverLogin:
    """The driver's login (DriverNotFoundError when it is gone)."""
    login = await DriverRepository(db_session).login(login_id)
    if login is None:
        raise DriverNotFoundError(f"no driver login {login_id}")
    return login
