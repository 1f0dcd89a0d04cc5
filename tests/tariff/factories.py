"""Builders for tariffs and session traces: one short line per element, reading or state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from voltlane.tariff import (
    ChargingState,
    Dimension,
    MeterReading,
    PriceComponent,
    SessionTrace,
    StateChange,
    Tariff,
    TariffElement,
    TariffRestrictions,
)

BERLIN = ZoneInfo("Europe/Berlin")


def component(
    dimension: Dimension, price: str, *, vat: str | None = None, step: int = 1
) -> PriceComponent:
    return PriceComponent(dimension, Decimal(price), None if vat is None else Decimal(vat), step)


def energy(price: str, *, vat: str | None = None, step: int = 1) -> PriceComponent:
    return component(Dimension.ENERGY, price, vat=vat, step=step)


def charging_time(price: str, *, vat: str | None = None, step: int = 1) -> PriceComponent:
    return component(Dimension.TIME, price, vat=vat, step=step)


def parking(price: str, *, vat: str | None = None, step: int = 1) -> PriceComponent:
    return component(Dimension.PARKING_TIME, price, vat=vat, step=step)


def flat(price: str, *, vat: str | None = None) -> PriceComponent:
    return component(Dimension.FLAT, price, vat=vat, step=0)


def element(*components: PriceComponent, **restrictions: Any) -> TariffElement:
    return TariffElement(components, TariffRestrictions(**restrictions) if restrictions else None)


def tariff(*elements: TariffElement, currency: str = "EUR", **fields: Any) -> Tariff:
    return Tariff(id="T1", currency=currency, elements=elements, **fields)


def berlin(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Berlin (the first one when DST repeats it), as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def reading(
    at: datetime, wh: str | int, *, power_w: int | None = None, current_a: int | None = None
) -> MeterReading:
    return MeterReading(
        at,
        Decimal(wh),
        None if power_w is None else Decimal(power_w),
        None if current_a is None else Decimal(current_a),
    )


def trace(
    start: datetime,
    *readings: MeterReading,
    states: tuple[tuple[datetime, ChargingState], ...] = (),
    tz: ZoneInfo = BERLIN,
) -> SessionTrace:
    return SessionTrace(start, tz, readings, tuple(StateChange(at, state) for at, state in states))


def steady(start: datetime, end: datetime, wh: str | int, **kw: Any) -> SessionTrace:
    """A session that delivers ``wh`` evenly from ``start`` to ``end`` (read at both ends)."""
    return trace(start, reading(start, 0), reading(end, wh), **kw)
