"""The live cost at any moment is exactly the final price of a session that ends then."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest

from tests.tariff.factories import (
    berlin,
    charging_time,
    element,
    energy,
    flat,
    minutes,
    parking,
    reading,
    tariff,
    trace,
)
from voltlane.tariff import (
    ChargingState,
    IdleFee,
    LineKind,
    PeriodKind,
    Price,
    SessionTrace,
    price_session,
)

START = berlin(2026, 11, 24, 17, 10)
RATES = tariff(
    element(flat("0.50", vat="19")),
    element(energy("0.25", vat="19", step=100), end_time=time(18)),
    element(energy("0.40", vat="19", step=500), min_kwh=Decimal(20)),
    element(energy("0.35", vat="19", step=100), charging_time("0.60", vat="19", step=300)),
    element(parking("3.00", vat="19", step=60), min_duration=5400),
    max_price=Price(Decimal("25.00")),
    idle_fee=IdleFee(Decimal("0.20"), grace=600, vat=Decimal(19), cap=Decimal("6.00")),
)
# Readings every 10 minutes at 22 kW, full at 18:40, unplugged at 19:30.
FULL = trace(
    START,
    *(reading(START + minutes(m), int(22000 * m / 60), power_w=22000) for m in range(0, 100, 10)),
    states=((START + minutes(90), ChargingState.SUSPENDED_EV),),
)
END = START + minutes(140)


def up_to(session: SessionTrace, at: timedelta) -> SessionTrace:
    """What the platform had stored ``at`` after the start."""
    cut = session.start + at
    return trace(
        session.start,
        *(r for r in session.readings if r.at <= cut),
        states=tuple((c.at, c.state) for c in session.states if c.at <= cut),
    )


@pytest.mark.parametrize("elapsed", [minutes(m) for m in (0, 7, 30, 50, 61, 90, 95, 101, 140)])
def test_live_cost_equals_the_final_price_of_a_session_ending_then(elapsed: timedelta) -> None:
    now = START + elapsed
    assert price_session(RATES, FULL, end=now) == price_session(
        RATES, up_to(FULL, elapsed), end=now
    )


def test_live_cost_counts_no_energy_after_the_last_reading() -> None:
    # At 17:25 the last reading is 17:20 (3.666 kWh); nothing is assumed since.
    priced = price_session(RATES, FULL, end=START + minutes(15))
    assert priced.total_energy_kwh == Decimal("3.666")


def test_final_price_of_the_whole_session() -> None:
    # Energy 17:10-18:00 at 0.25 (18.333 kWh: 4.58); from 18:00 at 0.35 until the 20th kWh
    # (1.667 kWh: 0.58), then at 0.40 (13 kWh: 5.20); 33 kWh is a multiple of the last step.
    # Time 90 min at 0.60/h (0.90); flat 0.50; parking from 90 min on: 50 min at 3.00/h (2.50);
    # idle 40 min after 10 min grace at 0.20 = 8.00, capped at 6.00. VAT 19 % on 20.26 = 3.85.
    priced = price_session(RATES, FULL, end=END)
    assert priced.total_energy_kwh == Decimal(33)
    assert [(x.kind, x.unit_price, x.quantity, x.excl_vat) for x in priced.lines] == [
        (LineKind.ENERGY, Decimal("0.25"), Decimal(18333), 458),
        (LineKind.ENERGY, Decimal("0.35"), Decimal(1667), 58),
        (LineKind.ENERGY, Decimal("0.40"), Decimal(13000), 520),
        (LineKind.TIME, Decimal("0.60"), Decimal(5400), 90),
        (LineKind.PARKING_TIME, Decimal("3.00"), Decimal(3000), 250),
        (LineKind.FLAT, Decimal("0.50"), Decimal(1), 50),
        (LineKind.IDLE_FEE, Decimal("0.20"), Decimal(2400), 600),
    ]
    assert (priced.total_excl_vat, priced.total_vat, priced.total_incl_vat) == (2026, 385, 2411)
    assert sum(x.incl_vat for x in priced.lines) == priced.total_incl_vat
    assert [(p.kind, p.start_date_time, dict(p.elements)) for p in priced.periods] == [
        (
            PeriodKind.CHARGING,
            START,
            {LineKind.ENERGY: 1, LineKind.TIME: 3, LineKind.FLAT: 0},
        ),
        (PeriodKind.CHARGING, berlin(2026, 11, 24, 18), {LineKind.ENERGY: 3, LineKind.TIME: 3}),
        # 20 kWh reached 272.757023 s after 18:00 (1667 of 3667 Wh in 600 s, rounded up)
        (
            PeriodKind.CHARGING,
            berlin(2026, 11, 24, 18) + timedelta(seconds=272, microseconds=757023),
            {LineKind.ENERGY: 2, LineKind.TIME: 3},
        ),
        (
            PeriodKind.PARKING,
            START + minutes(90),
            {LineKind.ENERGY: 2, LineKind.PARKING_TIME: 4},
        ),
    ]
