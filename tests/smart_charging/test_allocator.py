"""The allocator: exact examples and hypothesis properties (capacity, minimum, priority, max)."""

from __future__ import annotations

from collections.abc import Hashable
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voltlane.smart_charging.allocator import (
    STEP,
    Demand,
    Node,
    Reading,
    Readings,
    Window,
    allocate,
    available_current,
    needed_current,
    schedule_limit,
)

D = Decimal
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def three(value: int | str) -> tuple[Decimal, Decimal, Decimal]:
    return (D(value), D(value), D(value))


def site(capacity: int | str) -> list[Node]:
    return [Node("site", None, three(capacity))]


def car(
    key: str,
    *,
    node: str = "site",
    phases: tuple[int, ...] = (1, 2, 3),
    min_a: str = "6",
    max_a: str = "32",
    priority: int = 0,
    target_a: str | None = None,
) -> Demand:
    return Demand(
        key,
        node,
        phases,
        D(min_a),
        D(max_a),
        priority,
        None if target_a is None else D(target_a),
    )


# -- exact examples -------------------------------------------------------------------------


def test_equal_share_of_a_site() -> None:
    limits = allocate(site(32), [car("a"), car("b"), car("c")])
    # 32 A / 3 in steps of 0.1 A: the last 0.2 A go one step each to the first cars.
    assert limits == {"a": D("10.7"), "b": D("10.7"), "c": D("10.6")}


def test_a_car_below_its_share_leaves_the_rest_to_the_others() -> None:
    limits = allocate(site(40), [car("a", max_a="10"), car("b"), car("c")])
    assert limits == {"a": D("10.0"), "b": D("15.0"), "c": D("15.0")}


def test_every_car_at_its_max_when_the_site_has_room() -> None:
    limits = allocate(site(100), [car("a", max_a="16"), car("b", max_a="32")])
    assert limits == {"a": D("16.0"), "b": D("32.0")}


def test_the_last_car_that_does_not_fit_its_minimum_is_paused_never_starved() -> None:
    limits = allocate(site(16), [car("a"), car("b"), car("c")])
    # Two minimums of 6 A fit in 16 A, a third does not: c waits at 0, never at 4 A.
    assert limits == {"a": D("8.0"), "b": D("8.0"), "c": D(0)}


def test_priority_admits_first_and_fills_first() -> None:
    limits = allocate(site(20), [car("low"), car("high", priority=5), car("mid", priority=1)])
    # Minimums: high 6, mid 6 (12); low's 6 A fits too (18). The 2 A left go to high.
    assert limits == {"high": D("8.0"), "mid": D("6.0"), "low": D("6.0")}
    limits = allocate(site(12), [car("low"), car("high", priority=5), car("mid", priority=1)])
    assert limits == {"high": D("6.0"), "mid": D("6.0"), "low": D(0)}


def test_single_phase_cars_on_different_phases_do_not_share() -> None:
    limits = allocate(
        site(16),
        [car("l1a", phases=(1,)), car("l1b", phases=(1,)), car("l2", phases=(2,))],
    )
    assert limits == {"l1a": D("8.0"), "l1b": D("8.0"), "l2": D("16.0")}


def test_a_three_phase_car_is_bounded_by_its_busiest_phase() -> None:
    limits = allocate(
        [Node("site", None, (D(20), D(32), D(32)))],
        [car("one", phases=(1,), max_a="10"), car("three")],
    )
    assert limits == {"one": D("10.0"), "three": D("10.0")}


def test_a_nested_circuit_caps_its_cars_and_the_rest_goes_elsewhere() -> None:
    nodes = [Node("site", None, three(63)), Node("garage", "site", three(16))]
    limits = allocate(
        nodes, [car("g1", node="garage"), car("g2", node="garage"), car("yard", max_a="40")]
    )
    assert limits == {"g1": D("8.0"), "g2": D("8.0"), "yard": D("40.0")}


def test_a_departure_target_raises_a_cars_share_before_the_equal_split() -> None:
    limits = allocate(site(32), [car("depot", target_a="20"), car("visitor")])
    assert limits == {"depot": D("20.0"), "visitor": D("12.0")}
    # A target beyond what is left still leaves the other car its minimum.
    limits = allocate(site(32), [car("depot", target_a="30"), car("visitor")])
    assert limits == {"depot": D("26.0"), "visitor": D("6.0")}


def test_an_evse_whose_max_is_below_the_minimum_is_paused() -> None:
    assert allocate(site(32), [car("weak", max_a="5")]) == {"weak": D(0)}


def test_bad_phases_and_unknown_nodes_are_refused() -> None:
    with pytest.raises(ValueError, match="phases"):
        allocate(site(32), [car("a", phases=(4,))])
    with pytest.raises(ValueError, match="unknown node"):
        allocate(site(32), [car("a", node="nowhere")])
    with pytest.raises(ValueError, match="cycle"):
        allocate([Node("x", "y", three(1)), Node("y", "x", three(1))], [car("a", node="x")])


def test_available_current_applies_readings_and_falls_back_when_stale() -> None:
    fresh = NOW - timedelta(seconds=30)
    readings = Readings(
        building_load=Reading((D(40), D(30), D(50)), fresh),
        solar=Reading(three(10), fresh),
        battery_discharge=Reading((D(5), D(-5), D(0)), fresh),
    )
    args = {"safe_limit_a": D(20), "stale_after": timedelta(minutes=5), "now": NOW}
    assert available_current(three(63), readings=readings, **args) == (
        D("38.0"),
        D("38.0"),
        D("23.0"),
    )
    # Production never lifts a phase above the rating, and load never drives it below 0.
    sunny = Readings(solar=Reading(three(80), fresh))
    assert available_current(three(63), readings=sunny, **args) == three("63.0")
    heavy = Readings(building_load=Reading(three(90), fresh))
    assert available_current(three(63), readings=heavy, **args) == three("0.0")
    # No meter at all: the rating; a meter gone quiet: the safe limit.
    assert available_current(three(63), readings=Readings(), **args) == three("63.0")
    stale = Readings(building_load=Reading(three(1), NOW - timedelta(minutes=6)))
    assert available_current(three(63), readings=stale, **args) == three("20.0")
    # A stale solar reading counts as nothing; the schedule caps every phase.
    old_sun = Readings(
        building_load=Reading(three(40), fresh),
        solar=Reading(three(30), NOW - timedelta(hours=1)),
    )
    assert available_current(three(63), readings=old_sun, schedule_limit_a=D(16), **args) == three(
        "16.0"
    )
    assert available_current(three(63), readings=old_sun, **args) == three("23.0")


def test_needed_current_for_a_departure_target() -> None:
    # 22 kWh in 2 h on three phases at 230 V: 11 kW / 690 V = 15.94 A -> 16.0 A.
    assert needed_current(
        22_000, departure_at=NOW + timedelta(hours=2), now=NOW, voltage_v=230, phase_count=3
    ) == D("16.0")
    assert (
        needed_current(
            0, departure_at=NOW + timedelta(hours=2), now=NOW, voltage_v=230, phase_count=3
        )
        is None
    )
    late = needed_current(1, departure_at=NOW, now=NOW, voltage_v=230, phase_count=1)
    assert late is not None
    assert not late.is_finite()
    assert allocate(site(32), [car("late", max_a="16", target_a=str(late)), car("b")]) == {
        "late": D("16.0"),
        "b": D("16.0"),
    }


def test_schedule_limit_in_force() -> None:
    weekdays = 0b0011111  # Monday to Friday
    day = Window(weekdays, time(8), time(20), D(32))
    night = Window(0b1111111, time(22), time(6), D(63))
    peak = Window(weekdays, time(17), time(19), D(20))
    windows = [day, night, peak]
    wednesday = datetime(2026, 11, 25)  # a Wednesday
    assert schedule_limit(windows, wednesday.replace(hour=12)) == D(32)
    assert schedule_limit(windows, wednesday.replace(hour=18)) == D(20)
    assert schedule_limit(windows, wednesday.replace(hour=20)) is None
    assert schedule_limit(windows, wednesday.replace(hour=23)) == D(63)
    assert schedule_limit(windows, wednesday.replace(hour=5, minute=59)) == D(63)
    saturday = datetime(2026, 11, 28, 12)
    assert schedule_limit(windows, saturday) is None
    # Friday's day-only window does not run into Saturday; a Friday-night window does.
    friday_night = Window(0b0010000, time(23), time(2), D(10))
    assert schedule_limit([friday_night], datetime(2026, 11, 28, 1)) == D(10)
    assert schedule_limit([friday_night], datetime(2026, 11, 29, 1)) is None


# -- properties -----------------------------------------------------------------------------

amps = st.integers(min_value=0, max_value=1000).map(lambda tenths: D(tenths) / 10)
PHASE_SETS = [(1,), (2,), (3,), (1, 2), (1, 2, 3)]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Node], list[Demand]]:
    node_count = draw(st.integers(min_value=1, max_value=4))
    nodes = []
    for i in range(node_count):
        parent = None if i == 0 else f"n{draw(st.integers(min_value=0, max_value=i - 1))}"
        nodes.append(Node(f"n{i}", parent, (draw(amps), draw(amps), draw(amps))))
    demands = []
    for i in range(draw(st.integers(min_value=0, max_value=10))):
        min_a = D(draw(st.sampled_from(["6", "6", "8", "10", "0.5"])))
        max_a = draw(st.integers(min_value=4, max_value=80).map(D))
        target = draw(st.none() | st.integers(min_value=1, max_value=60).map(D))
        demands.append(
            Demand(
                f"s{i}",
                f"n{draw(st.integers(min_value=0, max_value=node_count - 1))}",
                draw(st.sampled_from(PHASE_SETS)),
                min_a,
                max_a,
                draw(st.integers(min_value=0, max_value=3)),
                target,
            )
        )
    return nodes, demands


def _subtree(nodes: list[Node], node_id: Hashable, demand: Demand) -> bool:
    by_id = {n.id: n for n in nodes}
    current: Hashable | None = demand.node_id
    while current is not None:
        if current == node_id:
            return True
        current = by_id[current].parent_id
    return False


def _load(
    nodes: list[Node], demands: list[Demand], limits: dict[Hashable, Decimal], node: Node, p: int
) -> Decimal:
    return sum(
        (limits[d.key] for d in demands if p in d.phases and _subtree(nodes, node.id, d)),
        D(0),
    )


def _path(nodes: list[Node], demand: Demand) -> list[tuple[Node, int]]:
    """The node-phases a demand draws through."""
    return [(n, p) for n in nodes if _subtree(nodes, n.id, demand) for p in demand.phases]


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_sums_never_exceed_any_node_on_any_phase(
    scenario: tuple[list[Node], list[Demand]],
) -> None:
    nodes, demands = scenario
    limits = allocate(nodes, demands)
    assert set(limits) == {d.key for d in demands}
    for node in nodes:
        for phase in (1, 2, 3):
            assert _load(nodes, demands, limits, node, phase) <= node.available_a[phase - 1]


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_each_limit_is_zero_or_between_min_and_max_in_steps(
    scenario: tuple[list[Node], list[Demand]],
) -> None:
    nodes, demands = scenario
    limits = allocate(nodes, demands)
    for demand in demands:
        limit = limits[demand.key]
        assert limit == 0 or demand.min_a <= limit <= demand.max_a
        assert limit % STEP == 0


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_a_paused_car_did_not_fit_beside_those_served_before_it(
    scenario: tuple[list[Node], list[Demand]],
) -> None:
    nodes, demands = scenario
    limits = allocate(nodes, demands)
    order = sorted(range(len(demands)), key=lambda i: -demands[i].priority)
    for position, index in enumerate(order):
        demand = demands[index]
        if limits[demand.key] > 0 or demand.max_a < demand.min_a:
            continue
        # Everyone admitted before it at their minimum, plus its own minimum: some node
        # it draws through overflows on some phase.
        before = [demands[i] for i in order[:position] if limits[demands[i].key] > 0]
        at_min = {d.key: d.min_a for d in [*before, demand]}
        overflows = any(
            _load(nodes, [*before, demand], at_min, node, phase) > node.available_a[phase - 1]
            for node, phase in _path(nodes, demand)
        )
        assert overflows, demand


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_no_car_can_be_raised_while_its_path_has_room(
    scenario: tuple[list[Node], list[Demand]],
) -> None:
    # Nothing is wasted: a served car below its max (and below its target's cap) sits
    # behind a node-phase with less than one step per car left.
    nodes, demands = scenario
    limits = allocate(nodes, demands)
    for demand in demands:
        limit = limits[demand.key]
        if limit == 0 or limit + STEP > demand.max_a:
            continue
        headroom = min(
            node.available_a[phase - 1] - _load(nodes, demands, limits, node, phase)
            for node, phase in _path(nodes, demand)
        )
        users = max(
            sum(
                1
                for d in demands
                if limits[d.key] > 0 and p in d.phases and _subtree(nodes, n.id, d)
            )
            for n, p in _path(nodes, demand)
        )
        assert headroom < STEP * users, demand


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=3), min_size=2, max_size=8),
    st.integers(min_value=12, max_value=200),
)
def test_on_one_circuit_a_higher_priority_car_never_gets_less(
    priorities: list[int], capacity: int
) -> None:
    # Same cars (6..32 A, three phases) on one node: priority alone orders the limits.
    demands = [car(f"s{i}", priority=p) for i, p in enumerate(priorities)]
    limits = allocate(site(capacity), demands)
    for a in demands:
        for b in demands:
            if a.priority > b.priority:
                assert limits[a.key] >= limits[b.key]
    # Among equals, shares differ by at most one step (water filling), unless paused.
    for a in demands:
        for b in demands:
            if a.priority == b.priority and limits[a.key] and limits[b.key]:
                assert abs(limits[a.key] - limits[b.key]) <= STEP
