"""Energy from register readings: deltas, offline starts, resets, impossible figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from voltlane.charging.energy import Reading, session_energy, to_wh

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def at(minutes: int, wh: str) -> Reading:
    return Reading(T0 + timedelta(minutes=minutes), Decimal(wh))


@pytest.mark.parametrize(
    ("value", "unit", "wh"),
    [
        ("7.5", "kWh", "7500.0"),
        ("7500", "Wh", "7500"),
        ("7500", None, "7500"),
        ("1", "MWh", "1000000"),
    ],
)
def test_to_wh(value: str, unit: str | None, wh: str) -> None:
    assert to_wh(Decimal(value), unit) == Decimal(wh)


def test_non_energy_units_are_not_read_as_energy() -> None:
    assert to_wh(Decimal(11), "kW") is None


def test_energy_is_the_last_reading_minus_the_start_in_any_order() -> None:
    readings = [at(30, "1007250"), at(0, "1000000"), at(15, "1003500"), at(15, "1003500")]
    result = session_energy(
        readings, meter_start_wh=Decimal(1_000_000), started_at=T0, max_power_w=22_000
    )
    assert (result.energy_wh, result.review) == (Decimal(7250), None)


def test_without_a_meter_start_the_first_reading_is_the_baseline() -> None:
    result = session_energy(
        [at(10, "500"), at(0, "200")], meter_start_wh=None, started_at=T0, max_power_w=None
    )
    assert result.energy_wh == Decimal(300)


def test_nothing_read_is_no_energy() -> None:
    assert (
        session_energy([], meter_start_wh=None, started_at=T0, max_power_w=None).energy_wh is None
    )
    assert session_energy(
        [], meter_start_wh=Decimal(5), started_at=T0, max_power_w=None
    ).energy_wh == Decimal(0)


def test_a_real_start_at_zero_stays_zero() -> None:
    # A new meter really at 0: 5.5 kWh in 30 minutes is possible at 22 kW.
    result = session_energy(
        [at(0, "0"), at(30, "5500")], meter_start_wh=Decimal(0), started_at=T0, max_power_w=22_000
    )
    assert (result.energy_wh, result.review) == (Decimal(5500), None)


def test_an_offline_start_of_zero_takes_the_first_register_reading() -> None:
    result = session_energy(
        [at(0, "0"), at(5, "123400000"), at(35, "123410000")],
        meter_start_wh=Decimal(0),
        started_at=T0,
        max_power_w=22_000,
    )
    assert result.energy_wh == Decimal(10_000)
    assert result.review == (
        "meter start 0 ignored: baseline is the first register reading "
        "(123400000 Wh at 2026-11-24T10:05:00+00:00)"
    )


def test_a_register_going_backwards_gives_no_energy() -> None:
    result = session_energy(
        [at(0, "9000"), at(20, "100")],
        meter_start_wh=Decimal(9000),
        started_at=T0,
        max_power_w=None,
    )
    assert (result.energy_wh, result.review) == (
        None,
        "register went backwards (9000 -> 100 Wh): energy unknown",
    )


def test_an_impossible_figure_is_kept_but_flagged() -> None:
    # 50 kWh in 10 minutes through an 11 kW EVSE cannot be right.
    result = session_energy(
        [at(0, "1000"), at(10, "51000")],
        meter_start_wh=Decimal(1000),
        started_at=T0,
        max_power_w=11_000,
    )
    assert result.energy_wh == Decimal(50_000)
    assert result.review == "50000 Wh exceeds what the EVSE can deliver in the time"
