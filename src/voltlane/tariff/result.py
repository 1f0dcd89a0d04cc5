"""The output of the engine, shaped after the OCPI 2.2.1 CDR: periods, costs, totals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum


class LineKind(StrEnum):
    """What a charge line bills."""

    ENERGY = "ENERGY"
    TIME = "TIME"
    PARKING_TIME = "PARKING_TIME"
    FLAT = "FLAT"
    RESERVATION_TIME = "RESERVATION_TIME"  # priced by TIME components of reservation elements
    RESERVATION_FLAT = "RESERVATION_FLAT"
    IDLE_FEE = "IDLE_FEE"
    MIN_PRICE = "MIN_PRICE"  # raise to the tariff's min_price
    MAX_PRICE = "MAX_PRICE"  # cut to the tariff's max_price


class PeriodKind(StrEnum):
    CHARGING = "CHARGING"
    PARKING = "PARKING"
    RESERVATION = "RESERVATION"


class CdrDimensionType(StrEnum):
    ENERGY = "ENERGY"  # kWh
    TIME = "TIME"  # hours
    PARKING_TIME = "PARKING_TIME"  # hours
    RESERVATION_TIME = "RESERVATION_TIME"  # hours
    MIN_POWER = "MIN_POWER"  # kW
    MAX_POWER = "MAX_POWER"
    MIN_CURRENT = "MIN_CURRENT"  # A
    MAX_CURRENT = "MAX_CURRENT"


@dataclass(frozen=True, slots=True)
class CdrDimension:
    type: CdrDimensionType
    volume: Decimal


@dataclass(frozen=True, slots=True)
class ChargingPeriod:
    """A stretch of the session priced by the same tariff elements."""

    start_date_time: datetime
    end_date_time: datetime
    kind: PeriodKind
    dimensions: tuple[CdrDimension, ...]
    elements: tuple[tuple[LineKind, int], ...]  # which tariff element (index) priced what


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """One unit price at one VAT rate: an invoice line.

    Quantities are in step units: Wh for ENERGY, seconds for the time kinds and the idle fee,
    1 for the others. ``unit_price`` is per kWh, per hour, per minute (idle fee), per session,
    or the amount itself (MIN_PRICE/MAX_PRICE).
    """

    kind: LineKind
    unit_price: Decimal
    vat_rate: Decimal | None
    quantity: Decimal  # measured
    billed_quantity: Decimal  # after step_size
    excl_vat: int  # minor units
    vat: int  # this line's share of its rate's VAT

    @property
    def incl_vat(self) -> int:
        return self.excl_vat + self.vat

    def with_vat(self, vat: int) -> ChargeLine:
        """This line with ``vat`` as its share of its rate's VAT (built directly:
        ``dataclasses.replace`` reads the fields anew on every call, once per line priced)."""
        return ChargeLine(
            self.kind,
            self.unit_price,
            self.vat_rate,
            self.quantity,
            self.billed_quantity,
            self.excl_vat,
            vat,
        )


@dataclass(frozen=True, slots=True)
class VatLine:
    rate: Decimal | None  # None: no VAT applies
    taxable: int
    vat: int


@dataclass(frozen=True, slots=True)
class Cost:
    excl_vat: int
    incl_vat: int


@dataclass(frozen=True, slots=True)
class PricedSession:
    """The price of a session up to ``end``: the live cost, or the CDR's when it has ended.

    Every amount is in integer minor units of ``currency``; the lines add up to the totals.
    """

    tariff_id: str
    currency: str
    start: datetime
    end: datetime
    periods: tuple[ChargingPeriod, ...]
    lines: tuple[ChargeLine, ...]
    vat_breakdown: tuple[VatLine, ...]
    total_energy_kwh: Decimal
    total_time: timedelta  # charging (TIME)
    total_parking_time: timedelta
    total_reservation_time: timedelta
    idle_time: timedelta  # plugged in after charging, beyond the grace, before step rounding
    price_cap: LineKind | None  # MIN_PRICE or MAX_PRICE when one changed the total
    total_excl_vat: int
    total_vat: int
    total_incl_vat: int
    # Energy not charged because a plan includes it (free_energy_wh), whole Wh rounded up.
    included_energy_wh: int = 0

    def cost(self, *kinds: LineKind) -> Cost:
        """The cost of the lines of ``kinds`` (an OCPI CDR's total_energy_cost and the like)."""
        chosen = [line for line in self.lines if line.kind in kinds]
        return Cost(sum(x.excl_vat for x in chosen), sum(x.incl_vat for x in chosen))
