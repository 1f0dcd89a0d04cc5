"""Adyen: Checkout payments with manual capture, modifications, HMAC-signed notifications."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

import Adyen
import requests

from voltlane.billing.providers.base import (
    Authorization,
    Customer,
    OperationResult,
    ProviderDeclinedError,
    ProviderUnavailableError,
    WebhookEvent,
    WebhookSignatureError,
)

_ACTION_CODES = {"RedirectShopper", "IdentifyShopper", "ChallengeShopper", "Pending"}

# (eventCode, success) -> the PaymentStatus value it reports.
_EVENT_STATUS = {
    ("AUTHORISATION", True): "authorized",
    ("AUTHORISATION", False): "failed",
    ("CAPTURE", True): "captured",
    ("CANCELLATION", True): "cancelled",
    ("REFUND", True): "refunded",
}


def _error(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message)[:500]


class AdyenProvider:
    """A brand's Adyen merchant account (Checkout API). The shopper reference is Voltlane's
    own: Adyen has no customer object to create."""

    name = "adyen"

    def __init__(
        self,
        *,
        api_key: str,
        merchant_account: str,
        hmac_key: str,
        checkout_url: str | None = None,
        live_endpoint_prefix: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._merchant_account = merchant_account
        self._hmac_key = hmac_key
        adyen = Adyen.Adyen(
            xapikey=api_key,
            platform="live" if live_endpoint_prefix else "test",
            live_endpoint_prefix=live_endpoint_prefix,
            merchant_account=merchant_account,
            http_timeout=timeout,
        )
        self._payments = adyen.checkout.payments_api
        self._modifications = adyen.checkout.modifications_api
        if checkout_url:
            # The SDK builds every URL from the service's baseUrl (which carries the version).
            self._payments.baseUrl = checkout_url.rstrip("/")
            self._modifications.baseUrl = checkout_url.rstrip("/")

    async def _call(self, fn: Callable[[], Any]) -> dict[str, Any]:
        try:
            result = await asyncio.to_thread(fn)
        except requests.RequestException as exc:
            raise ProviderUnavailableError(f"adyen: {type(exc).__name__}") from exc
        except Adyen.AdyenError as exc:
            status = getattr(exc, "status_code", None)
            if status is None or status >= 500 or status in (404, 429):
                raise ProviderUnavailableError(f"adyen: {_error(exc)}") from exc
            raise ProviderDeclinedError(f"adyen: {_error(exc)}") from exc
        message = result.message
        return message if isinstance(message, dict) else {}

    async def create_customer(
        self, *, email: str | None, reference: str, idempotency_key: str
    ) -> Customer:
        return Customer(reference=reference)

    async def pre_authorize(
        self,
        *,
        amount: int,
        currency: str,
        customer: str | None,
        payment_method: str,
        reference: str,
        idempotency_key: str,
    ) -> Authorization:
        request: dict[str, Any] = {
            "merchantAccount": self._merchant_account,
            "amount": {"value": amount, "currency": currency},
            "reference": reference,
            "paymentMethod": {"type": "scheme", "storedPaymentMethodId": payment_method},
            "additionalData": {"manualCapture": "true"},
        }
        if customer:
            request["shopperReference"] = customer
        answer = await self._call(
            lambda: self._payments.payments(request, idempotency_key=idempotency_key)
        )
        psp_reference = str(answer.get("pspReference", ""))
        code = answer.get("resultCode")
        if code == "Authorised":
            return Authorization(psp_reference, "authorized", amount)
        if code in _ACTION_CODES:
            return Authorization(psp_reference, "requires_action", amount, answer.get("action"))
        reason = answer.get("refusalReason") or code or "unknown result"
        return Authorization(psp_reference, "declined", amount, decline_reason=str(reason))

    async def capture(
        self, psp_reference: str, *, amount: int, currency: str, idempotency_key: str
    ) -> OperationResult:
        request = {
            "merchantAccount": self._merchant_account,
            "amount": {"value": amount, "currency": currency},
        }
        answer = await self._call(
            lambda: self._modifications.capture_authorised_payment(
                request, psp_reference, idempotency_key=idempotency_key
            )
        )
        return OperationResult(reference=str(answer.get("pspReference", "")), amount=amount)

    async def cancel(self, psp_reference: str, *, idempotency_key: str) -> OperationResult:
        request = {"merchantAccount": self._merchant_account}
        answer = await self._call(
            lambda: self._modifications.cancel_authorised_payment_by_psp_reference(
                request, psp_reference, idempotency_key=idempotency_key
            )
        )
        return OperationResult(reference=str(answer.get("pspReference", "")))

    async def refund(
        self, psp_reference: str, *, amount: int, currency: str, idempotency_key: str
    ) -> OperationResult:
        request = {
            "merchantAccount": self._merchant_account,
            "amount": {"value": amount, "currency": currency},
        }
        answer = await self._call(
            lambda: self._modifications.refund_captured_payment(
                request, psp_reference, idempotency_key=idempotency_key
            )
        )
        return OperationResult(reference=str(answer.get("pspReference", "")), amount=amount)

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[WebhookEvent]:
        """Every notification item must carry a valid HMAC signature, or none is used."""
        try:
            document = json.loads(body)
            items = [entry["NotificationRequestItem"] for entry in document["notificationItems"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookSignatureError("adyen: the body is not a notification") from exc
        events: list[WebhookEvent] = []
        for item in items:
            try:
                valid = Adyen.util.is_valid_hmac_notification(item, self._hmac_key)
            except (ValueError, KeyError, TypeError) as exc:
                raise WebhookSignatureError("adyen: a notification item is not signed") from exc
            if not valid:
                raise WebhookSignatureError("adyen: the signature does not match the item")
            code = str(item.get("eventCode", ""))
            success = str(item.get("success", "")).lower() == "true"
            psp = item.get("pspReference")
            # A modification (capture, refund ...) has its own reference; the payment's is
            # the original one.
            payment_ref = item.get("originalReference") or psp
            value = (item.get("amount") or {}).get("value")
            events.append(
                WebhookEvent(
                    event_id=f"{code}:{psp}:{'true' if success else 'false'}",
                    type=code,
                    psp_reference=str(payment_ref) if payment_ref else None,
                    status=_EVENT_STATUS.get((code, success)),
                    amount=int(value) if isinstance(value, int) else None,
                    raw=item,
                )
            )
        return events
