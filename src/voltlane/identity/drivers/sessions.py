"""Server-side sessions of drivers: a random cookie token, stored as its SHA-256, whose
expiry slides forward while the driver keeps using the app."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.identity.drivers.repository import DriverRepository
from voltlane.identity.drivers.schemas import DriverIdentity
from voltlane.identity.service import token_hash
from voltlane.models.tenant import DriverLogin, DriverSession

SESSION_TTL = timedelta(days=30)
# The expiry (and last_seen_at) is moved at most this often, to keep reads cheap.
SLIDE_RESOLUTION = timedelta(minutes=1)


async def open_session(
    db_session: AsyncSession,
    login: DriverLogin,
    *,
    previous_token: str | None,
    user_agent: str | None,
) -> str:
    """Start a session for ``login`` and return its cookie token. The browser's previous
    session, if any, is ended: the session id changes at every sign-in."""
    repo = DriverRepository(db_session)
    if previous_token:
        await repo.delete_session(token_hash(previous_token))
    now = utcnow()
    token = secrets.token_urlsafe(32)
    db_session.add(
        DriverSession(
            token_hash=token_hash(token),
            login_id=login.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_TTL,
            user_agent=(user_agent or "")[:255] or None,
        )
    )
    login.last_login_at = now
    await db_session.flush()
    return token


async def resolve_session(db_session: AsyncSession, token: str) -> DriverIdentity | None:
    """The driver behind a session cookie, or None when unknown or expired. Each use moves
    the expiry to 30 days from now."""
    now = utcnow()
    found = await DriverRepository(db_session).session_with_login(token_hash(token), now)
    if found is None:
        return None
    driver_session, login, account = found
    if now - driver_session.last_seen_at > SLIDE_RESOLUTION:
        driver_session.last_seen_at = now
        driver_session.expires_at = now + SESSION_TTL
    return DriverIdentity.from_rows(login, account)


async def close_session(db_session: AsyncSession, token: str) -> None:
    """End the session behind ``token`` (no-op when it is unknown)."""
    await DriverRepository(db_session).delete_session(token_hash(token))
