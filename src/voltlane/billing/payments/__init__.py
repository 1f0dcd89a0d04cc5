"""Payments: pre-authorize at the start of a session, capture the CDR's total at its end,
charge what it cost above the hold (a shortfall) off-session, refund, and follow the PSP's
webhooks.

Every PSP call is preceded by a committed ``payment_operations`` row holding its
idempotency key. That is why the use cases that call a PSP take the ``Database`` and open
their own transactions instead of running in the caller's: the key must be durable BEFORE
the request leaves, so that a retry after a crash or a timeout-after-send finds it and sends
the same key (the PSP then answers with the first result instead of charging twice). The
call itself runs outside any transaction: no row lock or connection is held while waiting
on the network.
"""

from voltlane.billing.payments.calls import (
    CAPTURE_PAYMENT_TASK,
    PROCESS_WEBHOOK_TASK,
    STATUS_RANK,
    PaymentNotFoundError,
    PaymentStateError,
    advance,
)
from voltlane.billing.payments.charges import (
    attach_charge_session,
    pre_authorize_charge,
    release_charge,
)
from voltlane.billing.payments.sessions import (
    capture_cdr,
    get_payment,
    list_payments,
    pre_authorize_session,
    refund_credited,
    refund_payment,
)
from voltlane.billing.payments.shortfall_charges import charge_shortfall
from voltlane.billing.payments.shortfalls import (
    CHARGE_SHORTFALL_TASK,
    NO_STORED_CARD,
    open_shortfall,
    shortfalls_to_charge,
)
from voltlane.billing.payments.top_ups import CAPTURE_TOP_UP_TASK, capture_top_up, top_up_wallet
from voltlane.billing.payments.webhooks import process_webhook_event, record_webhook

__all__ = [
    "CAPTURE_PAYMENT_TASK",
    "CAPTURE_TOP_UP_TASK",
    "CHARGE_SHORTFALL_TASK",
    "NO_STORED_CARD",
    "PROCESS_WEBHOOK_TASK",
    "STATUS_RANK",
    "PaymentNotFoundError",
    "PaymentStateError",
    "advance",
    "attach_charge_session",
    "capture_cdr",
    "capture_top_up",
    "charge_shortfall",
    "get_payment",
    "list_payments",
    "open_shortfall",
    "pre_authorize_charge",
    "pre_authorize_session",
    "process_webhook_event",
    "record_webhook",
    "refund_credited",
    "refund_payment",
    "release_charge",
    "shortfalls_to_charge",
    "top_up_wallet",
]
