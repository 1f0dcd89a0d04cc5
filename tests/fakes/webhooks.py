"""Webhook bodies signed the way Stripe and Adyen sign them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import Adyen

STRIPE_WEBHOOK_SECRET = "whsec_test_secret"
ADYEN_HMAC_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"


def stripe_webhook(
    event_id: str, kind: str, obj: dict[str, Any], *, secret: str = STRIPE_WEBHOOK_SECRET
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"id": event_id, "object": "event", "type": kind, "data": {"object": obj}}
    ).encode()
    stamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={stamp},v1={digest}"}


def adyen_item(
    code: str,
    psp: str,
    *,
    original: str | None = None,
    value: int = 1234,
    success: bool = True,
    key: str = ADYEN_HMAC_KEY,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "eventCode": code,
        "pspReference": psp,
        "merchantAccountCode": "VoltlaneECOM",
        "merchantReference": "ref",
        "amount": {"value": value, "currency": "EUR"},
        "success": "true" if success else "false",
        "eventDate": "2026-11-24T10:00:00+01:00",
    }
    if original:
        item["originalReference"] = original
    signature = Adyen.util.generate_notification_sig(item, key).decode()
    item["additionalData"] = {"hmacSignature": signature}
    return item


def adyen_webhook(*items: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = {"live": "false", "notificationItems": [{"NotificationRequestItem": i} for i in items]}
    return json.dumps(body).encode(), {"Content-Type": "application/json"}
