"""What every payment service provider (PSP) adapter offers, in Voltlane's own terms.

Adapters wrap a synchronous SDK: every call runs in a worker thread. Amounts are integer
minor units. Errors are split by what the caller can do about them:
``ProviderUnavailableError`` (no answer: the request may or may not have reached the PSP,
retry with the same idempotency key) and ``ProviderDeclinedError`` (the PSP answered no).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from voltlane.core.errors import VoltlaneError

# captured: an off-session charge (charge_stored) authorized and captured at once.
AuthorizationStatus = Literal["authorized", "captured", "requires_action", "declined"]


class ProviderError(VoltlaneError):
    """A PSP call did not succeed."""

    status = 502
    title = "Payment provider error"


class ProviderUnavailableError(ProviderError):
    """Timeout, refused connection or a 5xx: the outcome of the call is unknown."""

    status = 503
    title = "Payment provider unavailable"


class ProviderDeclinedError(ProviderError):
    """The PSP refused the request (a 4xx answer): retrying the same request will not help."""

    status = 402
    title = "Payment declined"


class WebhookSignatureError(VoltlaneError):
    """A webhook whose signature does not match its raw body: nothing of it is used."""

    status = 400
    title = "Invalid webhook signature"


@dataclass(frozen=True, slots=True)
class Customer:
    reference: str


@dataclass(frozen=True, slots=True)
class Authorization:
    psp_reference: str
    status: AuthorizationStatus
    amount: int
    # requires_action: what the driver's app needs for the 3-D Secure challenge.
    action: dict[str, Any] | None = None
    # declined: the PSP's reason, safe to show to the operator.
    decline_reason: str | None = None


@dataclass(frozen=True, slots=True)
class OperationResult:
    """A capture, cancel or refund the PSP accepted (``reference`` of the modification)."""

    reference: str
    amount: int | None = None


@dataclass(frozen=True, slots=True)
class CardEntry:
    """A card-entry session on the PSP's hosted page: the driver's browser goes to
    ``redirect_url``; the card data never reaches Voltlane."""

    reference: str  # the PSP's id of this card-entry session
    redirect_url: str


@dataclass(frozen=True, slots=True)
class EnteredCard:
    """The card a driver stored through the hosted page: PSP references and what the driver
    recognises it by, never card data."""

    payment_method: str  # pm_... (Stripe) or the storedPaymentMethodId (Adyen)
    customer: str | None  # the PSP customer / shopperReference it is stored under
    label: str  # "Visa •••• 4242"
    expires: str | None  # "12/2030"


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """A verified notification. ``status`` is the PaymentStatus value it reports (None: not
    one Voltlane acts on); ``psp_reference`` is the payment's (not a modification's)."""

    event_id: str
    type: str
    psp_reference: str | None
    status: str | None
    amount: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class PaymentProvider(Protocol):
    """A PSP adapter; ``name`` is the value brands write in ``[payments] provider``."""

    name: str

    async def create_customer(
        self, *, email: str | None, reference: str, idempotency_key: str
    ) -> Customer: ...

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
        """Open the PSP's hosted page where the driver enters a card stored for later
        merchant-initiated charges (``reference``: Voltlane's own, ``locale``: e.g. de_DE)."""
        ...

    async def finish_card_entry(self, entry_reference: str) -> EnteredCard | None:
        """The card stored by the card entry; None while the driver has not completed it.

        Raises ProviderDeclinedError when the PSP reports it failed, expired or cancelled,
        ProviderUnavailableError when the PSP cannot be reached.
        """
        ...

    async def pre_authorize(
        self,
        *,
        amount: int,
        currency: str,
        customer: str | None,
        payment_method: str,
        reference: str,
        idempotency_key: str,
    ) -> Authorization: ...

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
        """Charge ``amount`` to a stored card without the driver (a merchant-initiated,
        off-session payment), captured at once: ``captured``, or ``declined`` with the
        PSP's reason (a card that wants 3-D Secure cannot be charged without its holder).
        Raises ProviderUnavailableError when the PSP cannot be reached."""
        ...

    async def capture(
        self, psp_reference: str, *, amount: int, currency: str, idempotency_key: str
    ) -> OperationResult: ...

    async def cancel(self, psp_reference: str, *, idempotency_key: str) -> OperationResult: ...

    async def refund(
        self, psp_reference: str, *, amount: int, currency: str, idempotency_key: str
    ) -> OperationResult: ...

    async def detach_payment_method(
        self, payment_method: str, *, customer: str | None, idempotency_key: str
    ) -> None:
        """Make a stored card unusable at the PSP for good (Stripe: detach the
        PaymentMethod from its customer; Adyen: delete the shopper's stored token).

        Raises ProviderDeclinedError when the PSP refuses, e.g. it holds no such card (any
        more), ProviderUnavailableError when the PSP cannot be reached.
        """
        ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> list[WebhookEvent]: ...
