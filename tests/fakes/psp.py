"""Stripe and Adyen for the real SDKs in tests: the platform's sandbox PSP
(voltlane.billing.sandbox) with one test merchant account, on a local port.

The sandbox keeps the PSPs' idempotency (a repeated key gets the first answer, the effect
happens once) and counts what tests check: ``requests_per_key``, ``captures``,
``captured_amounts``, ``refunds``, ``cancels``; ``slow`` (a timeout after the work is done)
and ``decline_next`` provoke failures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.fakes.webhooks import ADYEN_HMAC_KEY, STRIPE_WEBHOOK_SECRET
from voltlane.billing.sandbox import TEST_CARDS, Account, Sandbox, StoredCard
from voltlane.billing.sandbox import serve as serve_sandbox
from voltlane.billing.sandbox.cards import EnteredCardData

ADYEN_API_KEY = "adyen-test-key"
ADYEN_MERCHANT = "VoltlaneECOM"


class FakeStripe(Sandbox):
    """One Stripe account that any ``sk_test_`` key reaches. Stripe's test payment
    methods: pm_card_visa authorizes, pm_card_chargeDeclined is declined,
    pm_card_threeDSecure2Required needs 3-D Secure; cards entered on the hosted page
    behave as their test number says."""

    def __init__(self) -> None:
        super().__init__()
        self.account = self.add_account(
            Account(
                name="stripe-test",
                stripe_webhook_secret=STRIPE_WEBHOOK_SECRET,
                known_customers_only=False,  # tests name customers they never created
            )
        )

    def stripe_account(self, api_key: str) -> Account | None:
        return self.account if api_key.startswith("sk_test_") else None

    @property
    def intents(self) -> dict[str, dict[str, Any]]:
        return self.account.stripe.intents


class FakeAdyen(Sandbox):
    """One Adyen merchant account (key ``adyen-test-key``, merchant VoltlaneECOM) with three
    stored cards any shopper may use: card_ok authorizes, card_refused is refused, card_3ds
    asks for a native 3-D Secure challenge."""

    def __init__(self) -> None:
        super().__init__()
        self.account = self.add_account(
            Account(
                name="adyen-test",
                adyen_keys={ADYEN_API_KEY},
                merchant_account=ADYEN_MERCHANT,
                adyen_hmac_key=ADYEN_HMAC_KEY,
            )
        )
        native = {"type": "threeDS2", "paymentMethodType": "scheme", "token": "tok"}
        for ident, number, action in (
            ("card_ok", "4242424242424242", None),
            ("card_refused", "4000000000000002", None),
            ("card_3ds", "4000000000003220", native),
        ):
            data = EnteredCardData(TEST_CARDS[number], 3, 2030)
            self.account.adyen.stored[ident] = StoredCard(ident, data, None, action)

    @property
    def payments(self) -> dict[str, dict[str, Any]]:
        return self.account.adyen.payments


@contextmanager
def serve(fake: Sandbox) -> Iterator[str]:
    """Run ``fake`` on a local port (a thread per request: a slow answer does not block the
    next one); yields its base URL."""
    with serve_sandbox(fake) as url:
        yield url
