"""Stripe Checkout in setup mode, as far as the Stripe provider uses it: the session that
stores a card on a customer (with its SetupIntent), its expiry, and the card the hosted
page stores."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING, Any

from voltlane.billing.sandbox.cards import EnteredCardData
from voltlane.billing.sandbox.core import Account, Response, json_response, random_id
from voltlane.billing.sandbox.hosted_types import Entry
from voltlane.billing.sandbox.state import Object
from voltlane.billing.sandbox.stripe_objects import (
    customer_known,
    error,
    method_object,
    missing,
    refresh_session,
)

if TYPE_CHECKING:
    from voltlane.billing.sandbox.psp import Sandbox

_SESSION_TTL = 24 * 3600


class StripeCheckout:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def create_session(self, account: Account, params: dict[str, Any]) -> Response:
        if params.get("mode") != "setup":
            message = "The sandbox keeps cards only: use mode=setup."
            return error(400, "invalid_request_error", message, param="mode")
        if not params.get("success_url"):
            message = "Missing required param: success_url."
            return error(400, "invalid_request_error", message, param="success_url")
        customer = params.get("customer")
        if customer and not customer_known(account, str(customer)):
            return missing(str(customer), "customer")
        now = int(time.time())
        intent_data = params.get("setup_intent_data") or {}
        intent: Object = {
            "id": random_id("seti_"),
            "object": "setup_intent",
            "status": "requires_payment_method",
            "customer": customer,
            "payment_method": None,
            "usage": "off_session",
            "payment_method_types": ["card"],
            "metadata": intent_data.get("metadata") or {},
            "created": now,
            "livemode": False,
        }
        account.stripe.setup_intents[intent["id"]] = intent
        ident = random_id("cs_test_", 58)
        session: Object = {
            "id": ident,
            "object": "checkout.session",
            "mode": "setup",
            "status": "open",
            "url": f"{self.sandbox.public_url}/pay/{ident}",
            "customer": customer,
            "customer_email": params.get("customer_email"),
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "locale": params.get("locale", "auto"),
            "client_reference_id": params.get("client_reference_id"),
            "metadata": params.get("metadata") or {},
            "payment_method_types": params.get("payment_method_types") or ["card"],
            "payment_status": "no_payment_required",
            "setup_intent": intent["id"],
            "currency": None,
            "created": now,
            "expires_at": now + _SESSION_TTL,
            "livemode": False,
        }
        account.stripe.sessions[ident] = session
        return json_response(200, session)

    def expire_session(self, account: Account, params: dict[str, Any], ident: str) -> Response:
        session = account.stripe.sessions.get(ident)
        if session is None:
            return missing(ident, "id")
        refresh_session(session)
        if session["status"] != "open":
            message = 'Only Checkout Sessions with a status in ["open"] can be expired.'
            return error(400, "invalid_request_error", message)
        session.update(status="expired", url=None)
        return json_response(200, session)

    def entry(self, reference: str) -> Entry | None:
        """The Checkout Session ``reference`` of any account (its id is the secret)."""
        for account in self.sandbox.accounts:
            session = account.stripe.sessions.get(reference)
            if session is not None:
                refresh_session(session)
                locale = str(session["locale"])
                return Entry(
                    reference=reference,
                    status=session["status"],
                    locale="en" if locale == "auto" else locale.replace("-", "_"),
                    merchant=account.display_name,
                    cancel_url=session["cancel_url"],
                    store=partial(self._store, account, session),
                )
        return None

    def _store(self, account: Account, session: Object, data: EnteredCardData) -> str:
        method = method_object(random_id("pm_"), data, customer=session["customer"])
        account.stripe.payment_methods[method["id"]] = method
        account.stripe.cards[method["id"]] = data
        intent = account.stripe.setup_intents[session["setup_intent"]]
        intent.update(status="succeeded", payment_method=method["id"])
        session.update(status="complete", url=None)
        return str(session["success_url"]).replace("{CHECKOUT_SESSION_ID}", session["id"])
