"""One-time links sent by e-mail: confirm the address, set a new password.

The table keeps only each token's SHA-256. The e-mail carrying a link is written to the
brand's outbox (``identity.notifications``) like every other e-mail; once its link has been
used, replaced or the driver has gone, the e-mail's stored copy loses the link, so the
outbox never holds a link that still works for longer than it is outstanding.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.identity.drivers.errors import LinkInvalidError
from voltlane.identity.drivers.repository import DriverRepository
from voltlane.identity.notifications import queue_email
from voltlane.identity.service import token_hash
from voltlane.models.tenant import DriverEmailLink, DriverLogin, EmailLinkPurpose

LINK_TTL = {EmailLinkPurpose.VERIFY: timedelta(days=2), EmailLinkPurpose.RESET: timedelta(hours=1)}
# What the outbox keeps of an e-mail whose link no longer works.
LINK_REMOVED = "(This e-mail held a one-time link, removed once it was used or replaced.)"


def email_kind(purpose: EmailLinkPurpose) -> str:
    return f"driver.{purpose.value}"


async def issue_link(
    db_session: AsyncSession, login: DriverLogin, purpose: EmailLinkPurpose
) -> str:
    """A new link token for ``login``; earlier unused links of the same purpose stop
    working (only the latest e-mail's link does)."""
    repo = DriverRepository(db_session)
    await _retire(repo, await repo.open_links(login.id, purpose, utcnow()))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    repo.add(
        DriverEmailLink(
            token_hash=token_hash(token),
            login_id=login.id,
            purpose=purpose,
            created_at=now,
            expires_at=now + LINK_TTL[purpose],
        )
    )
    await db_session.flush()
    return token


async def send_link(
    db_session: AsyncSession,
    tenant: str,
    login: DriverLogin,
    token: str,
    purpose: EmailLinkPurpose,
    *,
    subject: str,
    body: str,
) -> None:
    """Write the e-mail carrying the link to the outbox; it is sent after commit."""
    await queue_email(
        db_session,
        tenant,
        kind=email_kind(purpose),
        reference=token_hash(token),
        recipient=login.email,
        subject=subject,
        body=body,
    )


async def consume_link(
    db_session: AsyncSession, token: str, purpose: EmailLinkPurpose
) -> DriverLogin:
    """The login a link belongs to, the link used up; LinkInvalidError when it is unknown,
    used, expired or for another purpose."""
    repo = DriverRepository(db_session)
    now = utcnow()
    link = await repo.link_for_update(token_hash(token))
    if link is None or link.purpose is not purpose or link.used_at is not None:
        raise LinkInvalidError("This link is not valid any more.", field="token")
    if link.expires_at <= now:
        raise LinkInvalidError("This link has expired.", field="token")
    login = await repo.login(link.login_id)
    if login is None:
        raise LinkInvalidError("This link is not valid any more.", field="token")
    await _retire(repo, [link])
    return login


async def check_link(db_session: AsyncSession, token: str, purpose: EmailLinkPurpose) -> None:
    """LinkInvalidError unless the link can still be used (it is not used up here)."""
    link = await DriverRepository(db_session).link(token_hash(token))
    if (
        link is None
        or link.purpose is not purpose
        or link.used_at is not None
        or link.expires_at <= utcnow()
    ):
        raise LinkInvalidError("This link is not valid any more.", field="token")


async def recently_sent(
    db_session: AsyncSession, login: DriverLogin, purpose: EmailLinkPurpose, within: timedelta
) -> bool:
    """A link of ``purpose`` went out less than ``within`` ago (to not flood a mailbox)."""
    latest = await DriverRepository(db_session).latest_link_at(login.id, purpose)
    return latest is not None and utcnow() - latest < within


async def _retire(repo: DriverRepository, links: list[DriverEmailLink]) -> None:
    now = utcnow()
    for link in links:
        link.used_at = link.used_at or now
    await repo.redact_emails(
        [(email_kind(link.purpose), link.token_hash) for link in links], LINK_REMOVED
    )
