"""Tariffs and the ONE pricing engine: pure functions over Decimal (docs/tariffs.md)."""

from voltlane.tariff.engine import price_session
from voltlane.tariff.errors import TariffError
from voltlane.tariff.model import (
    DayOfWeek,
    Dimension,
    DisplayText,
    IdleFee,
    Price,
    PriceComponent,
    Reservation,
    Tariff,
    TariffElement,
    TariffRestrictions,
    TariffType,
)
from voltlane.tariff.ocpi import tariff_from_ocpi, tariff_to_ocpi
from voltlane.tariff.result import (
    CdrDimension,
    CdrDimensionType,
    ChargeLine,
    ChargingPeriod,
    Cost,
    LineKind,
    PeriodKind,
    PricedSession,
    VatLine,
)
from voltlane.tariff.rounding import minor_unit_exponent
from voltlane.tariff.sample import SampleSession, price_sample
from voltlane.tariff.selection import MEMBER, PUBLIC, Segment, SegmentKind, TariffSet, select_tariff
from voltlane.tariff.trace import ChargingState, MeterReading, SessionTrace, StateChange

__all__ = [
    "MEMBER",
    "PUBLIC",
    "CdrDimension",
    "CdrDimensionType",
    "ChargeLine",
    "ChargingPeriod",
    "ChargingState",
    "Cost",
    "DayOfWeek",
    "Dimension",
    "DisplayText",
    "IdleFee",
    "LineKind",
    "MeterReading",
    "PeriodKind",
    "Price",
    "PriceComponent",
    "PricedSession",
    "Reservation",
    "SampleSession",
    "Segment",
    "SegmentKind",
    "SessionTrace",
    "StateChange",
    "Tariff",
    "TariffElement",
    "TariffError",
    "TariffRestrictions",
    "TariffSet",
    "TariffType",
    "VatLine",
    "minor_unit_exponent",
    "price_sample",
    "price_session",
    "select_tariff",
    "tariff_from_ocpi",
    "tariff_to_ocpi",
]
