"""What the hosted pages need from a PSP's API: a card entry to fill in, a payment to
confirm (3-D Secure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from voltlane.billing.sandbox.cards import EnteredCardData


@dataclass(frozen=True, slots=True)
class Entry:
    """A Checkout Session (Stripe) or a payment link (Adyen) that stores a card."""

    reference: str
    status: Literal["open", "complete", "expired"]
    locale: str  # gettext's: de_DE
    merchant: str
    cancel_url: str | None
    # Stores the card on the entry's customer; returns where the browser goes next.
    store: Callable[[EnteredCardData], str]


@dataclass(frozen=True, slots=True)
class Challenge:
    """A payment waiting for the driver's 3-D Secure confirmation."""

    reference: str
    waiting: bool  # False: already confirmed or failed
    amount: int
    currency: str
    locale: str
    merchant: str
    # True: the bank confirmed (the payment is authorized), False: it refused.
    finish: Callable[[bool], None]
