"""Session-level rules: the FLAT fee, reservations, and traces the engine refuses."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.tariff.factories import (
    BERLIN,
    berlin,
    charging_time,
    element,
    energy,
    flat,
    minutes,
    reading,
    steady,
    tariff,
    trace,
    utc,
)
from voltlane.tariff import (
    ChargingState,
    LineKind,
    MeterReading,
    PeriodKind,
    PricedSession,
    Reservation,
    SessionTrace,
    TariffError,
    price_session,
)

T0 = utc(2026, 11, 24, 10)
RESERVATION = ChargingState.RESERVATION


def amounts(priced: PricedSession) -> list[tuple[LineKind, Decimal, int]]:
    return [(x.kind, x.unit_price, x.excl_vat) for x in priced.lines]


def test_flat_fee_is_charged_once_from_the_first_element_that_applies() -> None:
    # Daytime session fee 1.00 (08:00-20:00), else 2.00: 19:30-20:30 pays 1.00 once.
    rates = tariff(
        element(flat("1.00"), start_time=time(8), end_time=time(20)),
        element(flat("2.00")),
        element(energy("0.30")),
    )
    start, end = berlin(2026, 11, 24, 19, 30), berlin(2026, 11, 24, 20, 30)
    priced = price_session(rates, steady(start, end, 1000), end=end)
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.30"), 30),
        (LineKind.FLAT, Decimal("1.00"), 100),
    ]


def test_a_session_of_no_time_still_pays_the_session_fee() -> None:
    priced = price_session(tariff(element(flat("0.99"), energy("0.30"))), trace(T0), end=T0)
    assert amounts(priced) == [(LineKind.FLAT, Decimal("0.99"), 99)]
    assert [(p.start_date_time, p.end_date_time) for p in priced.periods] == [(T0, T0)]


def test_free_of_charge_tariff_is_a_flat_zero() -> None:
    priced = price_session(
        tariff(element(flat("0.00"))), steady(T0, T0 + minutes(60), 5000), end=T0 + minutes(60)
    )
    assert amounts(priced) == [(LineKind.FLAT, Decimal("0.00"), 0)]
    assert priced.total_incl_vat == 0


RESERVABLE = tariff(
    element(charging_time("2.00"), flat("0.50"), reservation=Reservation.RESERVATION),
    element(charging_time("4.00"), reservation=Reservation.RESERVATION_EXPIRES),
    element(energy("0.30")),
    element(charging_time("5.00"), min_duration=3600),
    element(charging_time("1.00")),
)


def test_reservation_time_is_priced_only_by_reservation_elements() -> None:
    # Reserved 10:00-10:30 (0.5 h x 2.00 + 0.50 fee), then charging 10:30-11:30: 10 kWh x 0.30
    # and 1 h x 1.00; the 5.00 after an hour does not start, as duration counts from charging.
    plugged = T0 + minutes(30)
    session = trace(
        T0,
        reading(T0 + minutes(90), 10000),
        states=((T0, RESERVATION), (plugged, ChargingState.CHARGING)),
    )
    priced = price_session(RESERVABLE, session, end=T0 + minutes(90))
    assert amounts(priced) == [
        (LineKind.ENERGY, Decimal("0.30"), 300),
        (LineKind.TIME, Decimal("1.00"), 100),
        (LineKind.RESERVATION_TIME, Decimal("2.00"), 100),
        (LineKind.RESERVATION_FLAT, Decimal("0.50"), 50),
    ]
    assert [(p.kind, p.start_date_time) for p in priced.periods] == [
        (PeriodKind.RESERVATION, T0),
        (PeriodKind.CHARGING, plugged),
    ]
    assert priced.total_reservation_time == minutes(30)


def test_an_expired_reservation_uses_the_expiry_price() -> None:
    # Never plugged in: 0.5 h at the RESERVATION_EXPIRES price of 4.00; the RESERVATION
    # element still brings its FLAT fee.
    session = trace(T0, states=((T0, RESERVATION),))
    priced = price_session(RESERVABLE, session, end=T0 + minutes(30))
    assert amounts(priced) == [
        (LineKind.RESERVATION_TIME, Decimal("4.00"), 200),
        (LineKind.RESERVATION_FLAT, Decimal("0.50"), 50),
    ]


def test_the_result_is_in_utc_whatever_zone_the_trace_uses() -> None:
    start = datetime(2026, 11, 24, 11, tzinfo=BERLIN)
    priced = price_session(
        tariff(element(energy("0.30"))),
        steady(start, start + minutes(60), 1000),
        end=T0 + minutes(60),
    )
    assert (priced.start, priced.end) == (T0, T0 + minutes(60))
    assert priced.periods[0].start_date_time.tzinfo is UTC


def test_energy_going_backwards_is_refused() -> None:
    with pytest.raises(TariffError) as raised:
        trace(T0, reading(T0 + minutes(10), 500), reading(T0 + minutes(20), 400))
    assert raised.value.detail == "readings: energy goes backwards at 2026-11-24T10:20:00+00:00"


@pytest.mark.parametrize(
    ("build", "detail"),
    [
        (
            lambda: SessionTrace(datetime(2026, 11, 24, 10), ZoneInfo("UTC")),
            "start: must be timezone-aware",
        ),
        (
            lambda: trace(T0, reading(T0 - minutes(1), 0)),
            "readings[0].at: is before the session start",
        ),
        (
            lambda: trace(T0, reading(T0, 5)),
            "readings[0]: energy at the session start must be 0",
        ),
        (
            lambda: trace(T0, MeterReading(T0 + minutes(1), Decimal(-1))),
            "readings[0].energy_wh: must be a non-negative Decimal",
        ),
    ],
)
def test_unusable_traces_are_refused(build: Callable[[], object], detail: str) -> None:
    with pytest.raises(TariffError) as raised:
        build()
    assert raised.value.detail == detail


def test_an_end_before_the_start_is_refused() -> None:
    with pytest.raises(TariffError) as raised:
        price_session(tariff(element(energy("0.30"))), trace(T0), end=T0 - minutes(1))
    assert raised.value.detail == "end: must not be before the session start"
