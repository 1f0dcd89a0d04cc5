"""Webhooks as the PSPs send them: Stripe's event signed with the endpoint's secret
(``Stripe-Signature``), Adyen's notification items signed with the HMAC key; delivered in
the background after the answer that caused them, and retried while the receiver fails."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

# Adyen signs these fields of an item, in this order.
_ADYEN_SIGNED = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)


def stripe_signature(secret: str, body: bytes, timestamp: int) -> str:
    """The ``Stripe-Signature`` header of ``body`` (scheme v1: HMAC-SHA256 of t.body)."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def adyen_signature(hmac_key: str, item: dict[str, Any]) -> str:
    """The ``hmacSignature`` of a notification item (HMAC-SHA256, key in hex, base64)."""
    amount = item.get("amount") or {}
    values = {**item, "value": amount.get("value", ""), "currency": amount.get("currency", "")}
    signing = ":".join(str(values.get(name, "")) for name in _ADYEN_SIGNED)
    digest = hmac.new(binascii.a2b_hex(hmac_key), signing.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True, slots=True)
class Delivery:
    url: str
    host: str | None
    body: bytes
    headers: dict[str, str]


class WebhookOutbox:
    """Sends webhooks one after the other in a thread of its own; a delivery that fails is
    tried again after 1, 2, 4 ... seconds, ``attempts`` times in all (the PSPs keep trying
    for days; a demo needs minutes)."""

    def __init__(self, *, attempts: int = 6, first_delay: float = 1.0) -> None:
        self.attempts = attempts
        self.first_delay = first_delay
        self._queue: queue.Queue[tuple[Delivery, int] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # (url, HTTP status or error) of every attempt, for whoever watches the sandbox.
        self.attempted: list[tuple[str, str]] = []

    def send(self, delivery: Delivery) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sandbox-psp-webhooks", daemon=True
                )
                self._thread.start()
        self._queue.put((delivery, 1))

    def stop(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout=5)

    def _run(self) -> None:
        while (entry := self._queue.get()) is not None:
            delivery, attempt = entry
            if self._deliver(delivery) or attempt >= self.attempts:
                continue
            delay = self.first_delay * 2 ** (attempt - 1)
            retry = threading.Timer(delay, self._queue.put, args=((delivery, attempt + 1),))
            retry.daemon = True  # a retry never keeps the process from exiting
            retry.start()

    def _deliver(self, delivery: Delivery) -> bool:
        if not delivery.url.startswith(("http://", "https://")):
            return True  # nothing else is ever configured; never retried
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            delivery.url, data=delivery.body, headers=delivery.headers, method="POST"
        )
        if delivery.host:
            request.add_header("Host", delivery.host)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                outcome = str(answer.status)
        except urllib.error.HTTPError as exc:
            outcome = str(exc.code)
        except (OSError, ValueError) as exc:
            outcome = type(exc).__name__
        self.attempted.append((delivery.url, outcome))
        if outcome.startswith("2"):
            return True
        log.warning("sandbox webhook not accepted", extra={"url": delivery.url, "answer": outcome})
        return False


def stripe_delivery(url: str, host: str | None, secret: str, event: dict[str, Any]) -> Delivery:
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": stripe_signature(secret, body, int(time.time())),
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }
    return Delivery(url, host, body, headers)


def adyen_delivery(url: str, host: str | None, hmac_key: str, item: dict[str, Any]) -> Delivery:
    extra = {**(item.get("additionalData") or {}), "hmacSignature": adyen_signature(hmac_key, item)}
    signed = {**item, "additionalData": extra}
    document = {"live": "false", "notificationItems": [{"NotificationRequestItem": signed}]}
    headers = {"Content-Type": "application/json", "User-Agent": "Adyen HttpClient 1.0"}
    return Delivery(url, host, json.dumps(document).encode(), headers)
