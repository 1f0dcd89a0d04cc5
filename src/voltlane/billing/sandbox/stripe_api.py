"""The subset of Stripe's API the Stripe provider uses: customers, PaymentIntents with
manual capture, refunds, detaching a PaymentMethod, the objects Checkout makes
(stripe_checkout), 3-D Secure, and the webhook events of those objects."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from voltlane.billing.sandbox.cards import TEST_CARDS, EnteredCardData
from voltlane.billing.sandbox.core import Account, Request, Response, json_response, random_id
from voltlane.billing.sandbox.hosted_types import Challenge, Entry
from voltlane.billing.sandbox.state import Object
from voltlane.billing.sandbox.stripe_checkout import StripeCheckout
from voltlane.billing.sandbox.stripe_objects import (
    KINDS,
    customer_known,
    decode_params,
    error,
    method_object,
    missing,
    refresh_session,
)
from voltlane.billing.sandbox.webhooks import stripe_delivery

if TYPE_CHECKING:
    from voltlane.billing.sandbox.psp import Sandbox

# Stripe's own test payment methods, usable by every account.
PRESETS = {
    "pm_card_visa": "4242424242424242",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_threeDSecure2Required": "4000000000003220",
}
_CANCELLABLE = {
    "requires_payment_method",
    "requires_capture",
    "requires_confirmation",
    "requires_action",
    "processing",
}


class StripeApi:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.checkout = StripeCheckout(sandbox)

    # -- the HTTP surface ---------------------------------------------------------------
    def authenticate(self, request: Request) -> tuple[Account | None, Response]:
        key = (request.header("Authorization") or "").removeprefix("Bearer ").strip()
        account = self.sandbox.stripe_account(key) if key else None
        if account is not None:
            return account, json_response(200, {})
        shown = f"{key[:8]}***{key[-4:]}" if len(key) > 12 else "***"
        return None, error(401, "invalid_request_error", f"Invalid API Key provided: {shown}")

    def idempotency_mismatch(self, key: str) -> Response:
        message = (
            "Keys for idempotent requests can only be used with the same parameters they were"
            f" first used with. Try using a key other than '{key}' if you meant to execute a"
            " different request."
        )
        return error(400, "idempotency_error", message)

    def handle(self, account: Account, request: Request) -> Response:
        pairs = parse_qsl(request.body.decode(), keep_blank_values=True)
        pairs += [(k, v) for k, values in request.query.items() for v in values]
        params = decode_params(pairs)
        routes: list[tuple[str, str, Callable[..., Response]]] = [
            ("POST", r"/v1/customers", self._create_customer),
            ("POST", r"/v1/payment_intents", self._create_intent),
            ("POST", r"/v1/payment_intents/([^/]+)/capture", self._capture),
            ("POST", r"/v1/payment_intents/([^/]+)/cancel", self._cancel),
            ("POST", r"/v1/refunds", self._refund),
            ("POST", r"/v1/payment_methods/([^/]+)/detach", self._detach),
            ("POST", r"/v1/checkout/sessions", self.checkout.create_session),
            ("POST", r"/v1/checkout/sessions/([^/]+)/expire", self.checkout.expire_session),
            ("GET", r"/v1/checkout/sessions/([^/]+)", self._get),
            (
                "GET",
                r"/v1/(?:payment_intents|setup_intents|payment_methods|customers)/([^/]+)",
                self._get,
            ),
        ]
        for method, pattern, handler in routes:
            match = re.fullmatch(pattern, request.path)
            if match and method == request.method:
                return handler(account, params, *match.groups())
        return error(404, "invalid_request_error", f"Unrecognized request URL ({request.path}).")

    # -- objects --------------------------------------------------------------------------
    def _find(self, account: Account, ident: str) -> Object | None:
        if ident in PRESETS:
            data = EnteredCardData(TEST_CARDS[PRESETS[ident]], 12, time.gmtime().tm_year + 3)
            return method_object(ident, data, customer=None)
        table = next((t for prefix, (t, _) in KINDS.items() if ident.startswith(prefix)), None)
        found: Object | None = getattr(account.stripe, table).get(ident) if table else None
        if found is not None and found.get("object") == "checkout.session":
            refresh_session(found)
        return found

    def _card_of(self, account: Account, method: str) -> EnteredCardData | None:
        if method in PRESETS:
            return EnteredCardData(TEST_CARDS[PRESETS[method]], 12, time.gmtime().tm_year + 3)
        return account.stripe.cards.get(method)

    def _expanded(self, account: Account, obj: Object, paths: list[str]) -> Object:
        result = dict(obj)
        for path in paths:
            head, _, rest = path.partition(".")
            value = result.get(head)
            if isinstance(value, str):
                value = self._find(account, value) or value
            if isinstance(value, dict):
                result[head] = self._expanded(account, value, [rest]) if rest else dict(value)
        return result

    def _event(self, account: Account, kind: str, obj: Object) -> None:
        if not (account.webhook_url and account.stripe_webhook_secret):
            return
        event = {
            "id": random_id("evt_"),
            "object": "event",
            "type": kind,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": dict(obj)},
        }
        url, host, secret = account.webhook_url, account.webhook_host, account.stripe_webhook_secret
        self.sandbox.outbox.send(stripe_delivery(url, host, secret, event))

    def _get(self, account: Account, params: dict[str, Any], ident: str) -> Response:
        found = self._find(account, ident)
        if found is None:
            return missing(ident, "id")
        return json_response(200, self._expanded(account, found, params.get("expand") or []))

    # -- customers and payments --------------------------------------------------------------
    def _create_customer(self, account: Account, params: dict[str, Any]) -> Response:
        customer: Object = {
            "id": random_id("cus_", 14),
            "object": "customer",
            "email": params.get("email"),
            "metadata": params.get("metadata") or {},
            "created": int(time.time()),
            "livemode": False,
        }
        account.stripe.customers[customer["id"]] = customer
        return json_response(200, customer)

    def _detach(self, account: Account, params: dict[str, Any], ident: str) -> Response:
        method = account.stripe.payment_methods.get(ident)
        if method is None and ident not in PRESETS:
            return missing(ident, "id")
        if method is None or method.get("customer") is None:
            message = (
                "The payment method you provided is not attached to a customer so detachment"
                " is impossible."
            )
            return error(400, "invalid_request_error", message)
        method["customer"] = None
        account.stripe.detached.add(ident)
        self.sandbox.detaches[ident] += 1
        return json_response(200, method)

    def _create_intent(self, account: Account, params: dict[str, Any]) -> Response:
        method, customer = str(params.get("payment_method", "")), params.get("customer")
        for name in ("amount", "currency", "payment_method"):
            if not params.get(name):
                message = f"Missing required param: {name}."
                return error(400, "invalid_request_error", message, param=name)
        if customer and not customer_known(account, str(customer)):
            return missing(str(customer), "customer")
        data = self._card_of(account, method)
        if data is None:
            return missing(method, "payment_method")
        if method in account.stripe.detached:
            message = (
                "The provided PaymentMethod was previously used with a PaymentIntent without"
                " Customer attachment, shared with a connected account without Customer"
                " attachment, or was detached from a Customer. It may not be used again."
            )
            return error(400, "invalid_request_error", message, param="payment_method")
        owner = account.stripe.payment_methods.get(method, {}).get("customer")
        if owner and owner != customer:
            message = (
                f"The provided PaymentMethod belongs to customer {owner}. Please include the"
                " Customer in the `customer` parameter on the PaymentIntent."
            )
            return error(400, "invalid_request_error", message, param="payment_method")
        amount = int(params["amount"])
        intent: Object = {
            "id": random_id("pi_"),
            "object": "payment_intent",
            "amount": amount,
            "currency": params["currency"],
            "customer": customer,
            "payment_method": method,
            "capture_method": params.get("capture_method", "automatic"),
            "amount_capturable": 0,
            "amount_received": 0,
            "metadata": params.get("metadata") or {},
            "next_action": None,
            "last_payment_error": None,
            "created": int(time.time()),
            "livemode": False,
        }
        account.stripe.intents[intent["id"]] = intent
        if self.sandbox.take_decline() or data.card.charge == "decline":
            return self._refuse(
                account, intent, "card_declined", "generic_decline", "Your card was declined."
            )
        off_session = str(params.get("off_session", "")).lower() == "true"
        if off_session:
            self.sandbox.merchant_initiated[intent["id"]] = method
        if data.card.charge == "challenge" and off_session:
            # Nobody is there to pass 3-D Secure: Stripe refuses instead of asking.
            return self._refuse(
                account,
                intent,
                "authentication_required",
                "authentication_required",
                "This payment requires authentication.",
            )
        if data.card.charge == "challenge":
            url = f"{self.sandbox.public_url}/authenticate/{intent['id']}"
            intent["status"] = "requires_action"
            account.stripe.challenged.add(intent["id"])
            intent["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": url},
            }
            self._event(account, "payment_intent.requires_action", intent)
            return json_response(200, intent)
        self._authorized(account, intent)
        return json_response(200, intent)

    def _refuse(
        self, account: Account, intent: Object, code: str, decline_code: str, message: str
    ) -> Response:
        failure = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
        }
        intent.update(status="requires_payment_method", last_payment_error=failure)
        self._event(account, "payment_intent.payment_failed", intent)
        return json_response(402, {"error": {**failure, "payment_intent": intent}})

    def _authorized(self, account: Account, intent: Object) -> None:
        intent["next_action"] = None
        if intent["capture_method"] == "manual":
            intent.update(status="requires_capture", amount_capturable=intent["amount"])
            self._event(account, "payment_intent.amount_capturable_updated", intent)
        else:
            intent.update(status="succeeded", amount_received=intent["amount"])
            self.sandbox.captures[intent["id"]] += 1
            self.sandbox.captured_amounts[intent["id"]] = intent["amount"]
            self._event(account, "payment_intent.succeeded", intent)

    def _capture(self, account: Account, params: dict[str, Any], ident: str) -> Response:
        intent = account.stripe.intents.get(ident)
        if intent is None:
            return missing(ident, "id")
        if intent["status"] != "requires_capture":
            message = f"This PaymentIntent's status is {intent['status']}"
            return error(
                400, "invalid_request_error", message, code="payment_intent_unexpected_state"
            )
        amount = int(params.get("amount_to_capture") or intent["amount_capturable"])
        if amount > intent["amount_capturable"]:
            message = "The amount to capture is greater than the amount capturable."
            return error(400, "invalid_request_error", message, param="amount_to_capture")
        self.sandbox.captures[ident] += 1
        self.sandbox.captured_amounts[ident] = amount
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        self._event(account, "payment_intent.succeeded", intent)
        return json_response(200, intent)

    def _cancel(self, account: Account, params: dict[str, Any], ident: str) -> Response:
        intent = account.stripe.intents.get(ident)
        if intent is None:
            return missing(ident, "id")
        if intent["status"] not in _CANCELLABLE:
            message = (
                "You cannot cancel this PaymentIntent because it has a status of"
                f" {intent['status']}."
            )
            return error(
                400, "invalid_request_error", message, code="payment_intent_unexpected_state"
            )
        self.sandbox.cancels[ident] += 1
        intent.update(status="canceled", amount_capturable=0, next_action=None)
        self._event(account, "payment_intent.canceled", intent)
        return json_response(200, intent)

    def _refund(self, account: Account, params: dict[str, Any]) -> Response:
        ident = str(params.get("payment_intent", ""))
        intent = account.stripe.intents.get(ident)
        if intent is None:
            return missing(ident, "payment_intent")
        left = intent["amount_received"] - intent.get("amount_refunded", 0)
        amount = int(params.get("amount", left))
        if intent["status"] != "succeeded" or not 0 < amount <= left:
            message = f"Refund amount ({amount}) is greater than unrefunded amount ({left})."
            return error(400, "invalid_request_error", message, param="amount")
        self.sandbox.refunds[ident] += 1
        intent["amount_refunded"] = intent.get("amount_refunded", 0) + amount
        refund = {
            "id": random_id("re_"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": ident,
            "status": "succeeded",
        }
        charge = {
            "id": random_id("ch_"),
            "object": "charge",
            "payment_intent": ident,
            "amount": intent["amount_received"],
            "amount_refunded": intent["amount_refunded"],
            "refunded": intent["amount_refunded"] == intent["amount_received"],
        }
        self._event(account, "charge.refunded", charge)
        return json_response(200, refund)

    def entry(self, reference: str) -> Entry | None:
        """The Checkout Session ``reference`` of any account (its id is the secret)."""
        return self.checkout.entry(reference)

    def challenge(self, reference: str) -> Challenge | None:
        """The PaymentIntent ``reference`` of any account that asked for 3-D Secure."""
        for account in self.sandbox.accounts:
            intent = account.stripe.intents.get(reference)
            if intent is None or reference not in account.stripe.challenged:
                continue
            return Challenge(
                reference=reference,
                waiting=intent["status"] == "requires_action",
                amount=intent["amount"],
                currency=str(intent["currency"]).upper(),
                locale=account.locale,
                merchant=account.display_name,
                finish=partial(self._finish_challenge, account, intent),
            )
        return None

    def _finish_challenge(self, account: Account, intent: Object, confirmed: bool) -> None:
        if intent["status"] != "requires_action":
            return
        if confirmed:
            self._authorized(account, intent)
            return
        failure = {
            "type": "card_error",
            "code": "payment_intent_authentication_failure",
            "message": "The provided PaymentMethod has failed authentication.",
        }
        intent.update(
            status="requires_payment_method", next_action=None, last_payment_error=failure
        )
        self._event(account, "payment_intent.payment_failed", intent)
