"""Adyen: Checkout payments with manual capture, modifications, HMAC-signed notifications."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import Adyen
import requests

from voltlane.billing.providers.base import (
    Authorization,
    AuthorizationStatus,
    CardEntry,
    Customer,
    EnteredCard,
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


# Payment link statuses while the shopper may still complete it.
_LINK_OPEN = {"active", "paymentPending"}
_LINK_DONE = {"completed", "paid"}
# Metadata of a payment link: keys of at most 20 characters, values of at most 80, at most
# 20 pairs; the stored cards the shopper had before the link go there, four to a value.
_KNOWN_KEY = "knownCards"
_KNOWN_PER_VALUE = 4
_KNOWN_VALUES = 19

_BRANDS = {
    "amex": "American Express",
    "cartebancaire": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "jcb": "JCB",
    "maestro": "Maestro",
    "mc": "Mastercard",
    "visa": "Visa",
}


def _known_metadata(ids: list[str]) -> dict[str, str]:
    chunks = [ids[i : i + _KNOWN_PER_VALUE] for i in range(0, len(ids), _KNOWN_PER_VALUE)]
    return {f"{_KNOWN_KEY}{n}": " ".join(chunk) for n, chunk in enumerate(chunks[:_KNOWN_VALUES])}


def _known_ids(metadata: Mapping[str, Any]) -> set[str]:
    return {
        card
        for key, value in metadata.items()
        if key.startswith(_KNOWN_KEY) and isinstance(value, str)
        for card in value.split()
    }


def _card(method: Mapping[str, Any], shopper: str) -> EnteredCard:
    brand = str(method.get("brand", ""))
    name = _BRANDS.get(brand) or str(method.get("name") or brand.upper() or "Card")
    month, year = str(method.get("expiryMonth") or ""), str(method.get("expiryYear") or "")
    if len(year) == 2:
        year = f"20{year}"  # the API gives the year's last two digits
    return EnteredCard(
        payment_method=str(method["id"]),
        customer=shopper,
        label=f"{name} •••• {method.get('lastFour', '')}".strip(),
        expires=f"{int(month):02d}/{year}" if month.isdigit() and year else None,
    )


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
        currency: str = "EUR",
        checkout_url: str | None = None,
        live_endpoint_prefix: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._merchant_account = merchant_account
        self._hmac_key = hmac_key
        # A card entry is a zero-value authorisation in the brand's currency.
        self._currency = currency
        adyen = Adyen.Adyen(
            xapikey=api_key,
            platform="live" if live_endpoint_prefix else "test",
            live_endpoint_prefix=live_endpoint_prefix,
            merchant_account=merchant_account,
            http_timeout=timeout,
        )
        self._payments = adyen.checkout.payments_api
        self._modifications = adyen.checkout.modifications_api
        self._links = adyen.checkout.payment_links_api
        self._recurring = adyen.checkout.recurring_api
        if checkout_url:
            # The SDK builds every URL from the service's baseUrl (which carries the version).
            for service in (self._payments, self._modifications, self._links, self._recurring):
                service.baseUrl = checkout_url.rstrip("/")

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

    async def _stored_cards(self, shopper: str) -> list[dict[str, Any]]:
        query = {
            "merchantAccount": quote(self._merchant_account, safe=""),
            "shopperReference": quote(shopper, safe=""),
        }
        answer = await self._call(
            lambda: self._recurring.get_tokens_for_stored_payment_details(query_parameters=query)
        )
        methods = answer.get("storedPaymentMethods") or []
        return [m for m in methods if isinstance(m, dict) and m.get("id")]

    async def start_card_entry(
        self,
        *,
        reference: str,
        customer: str | None,
        email: str | None,
        return_url: str,
        cancel_url: str,
        locale: str,
        idempotency_key: str,
    ) -> CardEntry:
        """A Pay by Link page that stores the card (zero-value authorisation) under the
        shopper for unscheduled card-on-file charges. Adyen's page has no cancel address:
        ``cancel_url`` is not used. The shopper's stored cards at this moment go into the
        link's metadata, so that finish_card_entry can tell which card the link added."""
        shopper = customer or reference
        known = sorted(str(m["id"]) for m in await self._stored_cards(shopper)) if customer else []
        request: dict[str, Any] = {
            "merchantAccount": self._merchant_account,
            "reference": reference,
            "amount": {"value": 0, "currency": self._currency},
            "returnUrl": return_url,
            "shopperReference": shopper,
            "shopperLocale": locale.replace("_", "-"),
            "storePaymentMethodMode": "enabled",
            "recurringProcessingModel": "UnscheduledCardOnFile",
            "allowedPaymentMethods": ["scheme"],
            "metadata": _known_metadata(known),
        }
        if email:
            request["shopperEmail"] = email
        answer = await self._call(
            lambda: self._links.payment_links(request, idempotency_key=idempotency_key)
        )
        if not answer.get("id") or not answer.get("url"):
            raise ProviderUnavailableError("adyen: the payment link has no id or url")
        return CardEntry(reference=str(answer["id"]), redirect_url=str(answer["url"]))

    async def finish_card_entry(self, entry_reference: str) -> EnteredCard | None:
        link = await self._call(lambda: self._links.get_payment_link(entry_reference))
        status = link.get("status")
        if status in _LINK_OPEN:
            return None
        if status not in _LINK_DONE:
            raise ProviderDeclinedError(f"adyen: the card entry is {status}")
        shopper = str(link.get("shopperReference") or "")
        stored = await self._stored_cards(shopper)
        known = _known_ids(link.get("metadata") or {})
        added = [m for m in stored if m["id"] not in known]
        if len(added) == 1:
            return _card(added[0], shopper)
        if not added and len(stored) == 1:
            # The shopper entered the card stored before: Adyen keeps one token per card.
            return _card(stored[0], shopper)
        raise ProviderDeclinedError(
            f"adyen: cannot tell which stored card payment link {entry_reference} added"
        )

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
        request = self._payment(amount, currency, customer, payment_method, reference)
        request["additionalData"] = {"manualCapture": "true"}
        return await self._pay(request, idempotency_key, "authorized")

    async def charge_stored(
        self,
        *,
        amount: int,
        currency: str,
        customer: str | None,
        payment_method: str,
        reference: str,
        idempotency_key: str,
    ) -> Authorization:
        """A merchant-initiated payment on the stored token (ContAuth, unscheduled card on
        file), captured at once by the merchant account's automatic capture."""
        request = self._payment(amount, currency, customer, payment_method, reference)
        request["shopperInteraction"] = "ContAuth"
        request["recurringProcessingModel"] = "UnscheduledCardOnFile"
        return await self._pay(request, idempotency_key, "captured")

    def _payment(
        self,
        amount: int,
        currency: str,
        customer: str | None,
        payment_method: str,
        reference: str,
    ) -> dict[str, Any]:
        """A payment on a stored card (``customer``: the shopper it is stored under)."""
        request: dict[str, Any] = {
            "merchantAccount": self._merchant_account,
            "amount": {"value": amount, "currency": currency},
            "reference": reference,
            "paymentMethod": {"type": "scheme", "storedPaymentMethodId": payment_method},
        }
        if customer:
            request["shopperReference"] = customer
        return request

    async def _pay(
        self, request: dict[str, Any], idempotency_key: str, authorised: AuthorizationStatus
    ) -> Authorization:
        amount = int(request["amount"]["value"])
        answer = await self._call(
            lambda: self._payments.payments(request, idempotency_key=idempotency_key)
        )
        psp_reference = str(answer.get("pspReference", ""))
        code = answer.get("resultCode")
        if code == "Authorised":
            return Authorization(psp_reference, authorised, amount)
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

    async def detach_payment_method(
        self, payment_method: str, *, customer: str | None, idempotency_key: str
    ) -> None:
        """Delete the shopper's stored token (``customer`` is the shopper reference it is
        stored under, which Adyen asks for)."""
        if not customer:
            raise ProviderDeclinedError("adyen: a stored card is deleted for its shopper")
        query = {
            "merchantAccount": quote(self._merchant_account, safe=""),
            "shopperReference": quote(customer, safe=""),
        }
        await self._call(
            lambda: self._recurring.delete_token_for_stored_payment_details(
                quote(payment_method, safe=""),
                idempotency_key=idempotency_key,
                query_parameters=query,
            )
        )

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
            status = _EVENT_STATUS.get((code, success))
            if code == "AUTHORISATION" and value == 0:
                # A zero-value authorisation verifies a card being stored: no payment.
                status = None
            events.append(
                WebhookEvent(
                    event_id=f"{code}:{psp}:{'true' if success else 'false'}",
                    type=code,
                    psp_reference=str(payment_ref) if payment_ref else None,
                    status=status,
                    amount=int(value) if isinstance(value, int) else None,
                    raw=item,
                )
            )
        return events
