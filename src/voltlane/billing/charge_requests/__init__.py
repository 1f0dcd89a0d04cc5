"""Charging started from the driver app: a charging point found by its printed code, who
pays (a guest's card on the PSP's hosted page, an account's saved card or prepaid wallet),
the hold, the remote start, the live session, the stop and the receipt."""

from voltlane.billing.charge_requests.codes import (
    CHARGE_PATH,
    charge_path,
    charge_url,
    evse_code,
    read_code,
)
from voltlane.billing.charge_requests.holds import advance
from voltlane.billing.charge_requests.offers import (
    UnknownEvseCodeError,
    availability,
    evse_offer,
    find_evse,
    get_evse,
    hold_amount,
)
from voltlane.billing.charge_requests.schemas import (
    AccountPayment,
    Availability,
    ChargeView,
    EvseInfo,
    EvseOffer,
    LiveFigures,
    Opened,
    PayWith,
    Progress,
    ReceiptView,
    Step,
)
from voltlane.billing.charge_requests.service import (
    ChargeRequestNotFoundError,
    InvalidChargeRequestError,
    account_payment,
    begin_card_entry,
    check_email,
    open_request,
    open_requests,
    secret_matches,
)
from voltlane.billing.charge_requests.sessions import (
    cancel,
    check_requests,
    fail,
    link_charge_session,
    link_session,
    stop,
)
from voltlane.billing.charge_requests.starts import START_DEADLINE_SECONDS, start
from voltlane.billing.charge_requests.views import charge_view, find_request, refreshed_request

__all__ = [
    "CHARGE_PATH",
    "START_DEADLINE_SECONDS",
    "AccountPayment",
    "Availability",
    "ChargeRequestNotFoundError",
    "ChargeView",
    "EvseInfo",
    "EvseOffer",
    "InvalidChargeRequestError",
    "LiveFigures",
    "Opened",
    "PayWith",
    "Progress",
    "ReceiptView",
    "Step",
    "UnknownEvseCodeError",
    "account_payment",
    "advance",
    "availability",
    "begin_card_entry",
    "cancel",
    "charge_path",
    "charge_url",
    "charge_view",
    "check_email",
    "check_requests",
    "evse_code",
    "evse_offer",
    "fail",
    "find_evse",
    "find_request",
    "get_evse",
    "hold_amount",
    "link_charge_session",
    "link_session",
    "open_request",
    "open_requests",
    "read_code",
    "refreshed_request",
    "secret_matches",
    "start",
    "stop",
]
