"""E-mails to drivers and fleet managers: written in the business transaction, sent by a job.

A notification is a row first (``notifications``), committed with whatever it is about, and
then handed to the SMTP server by ``identity.send_notification``: a failed payment is never
left unmentioned because the mail server was down, and a retried job never mails twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.core.errors import ConflictError, NotFoundError
from voltlane.core.mail import Mail, MailError, SmtpServer, send_mail
from voltlane.models.tenant import Notification
from voltlane.worker import enqueue

log = logging.getLogger(__name__)

SEND_NOTIFICATION_TASK = "identity.send_notification"
PLATFORM_SMTP_UNSET = "no SMTP server configured (VOLTLANE_SMTP_URL)"


@dataclass(frozen=True, slots=True)
class Mailer:
    """How one brand's e-mails leave: its SMTP server (or why there is none) and sender."""

    server: SmtpServer | None
    sender_name: str
    sender: str
    unsent_reason: str  # recorded on each e-mail while ``server`` is None


def brand_mailer(
    name: str,
    slug: str,
    profile: Mapping[str, Any],
    *,
    platform_smtp_url: str | None,
    base_domain: str,
    environ: Mapping[str, str],
) -> Mailer:
    """The brand's own SMTP server when its ``[mail]`` names the environment variable that
    holds it, else the platform's; from its ``[mail]`` sender, else its billing e-mail.

    A brand that names a variable which is not set gets no server (its e-mails wait with the
    reason) rather than the platform's, which may not be allowed to send for its domain.
    """
    mail = profile.get("mail") or {}
    legal = profile.get("legal") or {}
    sender = mail.get("sender") or legal.get("email") or f"noreply@{slug}.{base_domain}"
    variable = mail.get("smtp_env")
    url, reason = (
        (environ.get(variable) or None, f"{variable} is not set")
        if variable
        else (platform_smtp_url, PLATFORM_SMTP_UNSET)
    )
    return Mailer(
        server=SmtpServer.parse(url) if url else None,
        sender_name=name,
        sender=sender,
        unsent_reason=reason,
    )


async def queue_email(
    db_session: AsyncSession,
    tenant: str,
    *,
    kind: str,
    reference: str,
    recipient: str,
    subject: str,
    body: str,
) -> uuid.UUID | None:
    """Write an e-mail to be sent after commit; None when (kind, reference) was written
    before (it is not sent again)."""
    notification_id = await db_session.scalar(
        insert(Notification)
        .values(
            id=uuid.uuid4(),
            kind=kind,
            reference=reference,
            recipient=recipient,
            subject=subject,
            body=body,
            attempts=0,
        )
        .on_conflict_do_nothing(index_elements=["kind", "reference"])
        .returning(Notification.id)
    )
    if notification_id is not None:
        enqueue(
            db_session, SEND_NOTIFICATION_TASK, tenant=tenant, notification_id=str(notification_id)
        )
    return notification_id


async def send_notification(
    database: Database,
    tenant: str,
    notification_id: uuid.UUID,
    *,
    server: SmtpServer | None,
    sender_name: str,
    sender: str,
    unsent_reason: str = PLATFORM_SMTP_UNSET,
) -> bool:
    """Send a written e-mail once; True when it has been sent (now or before).

    Without an SMTP server the e-mail stays unsent with the reason in ``last_error``. When
    the server refuses or cannot be reached, MailError is raised after the attempt is
    recorded, so that the job is retried with backoff.
    """
    async with database.tenant_session(tenant) as db_session:
        notification = await db_session.scalar(
            select(Notification).where(Notification.id == notification_id)
        )
    if notification is None or notification.sent_at is not None:
        return notification is not None
    failure: MailError | None = None
    if server is None:
        failure = MailError(unsent_reason)
    else:
        try:
            await send_mail(
                server,
                Mail(
                    sender_name,
                    sender,
                    notification.recipient,
                    notification.subject,
                    notification.body,
                ),
            )
        except MailError as exc:
            failure = exc
    async with database.tenant_transaction(tenant) as db_session:
        row = await db_session.get(Notification, notification_id, with_for_update=True)
        assert row is not None
        row.attempts += 1
        if failure is None:
            row.sent_at = utcnow()
            row.last_error = None
        else:
            row.last_error = str(failure)[:500]
    if failure is not None:
        log.warning(
            "notification not sent",
            extra={"tenant": tenant, "kind": notification.kind, "error": str(failure)},
        )
        if server is not None:
            raise failure
    return failure is None


class NotificationNotFoundError(NotFoundError):
    title = "Notification not found"


class AlreadySentError(ConflictError):
    title = "Notification already sent"


async def list_notifications(
    db_session: AsyncSession,
    *,
    recipient: str | None,
    unsent: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[Notification], int]:
    """E-mails written to customers, newest first: what support sees when a driver says
    they got nothing."""
    stmt = select(Notification)
    if recipient is not None:
        stmt = stmt.where(func.lower(Notification.recipient) == recipient.lower())
    if unsent is not None:
        stmt = stmt.where(
            Notification.sent_at.is_(None) if unsent else Notification.sent_at.is_not(None)
        )
    total = await db_session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = await db_session.scalars(
        stmt.order_by(Notification.created_at.desc(), Notification.id).limit(limit).offset(offset)
    )
    return list(rows), int(total or 0)


async def resend(db_session: AsyncSession, tenant: str, notification_id: uuid.UUID) -> Notification:
    """Send an unsent e-mail again (after its job gave up, or once an SMTP server is
    configured); one that was sent is not sent twice."""
    notification = await db_session.get(Notification, notification_id, with_for_update=True)
    if notification is None:
        raise NotificationNotFoundError(f"no notification {notification_id}")
    if notification.sent_at is not None:
        raise AlreadySentError(f"sent at {notification.sent_at.isoformat()}")
    enqueue(db_session, SEND_NOTIFICATION_TASK, tenant=tenant, notification_id=str(notification_id))
    return notification
