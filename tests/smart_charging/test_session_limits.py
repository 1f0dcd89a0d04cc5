"""An outside party's limit for a session: which period is in force when, and the amperes
per phase a site's pass caps the car at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from voltlane.smart_charging.session_limits import ExternalLimit, amperes, cap_a, in_force

D = Decimal
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
RELATIVE = ExternalLimit("W", ((0, D(11000)), (1800, D("7400.5"))), duration_s=3600)


def test_a_relative_limit_counts_from_the_start_of_the_session_until_its_duration() -> None:
    at = [START + timedelta(seconds=s) for s in (0, 1799, 1800, 3599, 3600)]
    assert [in_force(RELATIVE, START, now) for now in at] == [
        D(11000),
        D(11000),
        D("7400.5"),
        D("7400.5"),
        None,
    ]


def test_a_session_start_in_the_future_counts_as_now() -> None:
    assert in_force(RELATIVE, START + timedelta(hours=2), START) == D(11000)
    assert in_force(RELATIVE, None, START) == D(11000)


def test_an_absolute_limit_waits_for_its_start() -> None:
    limit = ExternalLimit("A", ((0, D(10)),), starts_at=START + timedelta(minutes=5))
    assert in_force(limit, START, START + timedelta(minutes=4)) is None
    assert in_force(limit, START, START + timedelta(minutes=5)) == D(10)


def test_watts_are_shared_over_the_phases_at_the_voltage_rounded_down() -> None:
    assert amperes(D(11000), "W", 3, 230) == D("15.9")
    assert amperes(D(6900), "W", 3, 230) == D(10)
    assert amperes(D(7400), "W", 1, 230) == D("32.1")
    assert amperes(D(6000), "W", 3, 400) == D(5)
    assert amperes(D("16.5"), "A", 3, 230) == D("16.5")


def test_the_cap_is_the_limit_in_force_in_amperes() -> None:
    assert cap_a(RELATIVE, START, START, phases=3, voltage_v=230) == D("15.9")
    assert cap_a(RELATIVE, START, START + timedelta(hours=1), phases=3, voltage_v=230) is None
    assert cap_a(None, START, START, phases=3, voltage_v=230) is None
