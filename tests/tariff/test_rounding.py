"""The rounding rules, one by one (src/voltlane/tariff/rounding.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from voltlane.tariff.rounding import (
    US_PER_HOUR,
    US_PER_SECOND,
    allocate,
    ceil_to_step,
    energy_mwh,
    from_minor,
    hours,
    kwh_threshold_mwh,
    line_amount,
    to_minor,
    vat_amount,
)


def test_a_line_divides_last_so_an_exact_half_cent_rounds_up() -> None:
    # 10 min at 0.75/h is exactly 0.125; dividing the hours first would give 0.12499...
    assert line_amount(600 * US_PER_SECOND, Decimal("0.75"), US_PER_HOUR, "EUR") == 13


@pytest.mark.parametrize(
    ("quantity", "price", "currency", "minor"),
    [
        (1_000_000, "0.305", "EUR", 31),  # 1 kWh: 0.305 -> 0.31
        (1_000_000, "0.304999", "EUR", 30),
        (1_000_000, "0.5", "JPY", 1),  # half a yen rounds up
        (1_000_000, "0.0125", "KWD", 13),  # 12.5 fils
        (0, "0.30", "EUR", 0),
    ],
)
def test_line_amounts_round_half_up_to_the_minor_unit(
    quantity: int, price: str, currency: str, minor: int
) -> None:
    assert line_amount(quantity, Decimal(price), 1_000_000, currency) == minor


@pytest.mark.parametrize(
    ("net", "rate", "vat"),
    [(250, "19", 48), (50, "7", 4), (1000, "0", 0), (1000, None, 0), (12345, "20", 2469)],
)
def test_vat_rounds_half_up(net: int, rate: str | None, vat: int) -> None:
    # 2.50 x 19 % = 0.475 -> 0.48; 0.50 x 7 % = 0.035 -> 0.04; 123.45 x 20 % = 24.69.
    assert vat_amount(net, None if rate is None else Decimal(rate)) == vat


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),  # ties go to the first
        (190, [1500, -500], [285, -95]),  # a negative adjustment line
        (1, [2, 2], [1, 0]),
        (7, [0, 5], [0, 7]),
        (0, [0, 0], [0, 0]),
        (-10, [1, 2], [-3, -7]),
    ],
)
def test_allocation_adds_up_exactly(total: int, weights: list[int], parts: list[int]) -> None:
    assert allocate(total, weights) == parts
    assert sum(parts) == total


def test_allocating_a_total_over_nothing_is_a_bug() -> None:
    with pytest.raises(ValueError, match="cannot allocate"):
        allocate(5, [1, -1])


@pytest.mark.parametrize(
    ("quantity", "step", "rounded"),
    [(10_001, 1000, 11_000), (10_000, 1000, 10_000), (0, 1000, 0), (7, 0, 7), (1, 1, 1)],
)
def test_ceil_to_step(quantity: int, step: int, rounded: int) -> None:
    assert ceil_to_step(quantity, step) == rounded


def test_inputs_are_made_exact() -> None:
    assert energy_mwh(Decimal("115.2")) == 115_200
    assert energy_mwh(Decimal("0.0005")) == 1  # half a mWh rounds up
    assert kwh_threshold_mwh(Decimal(20)) == 20_000_000
    assert kwh_threshold_mwh(Decimal("0.0000001")) == 1  # the least whole mWh that meets it
    assert hours(20 * 60 * US_PER_SECOND) == Decimal("0.333333")


def test_minor_units_both_ways() -> None:
    assert to_minor(Decimal("12.345"), "EUR") == 1235
    assert to_minor(Decimal("1500"), "JPY") == 1500
    assert from_minor(1235, "EUR") == Decimal("12.35")
    assert from_minor(-95, "EUR") == Decimal("-0.95")
