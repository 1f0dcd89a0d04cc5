"""Sending one notification to browsers: encrypted for each subscription (RFC 8291,
aes128gcm), signed with the platform's VAPID key (RFC 8292), posted by pywebpush.

A push service that answers 404 or 410 has forgotten the subscription: its row is deleted.
Other failures are logged by subscription id (an endpoint is a capability URL and is never
logged) and do not stop the others.
"""

from __future__ import annotations

import asyncio
import enum
import ipaddress
import json
import logging
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import PushSubscription
from voltlane.pwa.push_keys import VapidKeys

log = logging.getLogger(__name__)

PUSH_TIMEOUT = 10.0  # seconds per push service request


@dataclass(frozen=True, slots=True)
class PushMessage:
    """What the service worker shows: title and body in the driver's language, the page a
    click opens, a tag that replaces an earlier notification of the same event."""

    title: str
    body: str
    url: str
    tag: str
    lang: str
    ttl: int  # seconds a push service keeps it for a browser that is offline
    urgency: str = "normal"  # RFC 8030: very-low, low, normal, high

    def payload(self) -> str:
        return json.dumps(
            {
                "title": self.title,
                "body": self.body,
                "url": self.url,
                "tag": self.tag,
                "lang": self.lang,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )


class Outcome(enum.StrEnum):
    SENT = "sent"
    GONE = "gone"  # 404/410: the subscription no longer exists
    FAILED = "failed"


async def endpoint_is_public(endpoint: str) -> bool:
    """Whether every address the endpoint's host resolves to is public: a subscription
    must not make the platform post into its own network."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(a[4][0]).is_global for a in found)


def _post(subscription: dict[str, Any], message: PushMessage, keys: VapidKeys) -> int:
    """POST the encrypted message; the push service's status (0: no answer)."""
    session = requests.Session()
    # A push service answers itself: a redirect could lead anywhere.
    session.max_redirects = 0
    try:
        response = webpush(
            subscription,
            data=message.payload(),
            vapid_private_key=Vapid(private_key=keys.private_key),
            # A fresh dict each time: pywebpush adds the audience and expiry to it.
            vapid_claims={"sub": keys.subject},
            content_encoding="aes128gcm",
            timeout=PUSH_TIMEOUT,
            ttl=message.ttl,
            headers={"Urgency": message.urgency},
            requests_session=session,
        )
    except WebPushException as exc:
        return int(exc.status_code or 0)
    except requests.RequestException:
        return 0
    finally:
        session.close()
    return int(response.status_code)


async def deliver(
    subscription: PushSubscription,
    message: PushMessage,
    keys: VapidKeys,
    *,
    private_endpoints: bool,
) -> Outcome:
    """Send ``message`` to one subscription."""
    if not private_endpoints and not await endpoint_is_public(subscription.endpoint):
        log.warning("push endpoint not public", extra={"subscription": str(subscription.id)})
        return Outcome.FAILED
    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    status = await asyncio.to_thread(_post, info, message, keys)
    if 200 <= status < 300:
        return Outcome.SENT
    if status in (404, 410):
        return Outcome.GONE
    log.warning(
        "push not delivered", extra={"subscription": str(subscription.id), "status": status}
    )
    return Outcome.FAILED


async def send_to(
    db_session: AsyncSession,
    subscriptions: list[PushSubscription],
    message: PushMessage,
    keys: VapidKeys,
    *,
    private_endpoints: bool,
) -> int:
    """Send ``message`` to each subscription, delete the ones whose push service has
    forgotten them; returns how many took it."""
    sent = 0
    gone: list[Any] = []
    for subscription in subscriptions:
        outcome = await deliver(subscription, message, keys, private_endpoints=private_endpoints)
        if outcome is Outcome.SENT:
            sent += 1
        elif outcome is Outcome.GONE:
            gone.append(subscription.id)
    if gone:
        await db_session.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
    return sent
