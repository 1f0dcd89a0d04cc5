"""Hypothesis properties of the engine against an independent Decimal oracle."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tariff.factories import charging_time, element, energy, flat, steady, tariff, utc
from voltlane.tariff import ChargeLine, LineKind, price_session
from voltlane.tariff.totals import apply_vat

CENT = Decimal("0.01")
T0 = utc(2026, 1, 1)

prices = st.decimals(min_value=0, max_value=Decimal("2.5"), places=4).map(str)
vat_rates = st.sampled_from(["0", "7", "19", "20", "25.5"])


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, ROUND_HALF_UP)


@settings(max_examples=300, deadline=None)
@given(
    energy_price=prices,
    time_price=prices,
    fee=prices,
    vat=vat_rates,
    wh=st.integers(0, 150_000),
    seconds=st.integers(1, 12 * 3600),
    start=st.integers(0, 365 * 86_400),
)
def test_energy_time_and_a_flat_fee_cost_what_a_decimal_oracle_says(
    energy_price: str, time_price: str, fee: str, vat: str, wh: int, seconds: int, start: int
) -> None:
    # A billing run's sessions in the small: each line rounded half up to the cent (the
    # product divided last), VAT once on their sum, half up; any start, DST included.
    begin = T0 + timedelta(seconds=start)
    end = begin + timedelta(seconds=seconds)
    priced = price_session(
        tariff(
            element(
                energy(energy_price, vat=vat),
                charging_time(time_price, vat=vat),
                flat(fee, vat=vat),
            )
        ),
        steady(begin, end, wh),
        end=end,
    )

    net = (
        cents(Decimal(wh) * Decimal(energy_price) / 1000)
        + cents(Decimal(seconds) * Decimal(time_price) / 3600)
        + cents(Decimal(fee))
    )
    tax = cents(net * Decimal(vat) / 100)
    assert (priced.total_excl_vat, priced.total_vat, priced.total_incl_vat) == (
        int(net * 100),
        int(tax * 100),
        int((net + tax) * 100),
    )
    assert sum(line.incl_vat for line in priced.lines) == priced.total_incl_vat


lines = st.lists(
    st.builds(
        ChargeLine,
        kind=st.sampled_from(list(LineKind)),
        unit_price=prices.map(Decimal),
        vat_rate=st.one_of(st.none(), vat_rates.map(Decimal)),
        quantity=st.integers(0, 10**9).map(Decimal),
        billed_quantity=st.integers(0, 10**9).map(Decimal),
        excl_vat=st.integers(0, 10**7),
        vat=st.just(0),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(lines)
def test_each_rates_vat_is_shared_out_over_its_lines_and_nothing_else_of_a_line_changes(
    given_lines: list[ChargeLine],
) -> None:
    taxed, breakdown = apply_vat(given_lines)

    # Every line keeps all it had but its share of the VAT (as dataclasses.replace would).
    assert taxed == [
        dataclasses.replace(line, vat=share.vat)
        for line, share in zip(given_lines, taxed, strict=True)
    ]
    for rate in {line.vat_rate for line in given_lines}:
        mine = [
            share for line, share in zip(given_lines, taxed, strict=True) if line.vat_rate == rate
        ]
        taxable = sum(share.excl_vat for share in mine)
        expected = 0 if rate is None else int(cents(Decimal(taxable) * rate / 10_000) * 100)
        assert [(v.taxable, v.vat) for v in breakdown if v.rate == rate] == [(taxable, expected)]
        assert sum(share.vat for share in mine) == expected
