"""The driver's account in the app: sign-up and sign-in (password or OpenID Connect), the
account's home, details, language, sessions with receipts, cards, deleting the account."""

from voltlane.pwa.account.cards import CardsController
from voltlane.pwa.account.delete import DeleteAccountController
from voltlane.pwa.account.history import HistoryController
from voltlane.pwa.account.oidc import OidcController
from voltlane.pwa.account.pages import AccountController
from voltlane.pwa.account.signin import AccountAuthController

# Registered in voltlane.pwa.routes.
ACCOUNT_CONTROLLERS = (
    AccountAuthController,
    AccountController,
    HistoryController,
    CardsController,
    DeleteAccountController,
    OidcController,
)

__all__ = ["ACCOUNT_CONTROLLERS"]
