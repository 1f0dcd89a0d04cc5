"""Delivering alerts: e-mails through the brand's mail path, signed webhooks by a job.

Both are written in the transaction that opens or resolves the alert and leave only after
it commits: an e-mail as a notification row (sent by ``identity.send_notification``), a
webhook as the job ``monitoring.deliver_webhook``, retried with backoff until the receiver
answers 2xx. Receivers verify ``X-Voltlane-Signature: sha256=<hex>``, the HMAC-SHA256 of
the raw body under the rule's secret, and de-duplicate on ``X-Voltlane-Delivery``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import socket
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import iso_utc
from voltlane.core.errors import VoltlaneError
from voltlane.identity.notifications import queue_email
from voltlane.models.tenant import Alert, AlertKind, AlertRule
from voltlane.monitoring.repository import MonitoringRepository
from voltlane.tenancy import TenantInfo
from voltlane.worker import enqueue

DELIVER_WEBHOOK_TASK = "monitoring.deliver_webhook"
WEBHOOK_TIMEOUT = 10.0
SIGNATURE_HEADER = "X-Voltlane-Signature"

_TITLES = {
    AlertKind.OFFLINE: "Station {station} is offline",
    AlertKind.FAULTED: "Station {station} has a faulted connector",
    AlertKind.STUCK_SESSION: "A session on station {station} makes no progress",
    AlertKind.SECURITY: "Security events on station {station}",
}


class WebhookFailedError(VoltlaneError):
    """The receiver did not take the webhook: raised so that the job is retried."""

    status = 502
    title = "Webhook not delivered"


def summary(alert: Alert) -> str:
    """One line in English saying what the alert is about (e-mail subject, webhook)."""
    title = _TITLES[alert.kind].format(station=alert.station_id)
    return f"{title} ({alert.detail})" if alert.detail else title


async def deliver(
    db_session: AsyncSession,
    brand: TenantInfo,
    alert: Alert,
    rule: AlertRule | None,
    event: str,
) -> None:
    """Write the e-mails and the webhook of ``alert`` having been ``opened``/``resolved``;
    they leave after the caller's transaction commits."""
    if rule is None:
        return
    verb = "Alert" if event == "opened" else "Resolved"
    body = (
        f"{summary(alert)}\n\n"
        f"Since: {iso_utc(alert.since)}\n"
        f"Status: {event}\n"
        f"Alert: {alert.id}\n\n"
        f"All alerts are in the {brand.name} portal under /portal/alerts."
    )
    for recipient in rule.emails:
        digest = hashlib.sha256(recipient.encode()).hexdigest()[:16]
        await queue_email(
            db_session,
            brand.key,
            kind="alert",
            reference=f"{alert.id}:{event}:{digest}",
            recipient=recipient,
            subject=f"[{brand.name}] {verb}: {summary(alert)}",
            body=body,
        )
    if rule.webhook_url:
        enqueue(
            db_session, DELIVER_WEBHOOK_TASK, tenant=brand.key, alert_id=str(alert.id), event=event
        )


def payload(brand: TenantInfo, alert: Alert, event: str) -> dict[str, Any]:
    """The webhook's JSON body (documented in docs/analytics.md)."""
    return {
        "id": f"{alert.id}:{event}",
        "event": f"alert.{event}",
        "brand": brand.key,
        "summary": summary(alert),
        "alert": {
            "id": str(alert.id),
            "kind": alert.kind.value,
            "station_id": alert.station_id,
            "detail": alert.detail,
            "occurrences": alert.occurrences,
            "status": alert.status.value,
            "since": iso_utc(alert.since),
            "opened_at": iso_utc(alert.opened_at),
            "resolved_at": iso_utc(alert.resolved_at) if alert.resolved_at else None,
        },
    }


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def check_public_address(url: str) -> None:
    """Refuse a URL whose host resolves to a loopback, private, link-local or otherwise
    non-public address: a brand's webhook must not reach into the platform's own network.
    Checked at each delivery, since a name may resolve elsewhere than when it was saved."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise WebhookFailedError(f"the webhook's host {host} cannot be resolved: {exc}") from None
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not ip.is_global:
            raise WebhookFailedError(f"the webhook's host {host} is not public ({ip})")


async def send_webhook(
    db_session: AsyncSession,
    brand: TenantInfo,
    alert_id: uuid.UUID,
    event: str,
    *,
    private_addresses: bool = False,
) -> bool:
    """POST the alert's event to its rule's URL; False when there is nothing to send (the
    alert or the URL is gone). WebhookFailedError when the receiver does not answer 2xx, or
    when its address is not public and ``private_addresses`` (a platform setting for
    installations whose receivers live on the same network) is off."""
    repo = MonitoringRepository(db_session)
    alert = await repo.alert(alert_id)
    if alert is None:
        return False
    rule = await repo.rule(alert.kind)
    if rule is None or not rule.webhook_url or not rule.webhook_secret:
        return False
    body = json.dumps(payload(brand, alert, event), separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Voltlane-Alerts/1",
        "X-Voltlane-Event": f"alert.{event}",
        "X-Voltlane-Delivery": f"{alert.id}:{event}",
        SIGNATURE_HEADER: signature(rule.webhook_secret, body),
    }
    if not private_addresses:
        await check_public_address(rule.webhook_url)
    try:
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT, follow_redirects=False) as client:
            response = await client.post(rule.webhook_url, content=body, headers=headers)
    except (TimeoutError, httpx.HTTPError) as exc:
        raise WebhookFailedError(f"{type(exc).__name__}: {exc}"[:300]) from None
    if not 200 <= response.status_code < 300:
        raise WebhookFailedError(f"the receiver answered {response.status_code}")
    return True
