"""Payment service providers behind one protocol; each brand chooses Stripe or Adyen."""

from voltlane.billing.providers.base import (
    Authorization,
    CardEntry,
    Customer,
    EnteredCard,
    OperationResult,
    PaymentProvider,
    ProviderDeclinedError,
    ProviderError,
    ProviderUnavailableError,
    WebhookEvent,
    WebhookSignatureError,
)
from voltlane.billing.providers.registry import (
    PaymentsNotConfiguredError,
    provider_for,
    provider_named,
)

__all__ = [
    "Authorization",
    "CardEntry",
    "Customer",
    "EnteredCard",
    "OperationResult",
    "PaymentProvider",
    "PaymentsNotConfiguredError",
    "ProviderDeclinedError",
    "ProviderError",
    "ProviderUnavailableError",
    "WebhookEvent",
    "WebhookSignatureError",
    "provider_for",
    "provider_named",
]
