"""The site's discharge limit shared among bidirectional cars: examples and properties."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from voltlane.smart_charging.allocator import STEP, DischargeDemand, share_discharge

D = Decimal


def test_two_cars_share_the_limit_equally() -> None:
    assert share_discharge(D(16), [DischargeDemand("a", D(32)), DischargeDemand("b", D(32))]) == {
        "a": D("8.0"),
        "b": D("8.0"),
    }


def test_a_car_capped_by_its_maximum_leaves_the_rest_to_the_others() -> None:
    demands = [DischargeDemand("a", D(5)), DischargeDemand("b", D(32)), DischargeDemand("c", D(32))]
    assert share_discharge(D(16), demands) == {"a": D("5.0"), "b": D("5.5"), "c": D("5.5")}


def test_the_tenths_an_equal_split_leaves_go_to_the_last_car() -> None:
    demands = [DischargeDemand(k, D(32)) for k in "abc"]
    assert share_discharge(D(10), demands) == {"a": D("3.3"), "b": D("3.3"), "c": D("3.4")}


def test_a_higher_priority_is_served_first() -> None:
    demands = [
        DischargeDemand("b", D(32)),
        DischargeDemand("a", D(10), priority=1),
        DischargeDemand("c", D(32)),
    ]
    assert share_discharge(D(16), demands) == {"a": D("10.0"), "b": D("3.0"), "c": D("3.0")}


def test_no_limit_left_gives_nothing() -> None:
    assert share_discharge(D(0), [DischargeDemand("a", D(32))]) == {"a": D(0)}


amps = st.decimals(min_value=0, max_value=80, places=1)
demand_lists = st.lists(
    st.tuples(amps, st.integers(min_value=0, max_value=2)), min_size=0, max_size=8
).map(lambda rows: [DischargeDemand(i, cap, prio) for i, (cap, prio) in enumerate(rows)])


@settings(max_examples=400, deadline=None)
@given(amps, demand_lists)
def test_the_shares_never_exceed_the_limit_nor_a_cars_maximum(
    limit: Decimal, demands: list[DischargeDemand]
) -> None:
    shares = share_discharge(limit, demands)
    assert sum(shares.values(), D(0)) <= limit
    for demand in demands:
        assert D(0) <= shares[demand.key] <= demand.max_a
        assert shares[demand.key] % STEP == 0


@settings(max_examples=400, deadline=None)
@given(amps, demand_lists)
def test_nothing_is_left_while_a_car_could_take_more(
    limit: Decimal, demands: list[DischargeDemand]
) -> None:
    shares = share_discharge(limit, demands)
    if any(shares[d.key] + STEP <= d.max_a for d in demands):
        assert limit - sum(shares.values(), D(0)) < STEP


@settings(max_examples=400, deadline=None)
@given(amps, demand_lists)
def test_a_lower_priority_gets_some_only_when_the_higher_are_at_their_maximum(
    limit: Decimal, demands: list[DischargeDemand]
) -> None:
    shares = share_discharge(limit, demands)
    for low in demands:
        if shares[low.key] > 0:
            assert all(shares[h.key] == h.max_a for h in demands if h.priority > low.priority)


@settings(max_examples=400, deadline=None)
@given(amps, demand_lists)
def test_within_a_tier_an_uncapped_car_never_gets_less_than_another(
    limit: Decimal, demands: list[DischargeDemand]
) -> None:
    shares = share_discharge(limit, demands)
    for a in demands:
        for b in demands:
            if a.priority == b.priority and shares[a.key] < a.max_a:
                assert shares[b.key] - shares[a.key] <= STEP
