"""Use cases of staff identity: users, sign-in with throttling, sessions, audit."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.identity import throttle
from voltlane.identity.errors import DuplicateUserError, InvalidUserError
from voltlane.identity.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)
from voltlane.identity.repository import IdentityRepository
from voltlane.identity.schemas import LoginFailure, LoginResult, StaffIdentity
from voltlane.models.platform import PlatformAdmin
from voltlane.models.tenant import AuditEntry, OperatorUser, Role, StaffSession

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# last_seen_at is refreshed at most this often, to keep reads cheap.
SEEN_RESOLUTION = timedelta(minutes=1)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def token_hash(token: str) -> str:
    """Sessions are stored by the SHA-256 of their cookie token, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_policy(password: str, minimum: int = MIN_PASSWORD_LENGTH) -> None:
    if len(password) < minimum:
        raise InvalidUserError(f"Password must be at least {minimum} characters.", field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidUserError(
            f"Password must be at most {MAX_PASSWORD_LENGTH} characters.", field="password"
        )


def _check_email(email: str) -> str:
    normalised = normalise_email(email)
    if not EMAIL_RE.fullmatch(normalised) or len(normalised) > 254:
        raise InvalidUserError("Enter a valid e-mail address.", field="email")
    return normalised


async def check_fleet_account(
    repo: IdentityRepository, role: Role, fleet_account_id: uuid.UUID | None
) -> None:
    """A fleet manager belongs to exactly one of the brand's fleet accounts; nobody else
    belongs to any."""
    if (role is Role.FLEET_MANAGER) != (fleet_account_id is not None):
        raise InvalidUserError(
            "A fleet manager needs a fleet account; other roles take none.",
            field="fleet_account_id",
        )
    if fleet_account_id is not None and not await repo.is_fleet_account(fleet_account_id):
        raise InvalidUserError(
            "Choose one of the brand's fleet accounts.", field="fleet_account_id"
        )


async def create_operator_user(
    db_session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    fleet_account_id: uuid.UUID | None = None,
) -> OperatorUser:
    """Add a staff member to the brand; the password is stored as an argon2id hash.

    A fleet manager belongs to exactly one fleet account of the brand, and nobody else does.
    """
    normalised = _check_email(email)
    if not name.strip():
        raise InvalidUserError("Enter a name.", field="name")
    check_password_policy(password)
    repo = IdentityRepository(db_session)
    await check_fleet_account(repo, role, fleet_account_id)
    if await repo.user_by_email(normalised) is not None:
        raise DuplicateUserError(f"{normalised} already has an account.", field="email")
    user = OperatorUser(
        email=normalised,
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
        fleet_account_id=fleet_account_id,
    )
    db_session.add(user)
    await db_session.flush()
    return user


async def ensure_operator_user(
    db_session: AsyncSession,
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    fleet_account_id: uuid.UUID | None = None,
) -> tuple[OperatorUser, bool]:
    """Create the user unless the e-mail exists (then it is left as it is)."""
    existing = await IdentityRepository(db_session).user_by_email(normalise_email(email))
    if existing is not None:
        return existing, False
    return await create_operator_user(
        db_session,
        email=email,
        name=name,
        password=password,
        role=role,
        fleet_account_id=fleet_account_id,
    ), True


async def sign_in(
    db_session: AsyncSession,
    *,
    email: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
    previous_token: str | None,
    session_ttl: timedelta,
    max_failures: int,
    window: timedelta,
) -> LoginResult:
    """Check credentials under throttling and open a new session.

    The attempt is recorded whatever the outcome, so the caller must commit even when the
    result is a failure. Any session the browser had before is ended: the session id
    changes at sign-in.
    """
    now = utcnow()
    normalised = normalise_email(email)[:254]
    repo = IdentityRepository(db_session)
    wait = await throttle.retry_after(
        db_session, key=normalised, ip=ip, max_failures=max_failures, window=window
    )
    if wait is not None:
        await audit(db_session, action="login.throttled", actor_email=normalised, ip=ip)
        return LoginResult(None, None, LoginFailure.RATE_LIMITED, wait)

    user = await repo.user_by_email(normalised)
    valid = verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        throttle.record_attempt(db_session, key=normalised, ip=ip, succeeded=False)
        await audit(db_session, action="login.failed", actor_email=normalised, ip=ip)
        return LoginResult(None, None, LoginFailure.INVALID_CREDENTIALS)

    throttle.record_attempt(db_session, key=normalised, ip=ip, succeeded=True)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    if previous_token:
        await repo.delete_session(token_hash(previous_token))
    token = secrets.token_urlsafe(32)
    expires_at = now + session_ttl
    db_session.add(
        StaffSession(
            token_hash=token_hash(token),
            user_id=user.id,
            expires_at=expires_at,
            ip=ip,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    await audit(db_session, action="login.succeeded", actor=user, ip=ip)
    await db_session.flush()
    return LoginResult(StaffIdentity.from_row(user, expires_at), token, None)


async def resolve_session(db_session: AsyncSession, token: str) -> StaffIdentity | None:
    """The staff member behind a session cookie, or None when unknown or expired."""
    now = utcnow()
    found = await IdentityRepository(db_session).session_with_user(token_hash(token), now)
    if found is None:
        return None
    staff_session, user = found
    if now - staff_session.last_seen_at > SEEN_RESOLUTION:
        staff_session.last_seen_at = now
    return StaffIdentity.from_row(user, staff_session.expires_at)


async def sign_out(db_session: AsyncSession, token: str, *, ip: str | None) -> None:
    """End the session behind ``token`` (no-op when it is unknown)."""
    repo = IdentityRepository(db_session)
    found = await repo.session_with_user(token_hash(token), utcnow())
    await repo.delete_session(token_hash(token))
    if found is not None:
        await audit(db_session, action="logout", actor=found[1], ip=ip)


async def audit(
    db_session: AsyncSession,
    *,
    action: str,
    actor: OperatorUser | None = None,
    actor_email: str | None = None,
    entity: str | None = None,
    entity_id: str | uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Append to the brand's audit log within the caller's transaction."""
    IdentityRepository(db_session).add_audit(
        AuditEntry(
            actor_user_id=actor.id if actor else None,
            actor_email=actor.email if actor else actor_email,
            action=action,
            entity=entity,
            entity_id=str(entity_id) if entity_id is not None else None,
            detail=detail or {},
            ip=ip,
        )
    )


async def audit_staff(
    db_session: AsyncSession,
    staff: StaffIdentity,
    *,
    action: str,
    entity: str | None = None,
    entity_id: str | uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Append what a signed-in staff member (or fleet manager) did to the brand's audit log,
    within the caller's transaction."""
    IdentityRepository(db_session).add_audit(
        AuditEntry(
            actor_user_id=staff.user_id,
            actor_email=staff.email,
            action=action,
            entity=entity,
            entity_id=str(entity_id) if entity_id is not None else None,
            detail=detail or {},
            ip=ip,
        )
    )


async def create_platform_admin(
    db_session: AsyncSession, *, email: str, name: str, password: str
) -> PlatformAdmin:
    """Add a platform administrator (platform schema, above every brand)."""
    normalised = _check_email(email)
    check_password_policy(password)
    if await IdentityRepository(db_session).admin_by_email(normalised) is not None:
        raise DuplicateUserError(f"{normalised} is already a platform admin.", field="email")
    admin = PlatformAdmin(
        email=normalised, name=name.strip(), password_hash=hash_password(password)
    )
    db_session.add(admin)
    await db_session.flush()
    return admin
