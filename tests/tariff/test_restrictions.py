"""Restrictions: which element prices each part of a session, in the location's local time."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest

from tests.tariff.factories import (
    berlin,
    charging_time,
    element,
    energy,
    minutes,
    reading,
    steady,
    tariff,
    trace,
    utc,
)
from voltlane.tariff import (
    CdrDimension,
    CdrDimensionType,
    DayOfWeek,
    LineKind,
    PricedSession,
    SessionTrace,
    price_session,
)

T0 = utc(2026, 11, 24, 10)


def amounts(priced: PricedSession) -> list[tuple[LineKind, Decimal, Decimal, int]]:
    return [(x.kind, x.unit_price, x.quantity, x.excl_vat) for x in priced.lines]


def test_night_window_over_midnight_prices_only_the_night() -> None:
    # 21:30-06:30, 1 kWh per hour: 0.5 + 0.5 kWh by day at 0.40, 8 kWh at night at 0.20.
    rates = tariff(
        element(energy("0.20"), start_time=time(22), end_time=time(6)),
        element(energy("0.40")),
    )
    start, end = berlin(2026, 11, 24, 21, 30), berlin(2026, 11, 25, 6, 30)
    priced = price_session(rates, steady(start, end, 9000), end=end)
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.40"), Decimal(1000), 40),
        (LineKind.ENERGY, Decimal("0.20"), Decimal(8000), 160),
    ]
    assert [(p.start_date_time, dict(p.elements)) for p in priced.periods] == [
        (start, {LineKind.ENERGY: 1}),
        (berlin(2026, 11, 24, 22), {LineKind.ENERGY: 0}),
        (berlin(2026, 11, 25, 6), {LineKind.ENERGY: 1}),
    ]
    assert priced.total_excl_vat == 200


def test_price_change_at_18_while_charging_splits_the_energy_between_readings() -> None:
    # Readings 17:45 (9 kWh) and 18:15 (15 kWh): 12 kWh by 18:00 by interpolation.
    # 12 x 0.25 = 3.00 and 8 x 0.35 = 2.80.
    rates = tariff(element(energy("0.25"), end_time=time(18)), element(energy("0.35")))
    start = berlin(2026, 11, 24, 17)
    session = trace(
        start,
        reading(start + minutes(45), 9000),
        reading(start + minutes(75), 15000),
        reading(start + minutes(120), 20000),
    )
    priced = price_session(rates, session, end=start + minutes(120))
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.25"), Decimal(12000), 300),
        (LineKind.ENERGY, Decimal("0.35"), Decimal(8000), 280),
    ]
    assert priced.periods[1].start_date_time == berlin(2026, 11, 24, 18)


@pytest.mark.parametrize(
    "session",
    [
        steady(T0, T0 + minutes(60), 30000),  # interpolated
        trace(T0, reading(T0 + minutes(40), 20000), reading(T0 + minutes(60), 30000)),  # read
    ],
)
def test_first_20_kwh_at_one_price_then_another(session: SessionTrace) -> None:
    # 30 kWh evenly over an hour: the 20th kWh is reached at 10:40.
    rates = tariff(element(energy("0.30"), max_kwh=Decimal(20)), element(energy("0.40")))
    priced = price_session(rates, session, end=T0 + minutes(60))
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.30"), Decimal(20000), 600),
        (LineKind.ENERGY, Decimal("0.40"), Decimal(10000), 400),
    ]
    assert [p.start_date_time for p in priced.periods] == [T0, T0 + minutes(40)]


def test_a_kwh_threshold_between_readings_splits_the_energy_exactly() -> None:
    # 30 kWh over 3500 s: 20 kWh at 2333.333... s, a cut rounded up to the microsecond;
    # the energy on each side is still exactly 20 and 10 kWh.
    rates = tariff(
        element(energy("0.40"), min_kwh=Decimal(20)),
        element(energy("0.30")),
    )
    end = T0 + timedelta(seconds=3500)
    priced = price_session(rates, steady(T0, end, 30000), end=end)
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.30"), Decimal(20000), 600),
        (LineKind.ENERGY, Decimal("0.40"), Decimal(10000), 400),
    ]
    assert priced.periods[1].start_date_time == T0 + timedelta(seconds=2333, microseconds=333334)


def test_max_power_prices_fast_and_slow_charging_apart() -> None:
    # OCPI 2.2.1 max_power example: 1 kWh at 6 kW (0.20), 40 kWh at 48 kW (0.50),
    # 0.5 kWh at 4 kW (0.20): 20.30.
    rates = tariff(
        element(energy("0.20"), max_power=Decimal(16)),
        element(energy("0.35"), max_power=Decimal(32)),
        element(energy("0.50")),
    )
    session = trace(
        T0,
        reading(T0, 0, power_w=6000),
        reading(T0 + minutes(10), 1000, power_w=48000),
        reading(T0 + minutes(60), 41000, power_w=4000),
        reading(T0 + minutes(67.5), 41500),
    )
    priced = price_session(rates, session, end=T0 + minutes(67.5))
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.20"), Decimal(1500), 30),
        (LineKind.ENERGY, Decimal("0.50"), Decimal(40000), 2000),
    ]
    assert priced.total_excl_vat == 2030
    assert [dict(p.elements)[LineKind.ENERGY] for p in priced.periods] == [0, 2, 0]
    assert priced.periods[1].dimensions == (
        CdrDimension(CdrDimensionType.ENERGY, Decimal(40)),
        CdrDimension(CdrDimensionType.TIME, Decimal("0.833333")),
        CdrDimension(CdrDimensionType.MIN_POWER, Decimal(48)),
        CdrDimension(CdrDimensionType.MAX_POWER, Decimal(48)),
    )


def test_power_comes_from_the_energy_when_the_charger_reports_none() -> None:
    # 11 kWh in the first hour (11 kW: 0.20), 25 kWh in the next half hour (50 kW: 0.50).
    rates = tariff(element(energy("0.20"), max_power=Decimal(22)), element(energy("0.50")))
    session = trace(T0, reading(T0 + minutes(60), 11000), reading(T0 + minutes(90), 36000))
    priced = price_session(rates, session, end=T0 + minutes(90))
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.20"), Decimal(11000), 220),
        (LineKind.ENERGY, Decimal("0.50"), Decimal(25000), 1250),
    ]


def test_unknown_power_does_not_meet_a_power_restriction() -> None:
    # No reading at all: nothing says the power was below 50 kW.
    rates = tariff(
        element(charging_time("1.00"), max_power=Decimal(50)), element(charging_time("2.00"))
    )
    priced = price_session(rates, trace(T0), end=T0 + minutes(60))
    assert amounts(priced) == [(LineKind.TIME, Decimal("2.00"), Decimal(3600), 200)]


def test_max_current_restriction_follows_the_reported_current() -> None:
    # 16 A for the first half hour (below 32 A: 0.25), then 63 A (0.40); 5 kWh each.
    rates = tariff(element(energy("0.25"), max_current=Decimal(32)), element(energy("0.40")))
    session = trace(
        T0,
        reading(T0, 0, current_a=16),
        reading(T0 + minutes(30), 5000, current_a=63),
        reading(T0 + minutes(60), 10000, current_a=63),
    )
    priced = price_session(rates, session, end=T0 + minutes(60))
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.25"), Decimal(5000), 125),
        (LineKind.ENERGY, Decimal("0.40"), Decimal(5000), 200),
    ]


def test_after_two_hours_a_different_price() -> None:
    # max_duration is exclusive and min_duration inclusive: the switch is at 12:00 exactly.
    rates = tariff(
        element(charging_time("1.00"), max_duration=7200),
        element(charging_time("3.00"), min_duration=7200),
    )
    priced = price_session(rates, trace(T0), end=T0 + minutes(180))
    assert amounts(priced) == [
        (LineKind.TIME, Decimal("1.00"), Decimal(7200), 200),
        (LineKind.TIME, Decimal("3.00"), Decimal(3600), 300),
    ]
    assert priced.periods[1].start_date_time == T0 + minutes(120)


def test_weekend_price_starts_at_local_midnight_from_friday_to_saturday() -> None:
    # Friday 2026-11-27 23:00 to Saturday 01:00 in Berlin, 2 kWh per hour.
    rates = tariff(
        element(energy("0.25"), day_of_week=(DayOfWeek.SATURDAY, DayOfWeek.SUNDAY)),
        element(energy("0.35")),
    )
    start, end = berlin(2026, 11, 27, 23), berlin(2026, 11, 28, 1)
    priced = price_session(rates, steady(start, end, 4000), end=end)
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.35"), Decimal(2000), 70),
        (LineKind.ENERGY, Decimal("0.25"), Decimal(2000), 50),
    ]
    assert priced.periods[1].start_date_time == utc(2026, 11, 27, 23)


def test_start_and_end_date_with_the_end_date_excluded() -> None:
    # A promotion from 24 to 27 December (exclusive): 22:00-02:00 over the 26th/27th.
    rates = tariff(
        element(energy("0.20"), start_date=date(2026, 12, 24), end_date=date(2026, 12, 27)),
        element(energy("0.30")),
    )
    start, end = berlin(2026, 12, 26, 22), berlin(2026, 12, 27, 2)
    priced = price_session(rates, steady(start, end, 4000), end=end)
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.20"), Decimal(2000), 40),
        (LineKind.ENERGY, Decimal("0.30"), Decimal(2000), 60),
    ]


NIGHT_HOUR = tariff(
    element(charging_time("6.00"), start_time=time(2), end_time=time(3)),
    element(charging_time("1.00")),
)


def test_a_02_to_03_window_does_not_exist_on_the_spring_forward_night() -> None:
    # 2026-03-29 in Berlin: 01:00 CET to 04:00 CEST is two real hours, none in 02:00-03:00.
    start, end = utc(2026, 3, 29, 0), utc(2026, 3, 29, 2)
    priced = price_session(NIGHT_HOUR, trace(start), end=end)
    assert amounts(priced) == [(LineKind.TIME, Decimal("1.00"), Decimal(7200), 200)]


def test_a_02_to_03_window_lasts_two_hours_on_the_fall_back_night() -> None:
    # 2026-10-25 in Berlin: 01:00 CEST to 04:00 CET is four real hours; 02:00-03:00 happens
    # twice (CEST, then CET): 2 h at 6.00 and 2 h at 1.00.
    start, end = utc(2026, 10, 24, 23), utc(2026, 10, 25, 3)
    priced = price_session(NIGHT_HOUR, trace(start), end=end)
    assert amounts(priced) == [
        (LineKind.TIME, Decimal("1.00"), Decimal(7200), 200),
        (LineKind.TIME, Decimal("6.00"), Decimal(7200), 1200),
    ]
    assert [p.start_date_time for p in priced.periods] == [
        start,
        utc(2026, 10, 25, 0),
        utc(2026, 10, 25, 2),
    ]


def test_a_window_starting_at_a_skipped_wall_time_starts_at_the_jump() -> None:
    # 02:30-03:30 on 2026-03-29: 02:30 never happens; from the jump (03:00 CEST, 01:00 UTC)
    # the local time is past 02:30, so the window runs 01:00-01:30 UTC: 0.5 h at 6.00.
    rates = tariff(
        element(charging_time("6.00"), start_time=time(2, 30), end_time=time(3, 30)),
        element(charging_time("1.00")),
    )
    start, end = utc(2026, 3, 29, 0), utc(2026, 3, 29, 2)
    priced = price_session(rates, trace(start), end=end)
    assert amounts(priced) == [
        (LineKind.TIME, Decimal("1.00"), Decimal(5400), 150),
        (LineKind.TIME, Decimal("6.00"), Decimal(1800), 300),
    ]
    assert priced.periods[1].start_date_time == utc(2026, 3, 29, 1)


def test_the_first_matching_element_in_list_order_wins_per_dimension() -> None:
    # Element 0 has no ENERGY: energy falls through to element 1 while TIME stays on 0.
    rates = tariff(
        element(charging_time("1.00")),
        element(energy("0.30"), charging_time("9.00")),
    )
    priced = price_session(rates, steady(T0, T0 + minutes(60), 10000), end=T0 + minutes(60))
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.30"), Decimal(10000), 300),
        (LineKind.TIME, Decimal("1.00"), Decimal(3600), 100),
    ]
    assert dict(priced.periods[0].elements) == {LineKind.ENERGY: 1, LineKind.TIME: 0}
