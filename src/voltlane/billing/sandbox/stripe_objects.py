"""Stripe's objects as its API shows them, its form encoding and its error answers, shared
by the sandbox's payments and Checkout parts."""

from __future__ import annotations

import re
import time
from typing import Any

from voltlane.billing.sandbox.cards import EnteredCardData
from voltlane.billing.sandbox.core import Account, Response, json_response
from voltlane.billing.sandbox.state import Object

# id prefix -> (table of StripeState, the object's name in errors)
KINDS = {
    "cus_": ("customers", "customer"),
    "pm_": ("payment_methods", "PaymentMethod"),
    "seti_": ("setup_intents", "setup_intent"),
    "pi_": ("intents", "payment_intent"),
    "cs_": ("sessions", "checkout.session"),
}


def decode_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``metadata[reference]=x``, ``expand[0]=y``) as nested values."""
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        parts = re.findall(r"[^\[\]]+", raw_key) or [raw_key]
        node = root
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value
    result = _as_lists(root)
    assert isinstance(result, dict)
    return result


def _as_lists(value: Any) -> Any:
    """``{"0": a, "1": b}`` (indexed keys) as ``[a, b]``, all the way down."""
    if not isinstance(value, dict):
        return value
    items = {key: _as_lists(item) for key, item in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def error(status: int, kind: str, message: str, **more: Any) -> Response:
    return json_response(status, {"error": {"type": kind, "message": message, **more}})


def missing(ident: str, param: str) -> Response:
    kind = next((name for prefix, (_, name) in KINDS.items() if ident.startswith(prefix)), "object")
    status = 404 if param == "id" else 400
    message = f"No such {kind}: '{ident}'"
    return error(status, "invalid_request_error", message, code="resource_missing", param=param)


def customer_known(account: Account, customer: str) -> bool:
    return customer in account.stripe.customers or not account.known_customers_only


def method_object(ident: str, data: EnteredCardData, customer: str | None) -> Object:
    card = {
        "brand": data.card.brand,
        "last4": data.card.last4,
        "exp_month": data.exp_month,
        "exp_year": data.exp_year,
        "funding": "credit",
        "country": "US",
    }
    return {
        "id": ident,
        "object": "payment_method",
        "type": "card",
        "customer": customer,
        "card": card,
        "created": int(time.time()),
        "livemode": False,
    }


def refresh_session(session: Object) -> None:
    """A Checkout Session past its ``expires_at`` is expired."""
    if session["status"] == "open" and time.time() >= session["expires_at"]:
        session.update(status="expired", url=None)
