"""What the app shows of a charging point, a charge request, its live session and receipt:
plain data, so templates never query."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from voltlane.models.tenant import ChargeRequest


@dataclass(frozen=True, slots=True)
class ConnectorInfo:
    pk: uuid.UUID
    connector_id: int
    standard: str  # OCPI ConnectorType, e.g. IEC_62196_T2
    format: str  # SOCKET | CABLE
    power_type: str  # AC_3_PHASE, DC, ...
    max_power_w: int | None
    status: str  # the last OCPP status the charger reported


@dataclass(frozen=True, slots=True)
class EvseInfo:
    """A charging point as the driver finds it: where, which plugs, how fast."""

    pk: uuid.UUID
    evse_id: int  # OCPP evseId (1.6: connectorId)
    emi3_id: str | None
    station_pk: uuid.UUID
    station_id: str
    protocol: str | None  # None until the charger first connected
    location_id: uuid.UUID
    location_name: str
    address: str
    city: str
    timezone: str
    connectors: tuple[ConnectorInfo, ...]

    @property
    def max_power_w(self) -> int | None:
        powers = [c.max_power_w for c in self.connectors if c.max_power_w is not None]
        return max(powers) if powers else None

    @property
    def status(self) -> str:
        """The charging point's status: its first connector's (one plug is used at a time)."""
        return self.connectors[0].status if self.connectors else "Unknown"


class Availability(enum.StrEnum):
    AVAILABLE = "available"  # a start may be asked for
    OFFLINE = "offline"  # the charger is not connected
    OUT_OF_ORDER = "out_of_order"  # Faulted or Unavailable


@dataclass(frozen=True, slots=True)
class PriceSummary:
    """The tariff a session started now would be priced by, in the driver's words."""

    parts: tuple[str, ...]  # "0,58 €/kWh", "0,42 € per session", ...
    vat: str | None  # "incl. 19 % VAT"
    segment: str  # the engine's segment, e.g. MEMBER or SUBSCRIPTION:plus


@dataclass(frozen=True, slots=True)
class EvseOffer:
    """Everything the charging point's page shows before the driver starts."""

    code: str
    evse: EvseInfo
    availability: Availability
    prices: PriceSummary | None  # None: no tariff in force here
    hold: int  # the pre-authorization, minor units of ``currency``
    currency: str


class PayWith(enum.StrEnum):
    """How a signed-in driver's charge is paid."""

    WALLET = "wallet"  # the prepaid balance covers the hold: no card is touched
    CARD = "card"  # the default saved card is held
    NEW_CARD = "new_card"  # a card entered on the PSP's hosted page, saved and held


@dataclass(frozen=True, slots=True)
class AccountPayment:
    pay_with: PayWith
    balance: int  # the wallet, minor units of the brand's currency
    card_label: str | None  # the default card ("Visa •••• 4242")


@dataclass(frozen=True, slots=True)
class Opened:
    """A new charge request and the secret of its link (shown once, kept only hashed)."""

    request: ChargeRequest
    secret: str


class Step(enum.StrEnum):
    """What the app does next for a request (see service.advance)."""

    CARD_PAGE = "card_page"  # send the driver to the PSP's hosted card page
    CARD_NOT_ENTERED = "card_not_entered"  # the hosted page was left without a card
    BANK_ACTION = "bank_action"  # 3-D Secure: send the driver to ``action_url``
    PSP_UNAVAILABLE = "psp_unavailable"  # no answer from the PSP: try again
    SHOW = "show"  # show the request as it stands (started, failed, ...)


@dataclass(frozen=True, slots=True)
class Progress:
    request: ChargeRequest
    step: Step
    action_url: str | None = None


@dataclass(frozen=True, slots=True)
class LiveFigures:
    """A running (or ended) session as the live screen shows it."""

    energy_kwh: Decimal | None
    power_kw: Decimal | None
    duration: timedelta | None
    cost: int | None  # incl. VAT, minor units of ``currency``; None: cannot be priced
    currency: str
    started_at: datetime | None
    stopped_at: datetime | None
    running: bool


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    kind: str  # ENERGY, TIME, PARKING_TIME, FLAT, IDLE_FEE
    quantity: Decimal | timedelta | None  # kWh, a duration, or None for a flat fee
    unit_price_excl_vat: Decimal
    incl_vat: int


@dataclass(frozen=True, slots=True)
class ReceiptView:
    """The ended session's CDR as the receipt screen shows it."""

    cdr_number: int
    energy_kwh: Decimal
    duration: timedelta
    lines: tuple[ReceiptLine, ...]
    total_excl_vat: int
    total_vat: int
    total_incl_vat: int
    currency: str
    document_id: uuid.UUID | None  # the receipt document, once issued
    document_number: str | None
    card_captured: int | None  # what the card was charged, once captured
    wallet_paid: int  # what the prepaid wallet paid


@dataclass(frozen=True, slots=True)
class ChargeView:
    """A request with everything its screen shows."""

    request: ChargeRequest
    code: str
    evse: EvseInfo
    figures: LiveFigures | None
    receipt: ReceiptView | None
    payment_status: str | None  # the hold's PaymentStatus value
    bank_url: str | None  # 3-D Secure: the bank's page, while the hold waits for it
    transaction_id: str | None
    guest: bool
