"""Jobs of the identity domain: sending the e-mails other domains write."""

from __future__ import annotations

import os
import uuid

from voltlane.identity.notifications import (
    SEND_NOTIFICATION_TASK,
    brand_mailer,
    send_notification,
)
from voltlane.tenancy import TenantNotFoundError, TenantRegistry
from voltlane.worker import JobContext, task


@task(SEND_NOTIFICATION_TASK, max_retries=12, max_backoff_ms=60 * 60 * 1000)
async def send_notification_of(jobs: JobContext, *, tenant: str, notification_id: str) -> None:
    """One e-mail, from the brand's name, through the brand's SMTP server or the platform's."""
    brand = await TenantRegistry(jobs.database, jobs.settings.base_domain, ttl=0).by_key(tenant)
    if brand is None:
        raise TenantNotFoundError(f"no active brand {tenant}")
    mailer = brand_mailer(
        brand.name,
        brand.slug,
        brand.profile,
        platform_smtp_url=jobs.settings.smtp_url,
        base_domain=jobs.settings.base_domain,
        environ=os.environ,
    )
    await send_notification(
        jobs.database,
        tenant,
        uuid.UUID(notification_id),
        server=mailer.server,
        sender_name=mailer.sender_name,
        sender=mailer.sender,
        unsent_reason=mailer.unsent_reason,
    )
