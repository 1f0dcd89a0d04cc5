"""Parking time (plugged in, not charging) and the idle fee after the grace period."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.tariff.factories import (
    charging_time,
    element,
    energy,
    minutes,
    parking,
    reading,
    tariff,
    trace,
    utc,
)
from voltlane.tariff import ChargingState, IdleFee, LineKind, PeriodKind, price_session

T0 = utc(2026, 11, 24, 10)
SUSPENDED_EV, IDLE, CHARGING = (
    ChargingState.SUSPENDED_EV,
    ChargingState.IDLE,
    ChargingState.CHARGING,
)
# Energy 0.30/kWh, parking 2.40/h by the minute, idle fee 0.10/min after 15 minutes.
WITH_IDLE_FEE = tariff(
    element(energy("0.30"), parking("2.40", step=60)),
    idle_fee=IdleFee(Decimal("0.10"), grace=900),
)


def test_paused_at_80_percent_bills_parking_and_the_idle_fee_after_grace() -> None:
    # 24 kWh by 10:40, when the EV stops at 80 %; unplugged at 11:40.
    # Energy 7.20, parking 60 min = 2.40, idle fee 45 min = 4.50.
    stop = T0 + minutes(40)
    session = trace(T0, reading(stop, 24000), states=((stop, SUSPENDED_EV),))
    priced = price_session(WITH_IDLE_FEE, session, end=T0 + minutes(100))
    assert [(x.kind, x.quantity, x.billed_quantity, x.excl_vat) for x in priced.lines] == [
        (LineKind.ENERGY, Decimal(24000), Decimal(24000), 720),
        (LineKind.PARKING_TIME, Decimal(3600), Decimal(3600), 240),
        (LineKind.IDLE_FEE, Decimal(2700), Decimal(2700), 450),
    ]
    assert [(p.kind, p.start_date_time) for p in priced.periods] == [
        (PeriodKind.CHARGING, T0),
        (PeriodKind.PARKING, stop),
    ]
    assert (priced.total_time, priced.total_parking_time, priced.idle_time) == (
        minutes(40),
        minutes(60),
        minutes(45),
    )
    assert priced.total_excl_vat == 1410


@pytest.mark.parametrize(
    ("parked", "idle_line", "parking_cents"),
    [
        # exactly the grace: no idle fee; 15 min parking at 2.40/h
        (timedelta(seconds=900), None, 60),
        # 1 s over: one (started) minute of idle fee; parking rounds up to 16 min
        (timedelta(seconds=901), (Decimal(1), Decimal(60), 10), 64),
    ],
)
def test_idle_fee_grace_boundary(
    parked: timedelta, idle_line: tuple[Decimal, Decimal, int] | None, parking_cents: int
) -> None:
    stop = T0 + minutes(30)
    session = trace(T0, reading(stop, 10000), states=((stop, IDLE),))
    priced = price_session(WITH_IDLE_FEE, session, end=stop + parked)
    idle = [
        (x.quantity, x.billed_quantity, x.excl_vat)
        for x in priced.lines
        if x.kind == LineKind.IDLE_FEE
    ]
    assert idle == ([] if idle_line is None else [idle_line])
    assert priced.cost(LineKind.PARKING_TIME).excl_vat == parking_cents


def test_idle_fee_is_capped() -> None:
    capped = tariff(
        element(energy("0.30")),
        idle_fee=IdleFee(Decimal("0.10"), grace=900, cap=Decimal("2.00")),
    )
    stop = T0 + minutes(30)
    session = trace(T0, reading(stop, 10000), states=((stop, SUSPENDED_EV),))
    priced = price_session(capped, session, end=stop + minutes(60))  # 45 min: 4.50 uncapped
    assert priced.cost(LineKind.IDLE_FEE).excl_vat == 200
    assert priced.total_excl_vat == 300 + 200


def test_idle_fee_counts_only_after_charging_and_grace_restarts_per_stretch() -> None:
    # Waiting for a timer 10:00-10:30 is parking, not idle. Then charging 10:30-11:00,
    # full 11:00-11:20 (5 min over grace), balancing 11:20-11:30, idle 11:30-11:50 (5 min).
    session = trace(
        T0,
        reading(T0 + minutes(60), 10000),
        states=(
            (T0, SUSPENDED_EV),
            (T0 + minutes(30), CHARGING),
            (T0 + minutes(60), SUSPENDED_EV),
            (T0 + minutes(80), CHARGING),
            (T0 + minutes(90), IDLE),
        ),
    )
    priced = price_session(WITH_IDLE_FEE, session, end=T0 + minutes(110))
    assert priced.total_parking_time == minutes(70)
    assert priced.idle_time == minutes(10)
    assert priced.cost(LineKind.IDLE_FEE).excl_vat == 100
    assert priced.cost(LineKind.PARKING_TIME).excl_vat == 280  # 70 min at 2.40/h


def test_suspended_by_the_evse_is_charging_time_not_parking() -> None:
    # Load management holds the EV back for 30 of 60 minutes: all TIME, no parking, no idle.
    rates = tariff(
        element(charging_time("1.20"), parking("6.00")),
        idle_fee=IdleFee(Decimal("0.10")),
    )
    session = trace(
        T0,
        states=(
            (T0 + minutes(15), ChargingState.SUSPENDED_EVSE),
            (T0 + minutes(45), CHARGING),
        ),
    )
    priced = price_session(rates, session, end=T0 + minutes(60))
    assert [(x.kind, x.excl_vat) for x in priced.lines] == [(LineKind.TIME, 120)]
    assert (priced.total_time, priced.total_parking_time) == (minutes(60), timedelta(0))
    assert [p.kind for p in priced.periods] == [PeriodKind.CHARGING]
