"""step_size: the billed total of a dimension rounds up to the last billed component's step."""

from __future__ import annotations

from datetime import time
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
    steady,
    tariff,
    trace,
    utc,
)
from voltlane.tariff import ChargingState, LineKind, price_session

T0 = utc(2026, 11, 24, 10)
PER_KWH_STEP = tariff(element(energy("0.30", step=1000)))


def test_energy_one_wh_over_a_step_bills_a_whole_step_more() -> None:
    # 10.001 kWh billed as 11 kWh: 11 x 0.30 = 3.30
    priced = price_session(PER_KWH_STEP, steady(T0, T0 + minutes(60), 10_001), end=T0 + minutes(60))
    (line,) = priced.lines
    assert (line.quantity, line.billed_quantity, line.excl_vat) == (
        Decimal(10_001),
        Decimal(11_000),
        330,
    )
    assert priced.total_incl_vat == 330


def test_energy_exactly_on_a_step_is_billed_as_measured() -> None:
    priced = price_session(PER_KWH_STEP, steady(T0, T0 + minutes(60), 10_000), end=T0 + minutes(60))
    (line,) = priced.lines
    assert (line.billed_quantity, line.excl_vat) == (Decimal(10_000), 300)


def test_no_energy_bills_nothing_even_with_a_step() -> None:
    priced = price_session(PER_KWH_STEP, steady(T0, T0 + minutes(60), 0), end=T0 + minutes(60))
    assert priced.lines == ()
    assert (priced.total_excl_vat, priced.total_incl_vat) == (0, 0)


@pytest.mark.parametrize(
    ("step", "billed_wh", "cents"),
    [
        (1, 116, 3),  # 0.116 kWh x 0.25 = 0.029
        (25, 125, 3),  # 0.03125
        (500, 500, 13),  # 0.125: an exact half cent rounds up
    ],
)
def test_ocpi_step_size_examples_for_115_2_wh(step: int, billed_wh: int, cents: int) -> None:
    priced = price_session(
        tariff(element(energy("0.25", step=step))),
        steady(T0, T0 + minutes(5), "115.2"),
        end=T0 + minutes(5),
    )
    (line,) = priced.lines
    assert (line.quantity, line.billed_quantity, line.excl_vat) == (
        Decimal("115.2"),
        Decimal(billed_wh),
        cents,
    )


# OCPI 2.2.1, "Example Tariff to explain the step_size when switching TariffElements".
OCPI_STEP_EXAMPLE = tariff(
    element(charging_time("1.20", step=1800), end_time=time(17)),
    element(charging_time("2.40", step=900), start_time=time(17)),
    element(parking("1.00", step=900), end_time=time(20)),
)


def test_ocpi_switching_example_2_bills_the_rounding_at_the_last_elements_price() -> None:
    # 16:35-17:10 charging: 25 min at 1.20/h = 0.50; total 35 min rounds up to 45 min with the
    # last step (15 min), so 10 + 10 min at 2.40/h = 0.80. 1.30 in all.
    start, end = berlin(2026, 11, 24, 16, 35), berlin(2026, 11, 24, 17, 10)
    priced = price_session(OCPI_STEP_EXAMPLE, trace(start), end=end)
    assert [(x.unit_price, x.quantity, x.billed_quantity, x.excl_vat) for x in priced.lines] == [
        (Decimal("1.20"), Decimal(1500), Decimal(1500), 50),
        (Decimal("2.40"), Decimal(600), Decimal(1200), 80),
    ]
    assert priced.total_excl_vat == 130


def test_ocpi_switching_example_1_does_not_bill_parking_inside_rounded_charging_time() -> None:
    # 16:55-17:05 charging, 17:05-17:07 parked. 5 min at 1.20/h = 0.10; 5 min after 17:00 rounds
    # the 10 min total up to 15 min: 10 min at 2.40/h = 0.40. The 2 parked minutes lie inside
    # the 5 minutes billed as charging, so they are not billed again. 0.50 in all.
    start = berlin(2026, 11, 24, 16, 55)
    session = trace(start, states=((start + minutes(10), ChargingState.SUSPENDED_EV),))
    priced = price_session(OCPI_STEP_EXAMPLE, session, end=start + minutes(12))
    assert [(x.kind, x.quantity, x.billed_quantity, x.excl_vat) for x in priced.lines] == [
        (LineKind.TIME, Decimal(300), Decimal(300), 10),
        (LineKind.TIME, Decimal(300), Decimal(600), 40),
        (LineKind.PARKING_TIME, Decimal(120), Decimal(0), 0),
    ]
    assert priced.total_excl_vat == 50


def test_parking_that_becomes_free_is_rounded_with_the_step_of_the_last_paid_element() -> None:
    # 19:30-19:58 charging 5 kWh (1.50), parked until 20:05. Parking is priced until 20:00
    # only: 2 min, rounded up to the 15-min step of that element = 0.25.
    start = berlin(2026, 11, 24, 19, 30)
    stop = berlin(2026, 11, 24, 19, 58)
    session = trace(
        start,
        reading(stop, 5000),
        states=((stop, ChargingState.SUSPENDED_EV),),
    )
    rates = tariff(element(energy("0.30")), element(parking("1.00", step=900), end_time=time(20)))
    priced = price_session(rates, session, end=berlin(2026, 11, 24, 20, 5))
    assert [(x.kind, x.quantity, x.billed_quantity, x.excl_vat) for x in priced.lines] == [
        (LineKind.ENERGY, Decimal(5000), Decimal(5000), 150),
        (LineKind.PARKING_TIME, Decimal(120), Decimal(900), 25),
    ]


def test_time_step_rounds_the_session_total_not_each_period() -> None:
    # Two 7-minute charging stretches around a pause: 14 min rounds up to 15 min once
    # (not 2 x 10 min): 15 min at 2.40/h = 0.60.
    rates = tariff(element(charging_time("2.40", step=300)))
    session = trace(
        T0,
        states=(
            (T0 + minutes(7), ChargingState.SUSPENDED_EV),
            (T0 + minutes(20), ChargingState.CHARGING),
        ),
    )
    priced = price_session(rates, session, end=T0 + minutes(27))
    (line,) = priced.lines
    assert (line.quantity, line.billed_quantity, line.excl_vat) == (
        Decimal(840),
        Decimal(900),
        60,
    )


def test_flat_ignores_step_size() -> None:
    priced = price_session(tariff(element(flat("1.50"))), trace(T0), end=T0 + minutes(1))
    (line,) = priced.lines
    assert (line.kind, line.quantity, line.billed_quantity, line.excl_vat) == (
        LineKind.FLAT,
        Decimal(1),
        Decimal(1),
        150,
    )
