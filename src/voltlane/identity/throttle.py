"""Throttling of guessed secrets (staff and driver passwords, card claim codes).

Every attempt is a row (``login_attempts``) under a key: the e-mail address of a staff
sign-in, ``driver:<e-mail>`` for a driver's, ``card:<number>`` for a card claim. Recent
failures under a key, or from one client address, hold further attempts back until the
oldest of them leaves the window.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.identity.repository import IdentityRepository

# Failures from one address may cover several accounts (an office behind one NAT).
IP_FAILURE_FACTOR = 4


async def retry_after(
    db_session: AsyncSession,
    *,
    key: str,
    ip: str | None,
    max_failures: int,
    window: timedelta,
) -> int | None:
    """Seconds until ``key`` (or ``ip``) may try again; None when it may try now."""
    now = utcnow()
    since = now - window
    repo = IdentityRepository(db_session)
    by_key = await repo.recent_failures(email=key, ip=None, since=since)
    by_ip = await repo.recent_failures(email=None, ip=ip, since=since) if ip is not None else 0
    if by_key < max_failures and by_ip < max_failures * IP_FAILURE_FACTOR:
        return None
    oldest = await repo.oldest_failure(email=key, since=since)
    return max(int(((oldest or now) + window - now).total_seconds()) + 1, 1)


def record_attempt(db_session: AsyncSession, *, key: str, ip: str | None, succeeded: bool) -> None:
    """Count an attempt under ``key`` in the caller's transaction (commit it even when the
    attempt failed: that is what throttles the next one)."""
    IdentityRepository(db_session).add_attempt(email=key[:254], ip=ip, succeeded=succeeded)
