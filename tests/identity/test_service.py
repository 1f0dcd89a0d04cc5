"""Staff identity: passwords hashed with argon2id, throttled sign-in, rotating sessions."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import add_fleet_account, add_user
from voltlane.core.db import Database
from voltlane.identity import service as identity
from voltlane.identity.errors import DuplicateUserError, InvalidUserError
from voltlane.identity.roles import Permission, has_permission
from voltlane.identity.schemas import LoginFailure
from voltlane.models.tenant import (
    AccountKind,
    AuditEntry,
    LoginAttempt,
    OperatorUser,
    Role,
    StaffSession,
)

PASSWORD = "correct horse battery"


async def sign_in(
    db_session, email: str, password: str, *, previous: str | None = None, ip: str = "203.0.113.7"
):
    return await identity.sign_in(
        db_session,
        email=email,
        password=password,
        ip=ip,
        user_agent="pytest",
        previous_token=previous,
        session_ttl=timedelta(hours=1),
        max_failures=3,
        window=timedelta(minutes=15),
    )


async def test_passwords_are_stored_as_argon2id_only(database: Database, make_brand) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        user = await add_user(db_session, "Ops@Example.COM ", PASSWORD)
    assert user.email == "ops@example.com"
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("email", "password", "field", "message"),
    [
        ("not-an-email", PASSWORD, "email", "valid e-mail"),
        ("a@example.com", "short", "password", "at least 12 characters"),
        ("a@example.com", "x" * 257, "password", "at most 256 characters"),
    ],
)
async def test_invalid_users_name_the_field(
    database: Database, make_brand, email: str, password: str, field: str, message: str
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(InvalidUserError, match=message) as caught:
            await add_user(db_session, email, password)
        assert caught.value.field == field
        assert await db_session.scalar(select(func.count()).select_from(OperatorUser)) == 0


async def test_an_email_has_one_account_per_brand(database: Database, make_brand) -> None:
    brand = await make_brand()
    other = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com")
        with pytest.raises(DuplicateUserError):
            await add_user(db_session, "OPS@example.com")
    # The same e-mail in another brand is another person's account.
    async with database.tenant_transaction(other.key) as db_session:
        assert (await add_user(db_session, "ops@example.com")).email == "ops@example.com"


async def test_sign_in_opens_a_session_and_rotates_the_previous_one(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, role=Role.FINANCE)
    async with database.tenant_transaction(brand.key) as db_session:
        first = await sign_in(db_session, "ops@example.com", PASSWORD)
    async with database.tenant_transaction(brand.key) as db_session:
        second = await sign_in(db_session, "ops@example.com", PASSWORD, previous=first.token)
    assert first.token
    assert second.token
    assert first.token != second.token
    assert second.identity is not None
    assert (second.identity.email, second.identity.role) == ("ops@example.com", Role.FINANCE)
    async with database.tenant_transaction(brand.key) as db_session:
        assert await identity.resolve_session(db_session, first.token) is None
        resolved = await identity.resolve_session(db_session, second.token)
        sessions = await db_session.scalar(select(func.count()).select_from(StaffSession))
        stored = await db_session.scalar(select(StaffSession.token_hash))
    assert resolved is not None
    assert resolved.email == "ops@example.com"
    assert sessions == 1
    assert stored == identity.token_hash(second.token) != second.token


async def test_failures_are_recorded_and_then_throttled(database: Database, make_brand) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
    outcomes = []
    started = time.monotonic()
    for password in ("wrong-1", "wrong-2", "wrong-3", PASSWORD):
        async with database.tenant_transaction(brand.key) as db_session:
            outcomes.append(await sign_in(db_session, "ops@example.com", password))
    elapsed = math.ceil(time.monotonic() - started)
    assert [o.failure for o in outcomes] == [
        LoginFailure.INVALID_CREDENTIALS,
        LoginFailure.INVALID_CREDENTIALS,
        LoginFailure.INVALID_CREDENTIALS,
        LoginFailure.RATE_LIMITED,  # even the right password waits out the window
    ]
    assert outcomes[3].retry_after is not None
    # The 15-minute window counts from the first failure, whole seconds rounded up.
    assert 900 - elapsed <= outcomes[3].retry_after <= 901
    async with database.tenant_session(brand.key) as db_session:
        attempts = list(await db_session.scalars(select(LoginAttempt.succeeded)))
        actions = list(await db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert attempts == [False, False, False]
    assert actions == ["login.failed", "login.failed", "login.failed", "login.throttled"]


async def test_unknown_and_inactive_accounts_fail_alike(database: Database, make_brand) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        user = await add_user(db_session, "gone@example.com", PASSWORD)
        user.is_active = False
    async with database.tenant_transaction(brand.key) as db_session:
        unknown = await sign_in(db_session, "nobody@example.com", PASSWORD)
        inactive = await sign_in(db_session, "gone@example.com", PASSWORD)
    assert unknown.failure is inactive.failure is LoginFailure.INVALID_CREDENTIALS
    assert unknown.token is inactive.token is None


def test_fleet_managers_only_reach_their_fleet() -> None:
    assert has_permission(Role.FLEET_MANAGER, Permission.PORTAL)
    assert has_permission(Role.FLEET_MANAGER, Permission.FLEET_OWN)
    assert not has_permission(Role.FLEET_MANAGER, Permission.STATIONS_READ)
    assert has_permission(Role.READ_ONLY, Permission.STATIONS_READ)
    assert not has_permission(Role.READ_ONLY, Permission.STATIONS_WRITE)
    assert not has_permission(Role.OWNER, Permission.FLEET_OWN)
    assert has_permission(Role.OWNER, Permission.OWNERSHIP)
    assert not has_permission(Role.ADMIN, Permission.OWNERSHIP)
    assert has_permission(Role.ADMIN, Permission.USERS_WRITE)


async def test_a_fleet_manager_belongs_to_one_fleet_account_and_staff_to_none(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = await add_fleet_account(db_session)
        driver = await add_fleet_account(db_session, kind=AccountKind.DRIVER, name="Ada")
    attempts = [
        (Role.FLEET_MANAGER, None),
        (Role.OPERATIONS, fleet.id),
        (Role.FLEET_MANAGER, driver.id),
    ]
    messages = []
    for role, account_id in attempts:
        with pytest.raises(InvalidUserError) as caught:
            async with database.tenant_transaction(brand.key) as db_session:
                await add_user(db_session, "fm@example.com", role=role, fleet_account_id=account_id)
        messages.append((caught.value.field, caught.value.detail))
    async with database.tenant_transaction(brand.key) as db_session:
        manager = await add_user(
            db_session, "fm@example.com", role=Role.FLEET_MANAGER, fleet_account_id=fleet.id
        )
    async with database.tenant_transaction(brand.key) as db_session:
        result = await sign_in(db_session, "fm@example.com", PASSWORD)
    assert result.identity is not None
    assert messages == [
        ("fleet_account_id", "A fleet manager needs a fleet account; other roles take none."),
        ("fleet_account_id", "A fleet manager needs a fleet account; other roles take none."),
        ("fleet_account_id", "Choose one of the brand's fleet accounts."),
    ]
    assert manager.fleet_account_id == fleet.id
    assert result.identity.fleet_account_id == fleet.id
