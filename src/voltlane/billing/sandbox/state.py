"""The objects a sandbox merchant account holds, as the PSPs' APIs show them (dicts), with
the sandbox's own notes beside them (which test card a payment method stands for)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from voltlane.billing.sandbox.cards import EnteredCardData

Object = dict[str, Any]


@dataclass(slots=True)
class StripeState:
    customers: dict[str, Object] = field(default_factory=dict)
    payment_methods: dict[str, Object] = field(default_factory=dict)
    setup_intents: dict[str, Object] = field(default_factory=dict)
    sessions: dict[str, Object] = field(default_factory=dict)  # Checkout Sessions
    intents: dict[str, Object] = field(default_factory=dict)  # PaymentIntents
    # payment method id -> the card entered for it
    cards: dict[str, EnteredCardData] = field(default_factory=dict)
    # PaymentIntents that asked for 3-D Secure (their confirmation page exists)
    challenged: set[str] = field(default_factory=set)
    # PaymentMethods detached from their customer: never usable again
    detached: set[str] = field(default_factory=set)


@dataclass(slots=True)
class StoredCard:
    """A token Adyen keeps for a shopper (``shopper`` None: any shopper may use it)."""

    id: str
    data: EnteredCardData
    shopper: str | None
    # The 3-D Secure action of a native (in-app) challenge, else a redirect to the sandbox.
    native_action: Object | None = None


@dataclass(slots=True)
class AdyenState:
    payments: dict[str, Object] = field(default_factory=dict)  # by pspReference
    links: dict[str, Object] = field(default_factory=dict)  # payment links by id
    stored: dict[str, StoredCard] = field(default_factory=dict)  # by storedPaymentMethodId
    # payments that asked for 3-D Secure (their confirmation page exists)
    challenged: set[str] = field(default_factory=set)
