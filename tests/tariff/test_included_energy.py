"""free_energy_wh: a plan's allowance left frees the session's first energy of the ENERGY
component; step_size rounds only what is still charged; TIME, FLAT and idle fees stay."""

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
    steady,
    tariff,
)
from voltlane.tariff import LineKind, PricedSession, TariffError, price_session

T0 = berlin(2026, 11, 24, 10, 30)
END = T0 + minutes(60)
# 0.20/kWh until 11:00 Berlin, then 0.40/kWh; 6.00/h charging; 1.00 a session; VAT 19 %.
TWO_PRICES = tariff(
    element(energy("0.20", vat="19"), end_time=time(11)),
    element(energy("0.40", vat="19"), charging_time("6.00", vat="19"), flat("1.00", vat="19")),
)
PER_KWH_STEP = tariff(element(energy("0.30", step=1000)))


def _energy_lines(priced: PricedSession) -> list[tuple[Decimal, Decimal, Decimal, int]]:
    return [
        (line.unit_price, line.quantity, line.billed_quantity, line.excl_vat)
        for line in priced.lines
        if line.kind is LineKind.ENERGY
    ]


def test_an_allowance_of_zero_prices_exactly_as_without_one() -> None:
    session = steady(T0, END, 10_000)
    assert price_session(TWO_PRICES, session, end=END, free_energy_wh=0) == price_session(
        TWO_PRICES, session, end=END
    )
    priced = price_session(TWO_PRICES, session, end=END)
    # 5 kWh x 0.20 + 5 kWh x 0.40 + 1 h x 6.00 + 1.00 = 10.00 net, 11.90 with 19 % VAT
    assert (priced.total_excl_vat, priced.total_incl_vat, priced.included_energy_wh) == (
        1000,
        1190,
        0,
    )


def test_an_allowance_larger_than_the_session_frees_all_its_energy_only() -> None:
    priced = price_session(TWO_PRICES, steady(T0, END, 10_000), end=END, free_energy_wh=50_000)
    assert _energy_lines(priced) == [
        (Decimal("0.20"), Decimal(5000), Decimal(0), 0),
        (Decimal("0.40"), Decimal(5000), Decimal(0), 0),
    ]
    # Time 6.00 and the flat 1.00 are still charged: 7.00 net, 8.33 with VAT.
    assert (priced.total_excl_vat, priced.total_vat, priced.total_incl_vat) == (700, 133, 833)
    assert priced.included_energy_wh == 10_000


def test_an_allowance_crossed_mid_session_frees_the_first_energy_across_two_prices() -> None:
    # 7 kWh free: all 5 kWh at 0.20 and the first 2 kWh at 0.40; 3 kWh x 0.40 = 1.20 charged.
    priced = price_session(TWO_PRICES, steady(T0, END, 10_000), end=END, free_energy_wh=7000)
    assert _energy_lines(priced) == [
        (Decimal("0.20"), Decimal(5000), Decimal(0), 0),
        (Decimal("0.40"), Decimal(5000), Decimal(3000), 120),
    ]
    # 1.20 + 6.00 + 1.00 = 8.20 net; VAT 1.558 -> 1.56: 9.76
    assert (priced.total_excl_vat, priced.total_vat, priced.total_incl_vat) == (820, 156, 976)
    assert priced.included_energy_wh == 7000


def test_an_allowance_within_the_first_price_frees_part_of_it() -> None:
    # 2 kWh free of the 0.20 part: 3 kWh x 0.20 + 5 kWh x 0.40 = 2.60 energy.
    priced = price_session(TWO_PRICES, steady(T0, END, 10_000), end=END, free_energy_wh=2000)
    assert _energy_lines(priced) == [
        (Decimal("0.20"), Decimal(5000), Decimal(3000), 60),
        (Decimal("0.40"), Decimal(5000), Decimal(5000), 200),
    ]
    assert priced.included_energy_wh == 2000


@pytest.mark.parametrize(
    ("free_wh", "billed_wh", "cents", "included_wh"),
    [
        (10_001, 0, 0, 10_001),  # exactly used up: nothing left to round
        (10_000, 1000, 30, 10_000),  # 1 Wh charged rounds up to a whole 1 kWh step
        (9_001, 1000, 30, 9_001),  # 1,000 Wh charged: on the step
        (9_000, 2000, 60, 9_000),  # 1,001 Wh charged: two steps
        (0, 11_000, 330, 0),
    ],
)
def test_step_size_rounds_only_the_energy_beyond_the_allowance(
    free_wh: int, billed_wh: int, cents: int, included_wh: int
) -> None:
    priced = price_session(PER_KWH_STEP, steady(T0, END, 10_001), end=END, free_energy_wh=free_wh)
    assert _energy_lines(priced) == [(Decimal("0.30"), Decimal(10_001), Decimal(billed_wh), cents)]
    assert (priced.total_incl_vat, priced.included_energy_wh) == (cents, included_wh)


def test_step_rounding_at_the_boundary_is_billed_at_the_last_charged_price() -> None:
    stepped = tariff(
        element(energy("0.20", step=1000), end_time=time(11)),
        element(energy("0.40", step=1000)),
    )
    # 10,001 Wh, 5,000.5 of them free (whole Wh: 5,000): 5,001 Wh of the 0.40 part charged,
    # rounded up to 6 kWh at 0.40 = 2.40.
    priced = price_session(stepped, steady(T0, END, 10_001), end=END, free_energy_wh=5000)
    lines = _energy_lines(priced)
    assert [(price, billed, cents) for price, _, billed, cents in lines] == [
        (Decimal("0.20"), Decimal("0.5"), 0),
        (Decimal("0.40"), Decimal("5999.5"), 240),
    ]
    assert priced.total_incl_vat == 240


def test_included_energy_in_part_wh_counts_as_a_whole_wh() -> None:
    priced = price_session(PER_KWH_STEP, steady(T0, END, "2500.4"), end=END, free_energy_wh=20_000)
    assert (priced.total_incl_vat, priced.included_energy_wh) == (0, 2501)


def test_a_tariff_without_energy_prices_uses_no_allowance() -> None:
    per_hour = tariff(element(charging_time("6.00")))
    priced = price_session(per_hour, steady(T0, END, 10_000), end=END, free_energy_wh=5000)
    assert (priced.total_incl_vat, priced.included_energy_wh) == (600, 0)


def test_a_negative_allowance_is_refused() -> None:
    with pytest.raises(TariffError) as raised:
        price_session(PER_KWH_STEP, steady(T0, END, 100), end=END, free_energy_wh=-1)
    assert raised.value.field == "free_energy_wh"
