"""Stripe: PaymentIntents with manual capture, refunds, signed webhooks (stripe SDK)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import stripe

from voltlane.billing.providers.base import (
    Authorization,
    CardEntry,
    Customer,
    EnteredCard,
    OperationResult,
    ProviderDeclinedError,
    ProviderUnavailableError,
    WebhookEvent,
    WebhookSignatureError,
)

T = TypeVar("T")

# Stripe event type -> the PaymentStatus value it reports.
_EVENT_STATUS = {
    "payment_intent.amount_capturable_updated": "authorized",
    "payment_intent.requires_action": "requires_action",
    "payment_intent.succeeded": "captured",
    "payment_intent.canceled": "cancelled",
    "payment_intent.payment_failed": "failed",
    "charge.refunded": "refunded",
}


# The locales Checkout shows its page in (a language alone, or these with their region).
_CHECKOUT_LANGUAGES = frozenset(
    {
        "bg",
        "cs",
        "da",
        "de",
        "el",
        "en",
        "es",
        "et",
        "fi",
        "fil",
        "fr",
        "hr",
        "hu",
        "id",
        "it",
        "ja",
        "ko",
        "lt",
        "lv",
        "ms",
        "mt",
        "nb",
        "nl",
        "pl",
        "pt",
        "ro",
        "ru",
        "sk",
        "sl",
        "sv",
        "th",
        "tr",
        "vi",
        "zh",
    }
)
_CHECKOUT_REGIONAL = frozenset({"en-GB", "es-419", "fr-CA", "pt-BR", "zh-HK", "zh-TW"})

_BRANDS = {
    "amex": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
}


def checkout_locale(locale: str) -> str:
    """Voltlane's ``de_DE`` as the ``locale`` Checkout knows (``auto``: the browser's)."""
    language, _, region = locale.replace("-", "_").partition("_")
    regional = f"{language.lower()}-{region.upper()}"
    if regional in _CHECKOUT_REGIONAL:
        return regional
    return language.lower() if language.lower() in _CHECKOUT_LANGUAGES else "auto"


def _message(exc: stripe.StripeError) -> str:
    return (exc.user_message or str(exc) or type(exc).__name__)[:500]


def _intent(
    amount: int, currency: str, customer: str | None, payment_method: str, reference: str
) -> dict[str, Any]:
    """A PaymentIntent on a card, confirmed as it is created."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency.lower(),
        "payment_method": payment_method,
        "confirm": True,
        "payment_method_types": ["card"],
        "metadata": {"reference": reference},
    }
    if customer:
        params["customer"] = customer
    return params


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


class StripeProvider:
    """A brand's Stripe account. The SDK never retries on its own: Voltlane retries with the
    idempotency key it persisted, so a retry can never charge twice."""

    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    async def _call(self, fn: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(fn)
        except (stripe.APIConnectionError, stripe.APIError, stripe.RateLimitError) as exc:
            raise ProviderUnavailableError(f"stripe: {_message(exc)}") from exc
        except stripe.StripeError as exc:
            if exc.http_status is not None and exc.http_status >= 500:
                raise ProviderUnavailableError(f"stripe: {_message(exc)}") from exc
            raise ProviderDeclinedError(f"stripe: {_message(exc)}") from exc

    async def create_customer(
        self, *, email: str | None, reference: str, idempotency_key: str
    ) -> Customer:
        params: dict[str, Any] = {"metadata": {"reference": reference}}
        if email:
            params["email"] = email
        customer = await self._call(
            lambda: self._client.v1.customers.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        return Customer(reference=customer.id)

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
        """A Checkout Session in setup mode: the card is stored on the customer (created
        first when the driver has none) for later off-session charges."""
        if customer is None:
            created = await self.create_customer(
                email=email, reference=reference, idempotency_key=f"{idempotency_key}-customer"
            )
            customer = created.reference
        params: dict[str, Any] = {
            "mode": "setup",
            "customer": customer,
            "payment_method_types": ["card"],
            "success_url": return_url,
            "cancel_url": cancel_url,
            "locale": checkout_locale(locale),
            "client_reference_id": reference,
            "metadata": {"reference": reference},
            "setup_intent_data": {"metadata": {"reference": reference}},
        }
        session = await self._call(
            lambda: self._client.v1.checkout.sessions.create(
                params,  # type: ignore[arg-type]
                {"idempotency_key": idempotency_key},
            )
        )
        if not session.url:
            raise ProviderUnavailableError(f"stripe: checkout session {session.id} has no url")
        return CardEntry(reference=session.id, redirect_url=session.url)

    async def finish_card_entry(self, entry_reference: str) -> EnteredCard | None:
        session = await self._call(
            lambda: self._client.v1.checkout.sessions.retrieve(
                entry_reference, {"expand": ["setup_intent.payment_method"]}
            )
        )
        if session.status == "open":
            return None
        if session.status != "complete":
            raise ProviderDeclinedError(f"stripe: the card entry is {session.status}")
        intent = session.setup_intent
        if not isinstance(intent, stripe.SetupIntent):
            raise ProviderUnavailableError("stripe: the checkout session has no setup intent")
        if intent.status in ("processing", "requires_action"):
            return None
        method = intent.payment_method
        if intent.status != "succeeded" or not isinstance(method, stripe.PaymentMethod):
            raise ProviderDeclinedError(f"stripe: the card was not stored ({intent.status})")
        card = method.card
        if card is None:
            raise ProviderDeclinedError(f"stripe: payment method {method.id} is not a card")
        brand = _BRANDS.get(card.brand, card.brand.replace("_", " ").title())
        customer = session.customer or method.customer
        return EnteredCard(
            payment_method=method.id,
            customer=customer if isinstance(customer, str) else getattr(customer, "id", None),
            label=f"{brand} •••• {card.last4}",
            expires=f"{card.exp_month:02d}/{card.exp_year}",
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
        params = _intent(amount, currency, customer, payment_method, reference)
        return await self._confirm({**params, "capture_method": "manual"}, idempotency_key)

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
        """A PaymentIntent confirmed off-session on the saved card and captured at once;
        a card that wants 3-D Secure is declined (authentication_required): the driver is
        not there to pass it."""
        params = _intent(amount, currency, customer, payment_method, reference)
        return await self._confirm(
            {**params, "capture_method": "automatic", "off_session": True}, idempotency_key
        )

    async def _confirm(self, params: dict[str, Any], idempotency_key: str) -> Authorization:
        amount = int(params["amount"])
        try:
            intent = await self._call(
                lambda: self._client.v1.payment_intents.create(
                    params,  # type: ignore[arg-type]
                    {"idempotency_key": idempotency_key},
                )
            )
        except ProviderDeclinedError as exc:
            cause = exc.__cause__
            if not isinstance(cause, stripe.CardError):
                raise
            intent_ref = getattr(cause.error, "payment_intent", None) if cause.error else None
            psp_reference = getattr(intent_ref, "id", None) or ""
            return Authorization(
                psp_reference=str(psp_reference),
                status="declined",
                amount=amount,
                decline_reason=cause.code or _message(cause),
            )
        if intent.status == "requires_capture":
            return Authorization(intent.id, "authorized", intent.amount_capturable)
        if intent.status == "succeeded":
            return Authorization(intent.id, "captured", intent.amount_received)
        if intent.status == "requires_action":
            action = intent.next_action.to_dict() if intent.next_action else {}
            return Authorization(intent.id, "requires_action", amount, action=action)
        return Authorization(intent.id, "declined", amount, decline_reason=intent.status)

    async def capture(
        self, psp_reference: str, *, amount: int, currency: str, idempotency_key: str
    ) -> OperationResult:
        intent = await self._call(
            lambda: self._client.v1.payment_intents.capture(
                psp_reference,
                {"amount_to_capture": amount},
                {"idempotency_key": idempotency_key},
            )
        )
        return OperationResult(reference=intent.id, amount=intent.amount_received)

    async def cancel(self, psp_reference: str, *, idempotency_key: str) -> OperationResult:
        intent = await self._call(
            lambda: self._client.v1.payment_intents.cancel(
                psp_reference, None, {"idempotency_key": idempotency_key}
            )
        )
        return OperationResult(reference=intent.id)

    async def refund(
        self, psp_reference: str, *, amount: int, currency: str, idempotency_key: str
    ) -> OperationResult:
        refund = await self._call(
            lambda: self._client.v1.refunds.create(
                {"payment_intent": psp_reference, "amount": amount},
                {"idempotency_key": idempotency_key},
            )
        )
        return OperationResult(reference=refund.id, amount=refund.amount)

    async def detach_payment_method(
        self, payment_method: str, *, customer: str | None, idempotency_key: str
    ) -> None:
        """Detach the PaymentMethod from its customer: Stripe never charges it again and
        it cannot be attached again."""
        await self._call(
            lambda: self._client.v1.payment_methods.detach(
                payment_method, None, {"idempotency_key": idempotency_key}
            )
        )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[WebhookEvent]:
        """Verify ``Stripe-Signature`` on the raw body, then read the one event it carries."""
        try:
            stripe.Webhook.construct_event(
                body, _header(headers, "Stripe-Signature"), self._webhook_secret
            )
        except stripe.SignatureVerificationError as exc:
            raise WebhookSignatureError("stripe: the signature does not match the body") from exc
        except ValueError as exc:
            raise WebhookSignatureError("stripe: the body is not a JSON event") from exc
        event = json.loads(body)
        obj: dict[str, Any] = event.get("data", {}).get("object", {})
        kind = str(event.get("type", ""))
        status = _EVENT_STATUS.get(kind)
        if kind.startswith("charge."):
            psp_reference, amount = obj.get("payment_intent"), obj.get("amount_refunded")
        else:
            psp_reference = obj.get("id")
            amount = obj.get("amount_received") if status == "captured" else obj.get("amount")
        return [
            WebhookEvent(
                event_id=str(event["id"]),
                type=kind,
                psp_reference=str(psp_reference) if psp_reference else None,
                status=status,
                amount=int(amount) if isinstance(amount, int) else None,
                raw=event,
            )
        ]
