"""Min/max price, VAT per rate, minor units: lines, VAT breakdown and totals add up."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest

from tests.tariff.factories import (
    element,
    energy,
    flat,
    minutes,
    parking,
    reading,
    steady,
    tariff,
    trace,
    utc,
)
from voltlane.tariff import (
    ChargingState,
    IdleFee,
    LineKind,
    Price,
    PricedSession,
    TariffError,
    VatLine,
    minor_unit_exponent,
    price_session,
)

T0 = utc(2026, 11, 24, 10)
HOUR = T0 + minutes(60)


def rows(priced: PricedSession) -> list[tuple[LineKind, int, int]]:
    return [(x.kind, x.excl_vat, x.vat) for x in priced.lines]


def totals(priced: PricedSession) -> tuple[int, int, int]:
    return priced.total_excl_vat, priced.total_vat, priced.total_incl_vat


def test_max_price_caps_the_total_excl_vat() -> None:
    # 30 kWh x 0.50 = 15.00, capped at 10.00; VAT 19 % on 10.00 = 1.90.
    rates = tariff(
        element(energy("0.50", vat="19")), max_price=Price(Decimal("10.00"), Decimal("20.00"))
    )
    priced = price_session(rates, steady(T0, HOUR, 30000), end=HOUR)
    assert rows(priced) == [(LineKind.ENERGY, 1500, 285), (LineKind.MAX_PRICE, -500, -95)]
    assert priced.vat_breakdown == (VatLine(Decimal(19), 1000, 190),)
    assert totals(priced) == (1000, 190, 1190)
    assert priced.price_cap == LineKind.MAX_PRICE


def test_max_price_incl_vat_caps_the_gross_total() -> None:
    # 15.00 is cut to 11.00 excl. VAT, but 11.00 + 2.09 is still above 12.00 incl. VAT: the
    # largest net whose gross fits is 10.08 (+1.92 = 12.00); 10.09 + 1.92 = 12.01 would not.
    rates = tariff(
        element(energy("0.50", vat="19")), max_price=Price(Decimal("11.00"), Decimal("12.00"))
    )
    priced = price_session(rates, steady(T0, HOUR, 30000), end=HOUR)
    assert totals(priced) == (1008, 192, 1200)
    assert priced.price_cap == LineKind.MAX_PRICE


def test_min_price_raises_a_short_session() -> None:
    # 1 kWh x 0.30 = 0.30, raised to 2.00; VAT 20 % = 0.40, shared 6 / 34 by net amount.
    rates = tariff(
        element(energy("0.30", vat="20")), min_price=Price(Decimal("2.00"), Decimal("2.40"))
    )
    priced = price_session(rates, steady(T0, HOUR, 1000), end=HOUR)
    assert rows(priced) == [(LineKind.ENERGY, 30, 6), (LineKind.MIN_PRICE, 170, 34)]
    assert totals(priced) == (200, 40, 240)
    assert priced.price_cap == LineKind.MIN_PRICE


def test_min_price_incl_vat_raises_to_the_smallest_net_that_reaches_it() -> None:
    # 4.20 + 0.80 (19 %) = 5.00; 4.19 + 0.80 = 4.99 would fall short.
    rates = tariff(
        element(energy("0.30", vat="19")), min_price=Price(Decimal("0.00"), Decimal("5.00"))
    )
    priced = price_session(rates, steady(T0, HOUR, 1000), end=HOUR)
    assert totals(priced) == (420, 80, 500)


def test_min_price_of_a_session_that_cost_nothing_takes_the_tariffs_vat_rate() -> None:
    rates = tariff(element(energy("0.30", vat="19")), min_price=Price(Decimal("1.00")))
    priced = price_session(rates, trace(T0), end=HOUR)
    assert rows(priced) == [(LineKind.MIN_PRICE, 100, 19)]
    assert totals(priced) == (100, 19, 119)


def test_a_price_between_the_caps_is_left_alone() -> None:
    rates = tariff(
        element(energy("0.30", vat="19")),
        min_price=Price(Decimal("1.00")),
        max_price=Price(Decimal("50.00")),
    )
    priced = price_session(rates, steady(T0, HOUR, 10000), end=HOUR)
    assert rows(priced) == [(LineKind.ENERGY, 300, 57)]
    assert priced.price_cap is None


def test_idle_fee_is_outside_the_max_price() -> None:
    rates = tariff(
        element(energy("0.50")),
        max_price=Price(Decimal("10.00")),
        idle_fee=IdleFee(Decimal("0.10")),
    )
    stop = T0 + minutes(60)
    session = trace(T0, reading(stop, 30000), states=((stop, ChargingState.IDLE),))
    priced = price_session(rates, session, end=stop + minutes(30))
    assert rows(priced) == [
        (LineKind.ENERGY, 1500, 0),
        (LineKind.MAX_PRICE, -500, 0),
        (LineKind.IDLE_FEE, 300, 0),
    ]
    assert priced.total_excl_vat == 1300


def test_vat_per_component_at_different_rates() -> None:
    # Energy 3.00 at 19 % (0.57), parking 25 min x 1.20/h = 0.50 at 7 % (0.035 rounds up to
    # 0.04), session fee 0.50 without VAT.
    rates = tariff(element(energy("0.30", vat="19"), parking("1.20", vat="7"), flat("0.50")))
    stop = T0 + minutes(60)
    session = trace(T0, reading(stop, 10000), states=((stop, ChargingState.SUSPENDED_EV),))
    priced = price_session(rates, session, end=stop + minutes(25))
    assert [(x.kind, x.vat_rate, x.excl_vat, x.vat) for x in priced.lines] == [
        (LineKind.ENERGY, Decimal(19), 300, 57),
        (LineKind.PARKING_TIME, Decimal(7), 50, 4),
        (LineKind.FLAT, None, 50, 0),
    ]
    assert priced.vat_breakdown == (
        VatLine(Decimal(19), 300, 57),
        VatLine(Decimal(7), 50, 4),
        VatLine(None, 50, 0),
    )
    assert totals(priced) == (400, 61, 461)
    assert sum(x.incl_vat for x in priced.lines) == priced.total_incl_vat


def test_vat_is_rounded_once_per_rate_not_per_line() -> None:
    # Two lines of 0.02 at 19 %: per line 0.0038 would round to 0 each; on the rate's 0.04
    # it is 0.0076, so 0.01, given to the first line.
    rates = tariff(
        element(energy("0.20", vat="19"), end_time=time(11)),
        element(energy("0.10", vat="19")),
    )
    start = utc(2026, 11, 24, 9, 30)  # 10:30 in Berlin
    end = start + minutes(60)
    # 0.1 kWh x 0.20 before 11:00 and 0.2 kWh x 0.10 after: 0.02 each.
    session = trace(start, reading(start + minutes(30), 100), reading(end, 300))
    priced = price_session(rates, session, end=end)
    assert rows(priced) == [(LineKind.ENERGY, 2, 1), (LineKind.ENERGY, 2, 0)]
    assert priced.vat_breakdown == (VatLine(Decimal(19), 4, 1),)


def test_yen_has_no_minor_unit() -> None:
    # 12.345 kWh x 45 JPY = 555.525, 556 JPY; VAT 10 % = 55.6, 56 JPY.
    rates = tariff(element(energy("45", vat="10")), currency="JPY")
    priced = price_session(rates, steady(T0, HOUR, 12345), end=HOUR)
    assert totals(priced) == (556, 56, 612)


def test_dinar_has_three_decimals() -> None:
    # 10 kWh x 0.0125 KWD = 0.125 KWD = 125 fils.
    rates = tariff(element(energy("0.0125")), currency="KWD")
    priced = price_session(rates, steady(T0, HOUR, 10000), end=HOUR)
    assert priced.total_excl_vat == 125


@pytest.mark.parametrize(("currency", "exponent"), [("EUR", 2), ("GBP", 2), ("JPY", 0)])
def test_minor_unit_exponents(currency: str, exponent: int) -> None:
    assert minor_unit_exponent(currency) == exponent


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(TariffError) as raised:
        tariff(element(energy("0.30")), currency="XYZ")
    assert (raised.value.field, raised.value.detail) == (
        "currency",
        "currency: unknown currency 'XYZ'",
    )
