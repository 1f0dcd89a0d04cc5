"""Payment service providers behind one protocol; each brand chooses Stripe or Adyen."""

from voltlane.billing.providers.base import (
    Authorization,
    Customer,
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
    "Customer",
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
