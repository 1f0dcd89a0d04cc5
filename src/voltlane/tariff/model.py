"""The tariff model: OCPI 2.2.1 Tariff (module 11) plus the idle fee operators need.

Every value validates itself on construction and raises ``TariffError`` naming the field, so a
tariff built by the portal and one received over OCPI obey the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

from voltlane.tariff.errors import TariffError
from voltlane.tariff.rounding import minor_unit_exponent


class Dimension(StrEnum):
    """OCPI TariffDimensionType: what a price component is a price of."""

    ENERGY = "ENERGY"  # per kWh, step_size in Wh
    FLAT = "FLAT"  # per session, no step_size
    PARKING_TIME = "PARKING_TIME"  # per hour plugged in and not charging, step_size in s
    TIME = "TIME"  # per hour charging (or reserved), step_size in s


class DayOfWeek(StrEnum):
    MONDAY = "MONDAY"
    TUESDAY = "TUESDAY"
    WEDNESDAY = "WEDNESDAY"
    THURSDAY = "THURSDAY"
    FRIDAY = "FRIDAY"
    SATURDAY = "SATURDAY"
    SUNDAY = "SUNDAY"


WEEKDAYS = tuple(DayOfWeek)  # index = date.weekday()


class Reservation(StrEnum):
    """OCPI ReservationRestrictionType."""

    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


class TariffType(StrEnum):
    AD_HOC_PAYMENT = "AD_HOC_PAYMENT"
    PROFILE_CHEAP = "PROFILE_CHEAP"
    PROFILE_FAST = "PROFILE_FAST"
    PROFILE_GREEN = "PROFILE_GREEN"
    REGULAR = "REGULAR"


def _amount(value: object, field: str, *, upper: Decimal | None = None) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TariffError("must be a finite Decimal", field=field)
    if value < 0:
        raise TariffError("must not be negative", field=field)
    if upper is not None and value > upper:
        raise TariffError(f"must be at most {upper}", field=field)


def _count(value: object, field: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TariffError("must be an integer", field=field)
    if value < 0:
        raise TariffError("must not be negative", field=field)


def _aware(value: datetime | None, field: str) -> None:
    if value is not None and value.utcoffset() is None:
        raise TariffError("must be timezone-aware", field=field)


@dataclass(frozen=True, slots=True)
class PriceComponent:
    dimension: Dimension
    price: Decimal  # per kWh / per hour / per session, excl. VAT
    vat: Decimal | None = None  # percent; None means no VAT applies (unlike 0)
    step_size: int = 1  # Wh for ENERGY, seconds for TIME and PARKING_TIME; FLAT ignores it

    def __post_init__(self) -> None:
        if not isinstance(self.dimension, Dimension):
            raise TariffError("unknown dimension", field="type")
        _amount(self.price, "price")
        if self.vat is not None:
            _amount(self.vat, "vat", upper=Decimal(100))
        _count(self.step_size, "step_size")


@dataclass(frozen=True, slots=True)
class TariffRestrictions:
    """When an element applies; all set conditions must hold (local time of the location).

    Lower bounds are inclusive and upper bounds exclusive, for every pair.
    """

    start_time: time | None = None  # end_time before start_time: a window over midnight
    end_time: time | None = None
    start_date: date | None = None
    end_date: date | None = None  # exclusive
    min_kwh: Decimal | None = None  # energy already delivered in the session
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None  # A, sum over phases
    max_current: Decimal | None = None
    min_power: Decimal | None = None  # kW
    max_power: Decimal | None = None
    min_duration: int | None = None  # seconds since charging started
    max_duration: int | None = None
    day_of_week: tuple[DayOfWeek, ...] = ()
    reservation: Reservation | None = None

    def __post_init__(self) -> None:
        for low, high in (
            ("min_kwh", "max_kwh"),
            ("min_current", "max_current"),
            ("min_power", "max_power"),
        ):
            for name in (low, high):
                if getattr(self, name) is not None:
                    _amount(getattr(self, name), name)
            self._ordered(low, high)
        for name in ("min_duration", "max_duration"):
            if getattr(self, name) is not None:
                _count(getattr(self, name), name)
        self._ordered("min_duration", "max_duration")
        self._ordered("start_date", "end_date")
        if any(not isinstance(day, DayOfWeek) for day in self.day_of_week):
            raise TariffError("unknown day", field="day_of_week")

    def _ordered(self, low: str, high: str) -> None:
        lower, upper = getattr(self, low), getattr(self, high)
        if lower is not None and upper is not None and lower >= upper:
            raise TariffError(f"must be after {low}", field=high)


@dataclass(frozen=True, slots=True)
class TariffElement:
    price_components: tuple[PriceComponent, ...]
    restrictions: TariffRestrictions | None = None

    def __post_init__(self) -> None:
        if not self.price_components:
            raise TariffError("needs at least one price component", field="price_components")
        reserved = self.restrictions is not None and self.restrictions.reservation is not None
        if reserved and any(
            c.dimension not in (Dimension.FLAT, Dimension.TIME) for c in self.price_components
        ):
            # OCPI 2.2.1: a reservation can only have FLAT and TIME dimensions.
            raise TariffError(
                "a reservation element prices only FLAT and TIME", field="restrictions"
            )

    def component(self, dimension: Dimension) -> PriceComponent | None:
        return next((c for c in self.price_components if c.dimension == dimension), None)


@dataclass(frozen=True, slots=True)
class Price:
    """OCPI Price: an amount in currency units, excl. and optionally incl. VAT."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None

    def __post_init__(self) -> None:
        _amount(self.excl_vat, "excl_vat")
        if self.incl_vat is not None:
            _amount(self.incl_vat, "incl_vat")
            if self.incl_vat < self.excl_vat:
                raise TariffError("must not be below excl_vat", field="incl_vat")


@dataclass(frozen=True, slots=True)
class IdleFee:
    """Voltlane's blocking fee: once charging has stopped and the EV stays plugged in.

    Counted per stretch of plugged-in-not-charging time that follows charging, minus the grace
    of each stretch; the total is rounded up to ``step_size`` seconds and capped at ``cap``.
    """

    price_per_minute: Decimal  # excl. VAT
    grace: int = 0  # seconds
    step_size: int = 60  # seconds
    cap: Decimal | None = None  # currency units, excl. VAT
    vat: Decimal | None = None

    def __post_init__(self) -> None:
        _amount(self.price_per_minute, "price_per_minute")
        _count(self.grace, "grace")
        _count(self.step_size, "step_size")
        if self.cap is not None:
            _amount(self.cap, "cap")
        if self.vat is not None:
            _amount(self.vat, "vat", upper=Decimal(100))


@dataclass(frozen=True, slots=True)
class DisplayText:
    language: str
    text: str


@dataclass(frozen=True, slots=True)
class Tariff:
    id: str
    currency: str  # ISO 4217
    elements: tuple[TariffElement, ...]
    min_price: Price | None = None
    max_price: Price | None = None
    start_date_time: datetime | None = None  # this version is in force from (inclusive)
    end_date_time: datetime | None = None  # until (exclusive)
    idle_fee: IdleFee | None = None  # not part of OCPI: never published in the OCPI shape
    country_code: str | None = None
    party_id: str | None = None
    tariff_type: TariffType | None = None
    tariff_alt_text: tuple[DisplayText, ...] = ()
    tariff_alt_url: str | None = None
    last_updated: datetime | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise TariffError("must not be empty", field="id")
        minor_unit_exponent(self.currency)
        if not self.elements:
            raise TariffError("needs at least one element", field="elements")
        low, high = self.min_price, self.max_price
        if low is not None and high is not None:
            if low.excl_vat > high.excl_vat:
                raise TariffError("must not be above max_price", field="min_price")
            low_incl, high_incl = low.incl_vat, high.incl_vat
            if low_incl is not None and high_incl is not None and low_incl > high_incl:
                raise TariffError("must not be above max_price", field="min_price")
        for name in ("start_date_time", "end_date_time", "last_updated"):
            _aware(getattr(self, name), name)
        start, end = self.start_date_time, self.end_date_time
        if start is not None and end is not None and end <= start:
            raise TariffError("must be after start_date_time", field="end_date_time")

    def in_force(self, at: datetime) -> bool:
        """Whether this version prices a session that starts at ``at``."""
        start, end = self.start_date_time, self.end_date_time
        return (start is None or start <= at) and (end is None or at < end)
