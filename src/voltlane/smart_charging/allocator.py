"""The allocator: pure functions that divide a site's current among its charging sessions.

No database, no clock, no I/O: callers (the rebalancing loop) read the site tree, the latest
readings, the schedule in force and the active sessions, call these functions and send the
result as charging profiles. Everything is ``Decimal`` amperes per phase; results are
multiples of ``STEP`` (0.1 A, the resolution OCPP charging profiles carry).

Inputs
------
``Node``
    One node of a site tree (the site itself or a nested circuit): ``id``, ``parent_id``
    (None at the root) and ``available_a``, the current each of its phases L1, L2, L3 may
    carry *now*. Build it with ``available_current`` from the node's rating, its readings
    (building load, solar, battery), its stale rule and safe limit, and the cap of its
    schedule windows in force (``schedule_limit`` over ``Window``s, in the site's local
    time). A single-phase node has 0 on L2 and L3.
``Demand``
    One active session: ``key`` (any hashable, e.g. the session id), ``node_id`` (the node
    its EVSE hangs under), ``phases`` (which of L1..L3 the car draws on: (1,), (2,), (1, 2, 3)
    ...), ``min_a`` (below this the car cannot charge: 6 A per IEC 61851 unless the EVSE or
    car says more), ``max_a`` (the least of the EVSE's, the site's override and the car's
    maximum), ``priority`` (higher is served first: segment/fleet/EVSE weights folded into one
    int by the caller) and ``target_a`` (the current its departure target needs, from
    ``needed_current``; None without a target).

Output
------
``allocate`` returns ``{key: limit_a}``: the per-phase current limit for each demand, on each
of its phases. Guarantees (tested with hypothesis in tests/smart_charging/test_allocator.py):

- at every node and on every phase, the sum of the limits of the sessions under it (on that
  phase) never exceeds the node's ``available_a``;
- a limit is either 0 (paused) or between the demand's ``min_a`` and ``max_a``: never in
  (0, min_a);
- demands are admitted at their minimum in priority order (then input order: pass them
  oldest first): a demand is paused only when its minimum does not fit beside the minimums
  of the demands admitted before it;
- what is left is shared out tier by tier, highest priority first: first up to each
  demand's departure ``target_a``, then up to each ``max_a``, by water filling (the lowest
  limits rise first, in equal steps, so demands of a tier end level unless a cap or a full
  node they draw through stops them; nothing is left that one more step could use).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TypeAlias

STEP = Decimal("0.1")
ZERO = Decimal(0)
PHASES = (1, 2, 3)

PhaseCurrents: TypeAlias = tuple[Decimal, Decimal, Decimal]


def floor_step(value: Decimal) -> Decimal:
    """``value`` rounded down to a multiple of ``STEP`` (never above what was allowed)."""
    return value.quantize(STEP, rounding=ROUND_FLOOR)


def ceil_step(value: Decimal) -> Decimal:
    """``value`` rounded up to a multiple of ``STEP``."""
    return value.quantize(STEP, rounding=ROUND_CEILING)


@dataclass(frozen=True)
class Reading:
    """An external input per phase (A) and when it was measured (UTC)."""

    per_phase_a: PhaseCurrents
    measured_at: datetime


@dataclass(frozen=True)
class Readings:
    """The latest external inputs of a node; any may be missing."""

    building_load: Reading | None = None  # unmanaged load behind the same connection
    solar: Reading | None = None  # local production, offsets the building load
    battery_discharge: Reading | None = None  # negative while the battery charges


def available_current(
    capacity_a: PhaseCurrents,
    *,
    readings: Readings,
    safe_limit_a: Decimal,
    stale_after: timedelta,
    now: datetime,
    schedule_limit_a: Decimal | None = None,
) -> PhaseCurrents:
    """The current each phase of a node may give its chargers now.

    ``capacity - building load + solar + battery discharge``, bounded to ``[0, capacity]``:
    the rating of the connection or circuit is a physical limit that local production never
    lifts. A building load reading older than ``stale_after`` means nobody knows the load:
    the node falls back to ``safe_limit_a`` per phase. A stale solar or battery reading
    counts as 0 (it could only have added). No building load reading at all means the site
    has no meter: the rating is available. ``schedule_limit_a`` (time-of-use window, peak
    shaving) caps every phase.
    """

    def fresh(reading: Reading | None) -> bool:
        return reading is not None and now - reading.measured_at <= stale_after

    load = readings.building_load
    if load is not None and not fresh(load):
        result = tuple(min(safe_limit_a, cap) for cap in capacity_a)
    else:
        extra = [ZERO, ZERO, ZERO]
        for reading, sign in (
            (load, -1),
            (readings.solar, 1),
            (readings.battery_discharge, 1),
        ):
            if reading is not None and fresh(reading):
                for i in range(3):
                    extra[i] += sign * reading.per_phase_a[i]
        result = tuple(max(ZERO, min(cap, cap + extra[i])) for i, cap in enumerate(capacity_a))
    if schedule_limit_a is not None:
        result = tuple(min(value, max(ZERO, schedule_limit_a)) for value in result)
    return (floor_step(result[0]), floor_step(result[1]), floor_step(result[2]))


@dataclass(frozen=True)
class Window:
    """A schedule window: weekdays (bit 0 Monday .. bit 6 Sunday) it starts on, local times.

    ``ends_at`` before ``starts_at`` runs past midnight into the next day.
    """

    weekdays: int
    starts_at: time
    ends_at: time
    limit_a: Decimal


def schedule_limit(windows: Iterable[Window], local_now: datetime) -> Decimal | None:
    """The cap in force at ``local_now`` (the site's local time): the lowest of the windows
    that cover it, None when none does."""
    today = local_now.weekday()
    yesterday = (today - 1) % 7
    clock = local_now.time().replace(tzinfo=None)
    limits = []
    for window in windows:
        if window.starts_at < window.ends_at:
            covers = bool(window.weekdays >> today & 1) and (
                window.starts_at <= clock < window.ends_at
            )
        else:
            covers = (bool(window.weekdays >> today & 1) and clock >= window.starts_at) or (
                bool(window.weekdays >> yesterday & 1) and clock < window.ends_at
            )
        if covers:
            limits.append(window.limit_a)
    return min(limits, default=None)


def needed_current(
    energy_wh: int, *, departure_at: datetime, now: datetime, voltage_v: int, phase_count: int
) -> Decimal | None:
    """The per-phase current that delivers ``energy_wh`` by ``departure_at``.

    None when nothing is needed; past the departure time the whole remainder is urgent, so
    the answer is effectively "as much as possible" (``Decimal('Infinity')``).
    """
    if energy_wh <= 0:
        return None
    seconds = Decimal((departure_at - now).total_seconds())
    if seconds <= 0:
        return Decimal("Infinity")
    watts = Decimal(energy_wh) * 3600 / seconds
    return ceil_step(watts / (voltage_v * phase_count))


@dataclass(frozen=True)
class Node:
    """A site or circuit with the current each phase may carry now (see the module doc)."""

    id: Hashable
    parent_id: Hashable | None
    available_a: PhaseCurrents


@dataclass(frozen=True)
class Demand:
    """An active session asking for current (see the module doc)."""

    key: Hashable
    node_id: Hashable
    phases: tuple[int, ...]
    min_a: Decimal
    max_a: Decimal
    priority: int = 0
    target_a: Decimal | None = None


@dataclass
class _State:
    headroom: dict[tuple[Hashable, int], Decimal]
    # The (node, phase) constraints each demand draws through.
    constraints: dict[Hashable, list[tuple[Hashable, int]]] = field(default_factory=dict)
    limits: dict[Hashable, Decimal] = field(default_factory=dict)

    def fits(self, key: Hashable, amount: Decimal) -> bool:
        return all(self.headroom[c] >= amount for c in self.constraints[key])

    def add(self, key: Hashable, amount: Decimal) -> None:
        for c in self.constraints[key]:
            self.headroom[c] -= amount
        self.limits[key] += amount


def _ancestors(
    nodes: Mapping[Hashable, Node] | Mapping[Hashable, DischargeNode], node_id: Hashable
) -> list[Hashable]:
    chain: list[Hashable] = []
    current: Hashable | None = node_id
    while current is not None:
        if current in chain:
            raise ValueError(f"site tree has a cycle through {current!r}")
        if current not in nodes:
            raise ValueError(f"unknown node {current!r}")
        chain.append(current)
        current = nodes[current].parent_id
    return chain


def _fill(state: _State, demands: Sequence[Demand], caps: Mapping[Hashable, Decimal]) -> None:
    """Water filling: raise the lowest of ``demands`` (equal steps) towards their ``caps``.

    Each round lifts the demands at the lowest level together, up to the next level, a cap,
    or what a node-phase they draw through can give each of them. A demand stops at its cap
    or behind a node-phase that cannot give its lowest users one more step (everyone behind
    it stops: nobody overtakes the level there). Each round stops a demand or merges a
    level, so the loop ends.
    """
    active = [
        d.key for d in demands if state.limits[d.key] > 0 and caps[d.key] > state.limits[d.key]
    ]
    while active:
        level = min(state.limits[key] for key in active)
        lowest = [key for key in active if state.limits[key] == level]
        users: dict[tuple[Hashable, int], int] = {}
        for key in lowest:
            for c in state.constraints[key]:
                users[c] = users.get(c, 0) + 1
        raise_by = min(
            [caps[key] - level for key in lowest]
            + [state.limits[key] - level for key in active if state.limits[key] > level]
            + [floor_step(state.headroom[c] / count) for c, count in users.items()]
        )
        if raise_by > 0:
            for key in lowest:
                state.add(key, raise_by)
        full = {c for c, count in users.items() if state.headroom[c] < STEP * count}
        # What a full node-phase has left (less than a step each) goes one step at a time
        # to its lowest users in input order, rather than to a lower tier.
        for key in lowest:
            if (
                full.intersection(state.constraints[key])
                and caps[key] - state.limits[key] >= STEP
                and state.fits(key, STEP)
            ):
                state.add(key, STEP)
        active = [
            key
            for key in active
            if state.limits[key] < caps[key] and not full.intersection(state.constraints[key])
        ]


def _target_cap(target_a: Decimal, max_a: Decimal) -> Decimal:
    if not target_a.is_finite():
        return floor_step(max_a)
    return min(floor_step(max_a), ceil_step(target_a))


def allocate(nodes: Iterable[Node], demands: Sequence[Demand]) -> dict[Hashable, Decimal]:
    """Per-phase limit (A) for each demand's key: see the module doc for the guarantees."""
    by_id = {node.id: node for node in nodes}
    state = _State(
        headroom={
            (node.id, phase): max(ZERO, node.available_a[phase - 1])
            for node in by_id.values()
            for phase in PHASES
        }
    )
    for demand in demands:
        if not demand.phases or any(p not in PHASES for p in demand.phases):
            raise ValueError(f"demand {demand.key!r}: phases must be among 1, 2, 3")
        state.constraints[demand.key] = [
            (node_id, phase)
            for node_id in _ancestors(by_id, demand.node_id)
            for phase in sorted(set(demand.phases))
        ]
        state.limits[demand.key] = ZERO

    # Admission at the minimum, by priority (stable: input order among equals).
    ordered = sorted(demands, key=lambda d: -d.priority)
    for demand in ordered:
        minimum = ceil_step(max(demand.min_a, STEP))
        if minimum <= floor_step(demand.max_a) and state.fits(demand.key, minimum):
            state.add(demand.key, minimum)

    tiers: dict[int, list[Demand]] = {}
    for demand in ordered:
        tiers.setdefault(demand.priority, []).append(demand)
    for priority in sorted(tiers, reverse=True):
        tier = tiers[priority]
        targets = {d.key: _target_cap(d.target_a, d.max_a) for d in tier if d.target_a is not None}
        if targets:
            _fill(state, [d for d in tier if d.key in targets], targets)
        _fill(state, tier, {d.key: floor_step(d.max_a) for d in tier})
    return dict(state.limits)


@dataclass(frozen=True)
class DischargeNode:
    """A site or circuit and the most the cars under it may feed back together, per phase
    (``limit_a``)."""

    id: Hashable
    parent_id: Hashable | None
    limit_a: Decimal


@dataclass(frozen=True)
class DischargeDemand:
    """A bidirectional car (OCPP 2.1 V2X) under ``node_id`` that may feed back up to
    ``max_a`` per phase (the least of its own maximum and its EVSE's)."""

    key: Hashable
    node_id: Hashable
    max_a: Decimal
    priority: int = 0


def share_discharge(
    nodes: Iterable[DischargeNode], demands: Sequence[DischargeDemand]
) -> dict[Hashable, Decimal]:
    """Divide the discharge limits of a site and its circuits (per phase) among the
    bidirectional cars under them.

    Tier by tier, highest priority first, by water filling: the cars of a tier rise
    together in equal steps; a car stops at its maximum or when a node it hangs under
    (its own circuit, any circuit above, the site) has no step left for each of its cars
    still rising. The tenths an equal split leaves at such a node go one each to its cars
    with the highest maximum (later input first among equals). The shares are multiples of
    ``STEP``; under every node their sum never exceeds the node's limit, whatever phases
    the cars use, so the feed-back stays within each limit on every phase.
    """
    by_id = {node.id: node for node in nodes}
    left = {key: floor_step(max(node.limit_a, ZERO)) for key, node in by_id.items()}
    chains = {d.key: _ancestors(by_id, d.node_id) for d in demands}
    shares: dict[Hashable, Decimal] = {d.key: ZERO for d in demands}
    tiers: dict[int, list[DischargeDemand]] = {}
    for demand in demands:
        tiers.setdefault(demand.priority, []).append(demand)
    for priority in sorted(tiers, reverse=True):
        caps = {d.key: floor_step(max(d.max_a, ZERO)) for d in tiers[priority]}
        # Stable sort, reversed: the highest maximum first, later input first among equals.
        active = [d.key for d in sorted(tiers[priority], key=lambda d: caps[d.key])][::-1]
        active = [key for key in active if caps[key] > 0]
        while active:
            users: dict[Hashable, int] = {}
            for key in active:
                for node_id in chains[key]:
                    users[node_id] = users.get(node_id, 0) + 1
            raise_by = min(
                [caps[key] - shares[key] for key in active]
                + [floor_step(left[node_id] / count) for node_id, count in users.items()]
            )
            for key in active:
                _take(shares, left, chains[key], key, raise_by)
            full = {node_id for node_id, count in users.items() if left[node_id] < STEP * count}
            for key in active:
                if (
                    full.intersection(chains[key])
                    and caps[key] - shares[key] >= STEP
                    and all(left[node_id] >= STEP for node_id in chains[key])
                ):
                    _take(shares, left, chains[key], key, STEP)
            # A car rises on while it is below its maximum and every node above it has a
            # step left: the tenths handed out above may leave one for the next round.
            active = [
                key
                for key in active
                if shares[key] < caps[key] and all(left[node_id] >= STEP for node_id in chains[key])
            ]
    return shares


def _take(
    shares: dict[Hashable, Decimal],
    left: dict[Hashable, Decimal],
    chain: Sequence[Hashable],
    key: Hashable,
    amount: Decimal,
) -> None:
    shares[key] += amount
    for node_id in chain:
        left[node_id] -= amount
