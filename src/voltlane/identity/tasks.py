"""Jobs of the identity domain: sending the e-mails other domains write."""

from __future__ import annotations

import uuid

from voltlane.core.mail import SmtpServer
from voltlane.identity.notifications import SEND_NOTIFICATION_TASK, send_notification
from voltlane.tenancy import TenantNotFoundError, TenantRegistry
from voltlane.worker import JobContext, task


@task(SEND_NOTIFICATION_TASK, max_retries=12, max_backoff_ms=60 * 60 * 1000)
async def send_notification_of(jobs: JobContext, *, tenant: str, notification_id: str) -> None:
    """One e-mail, from the brand's name and billing address."""
    brand = await TenantRegistry(jobs.database, jobs.settings.base_domain, ttl=0).by_key(tenant)
    if brand is None:
        raise TenantNotFoundError(f"no active brand {tenant}")
    legal = brand.profile.get("legal") or {}
    sender = legal.get("email") or f"noreply@{brand.slug}.{jobs.settings.base_domain}"
    smtp_url = jobs.settings.smtp_url
    await send_notification(
        jobs.database,
        tenant,
        uuid.UUID(notification_id),
        server=SmtpServer.parse(smtp_url) if smtp_url else None,
        sender_name=brand.name,
        sender=sender,
    )
