"""Money in the driver's account: saved cards, the subscription plan, the prepaid wallet
and loyalty points (docs/driver-app.md, "Money in the account")."""

from voltlane.pwa.wallet.loyalty import LoyaltyController
from voltlane.pwa.wallet.payment_methods import PaymentMethodsController
from voltlane.pwa.wallet.subscription import SubscriptionController
from voltlane.pwa.wallet.wallet import WalletController

MONEY_CONTROLLERS = (
    PaymentMethodsController,
    SubscriptionController,
    WalletController,
    LoyaltyController,
)

__all__ = [
    "MONEY_CONTROLLERS",
    "LoyaltyController",
    "PaymentMethodsController",
    "SubscriptionController",
    "WalletController",
]
