"""The ONE pricing engine: a tariff and a session trace in, an OCPI-shaped price out.

The live cost in the PWA, the CDR and the invoice all call ``price_session``; the live cost
passes ``end=now`` and, since nothing recorded after ``end`` is read, it is exactly what the CDR
would say if the session ended then. docs/tariffs.md describes the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from voltlane.tariff.errors import TariffError
from voltlane.tariff.model import (
    Dimension,
    PriceComponent,
    Reservation,
    Tariff,
    TariffRestrictions,
)
from voltlane.tariff.restrictions import Moment, holds
from voltlane.tariff.result import (
    CdrDimension,
    CdrDimensionType,
    ChargeLine,
    ChargingPeriod,
    LineKind,
    PeriodKind,
    PricedSession,
)
from voltlane.tariff.rounding import (
    MWH_PER_KWH,
    US_PER_HOUR,
    US_PER_SECOND,
    ceil_to_step,
    hours,
    line_amount,
    to_minor,
)
from voltlane.tariff.timeline import Slice, Timeline, slice_session
from voltlane.tariff.totals import apply_vat, cap_lines
from voltlane.tariff.trace import PARKING_STATES, TIME_STATES, ChargingState, SessionTrace

_DIMENSION = {
    LineKind.ENERGY: Dimension.ENERGY,
    LineKind.TIME: Dimension.TIME,
    LineKind.PARKING_TIME: Dimension.PARKING_TIME,
    LineKind.RESERVATION_TIME: Dimension.TIME,
    LineKind.FLAT: Dimension.FLAT,
    LineKind.RESERVATION_FLAT: Dimension.FLAT,
}
_FLATS = (LineKind.FLAT, LineKind.RESERVATION_FLAT)
_KIND_ORDER = {kind: i for i, kind in enumerate(LineKind)}
_RESERVATION_STATES = frozenset({ChargingState.RESERVATION})
# (quantity units per priced unit, quantity units per step_size unit, exponent for display)
_UNITS = {
    LineKind.ENERGY: (MWH_PER_KWH, 1000, -3),  # mWh; priced per kWh; steps and shown in Wh
    LineKind.TIME: (US_PER_HOUR, US_PER_SECOND, -6),  # µs; priced per hour; steps in seconds
    LineKind.PARKING_TIME: (US_PER_HOUR, US_PER_SECOND, -6),
    LineKind.RESERVATION_TIME: (US_PER_HOUR, US_PER_SECOND, -6),
    LineKind.FLAT: (1, 1, 0),
    LineKind.RESERVATION_FLAT: (1, 1, 0),
}
_NOT_RESERVED: tuple[Reservation | None, ...] = (None,)
_RESERVED: tuple[Reservation | None, ...] = (Reservation.RESERVATION,)
_EXPIRED: tuple[Reservation | None, ...] = (
    Reservation.RESERVATION_EXPIRES,
    Reservation.RESERVATION,
)


@dataclass(slots=True)
class _Part:
    """What one tariff element charges for one kind in one slice."""

    kind: LineKind
    component: PriceComponent
    quantity: int  # mWh, µs or 1
    billed: int  # after step_size rounding
    slice_index: int


# (index, component, restrictions) of the elements with a component of the dimension, in
# list order, for one reservation mode.
_Candidate = tuple[int, PriceComponent, TariffRestrictions | None]
_Candidates = dict[tuple[Dimension, Reservation | None], list[_Candidate]]


def _candidates(tariff: Tariff) -> _Candidates:
    """Each element's component per dimension and reservation mode, looked up once per
    session instead of once per slice and measure."""
    found: _Candidates = {}
    for index, element in enumerate(tariff.elements):
        restrictions = element.restrictions
        mode = None if restrictions is None else restrictions.reservation
        for dimension in Dimension:
            component = element.component(dimension)
            if component is not None:
                found.setdefault((dimension, mode), []).append((index, component, restrictions))
    return found


def _pick(
    candidates: _Candidates,
    dimension: Dimension,
    moment: Moment,
    modes: tuple[Reservation | None, ...],
) -> tuple[int, PriceComponent] | None:
    """The first element (in list order) with a component of ``dimension`` that applies."""
    for mode in modes:
        for index, component, restrictions in candidates.get((dimension, mode), ()):
            if holds(restrictions, moment):
                return index, component
    return None


def _parts(tariff: Tariff, timeline: Timeline) -> tuple[list[_Part], list[dict[LineKind, int]]]:
    parts: list[_Part] = []
    uses: list[dict[LineKind, int]] = []
    flat_charged: set[LineKind] = set()
    candidates = _candidates(tariff)
    for i, piece in enumerate(timeline.slices):
        measures: list[tuple[LineKind, int]]
        if piece.state is ChargingState.RESERVATION:
            modes = _EXPIRED if timeline.reservation_expired else _RESERVED
            measures = [(LineKind.RESERVATION_TIME, piece.duration_us)]
            flat = LineKind.RESERVATION_FLAT
        else:
            modes = _NOT_RESERVED
            time_kind = LineKind.TIME if piece.state in TIME_STATES else LineKind.PARKING_TIME
            measures = [(LineKind.ENERGY, piece.energy_mwh), (time_kind, piece.duration_us)]
            flat = LineKind.FLAT
        if flat not in flat_charged:
            measures.append((flat, 1))
        used: dict[LineKind, int] = {}
        for kind, quantity in measures:
            picked = _pick(candidates, _DIMENSION[kind], piece.moment, modes)
            if picked is not None:
                index, component = picked
                parts.append(_Part(kind, component, quantity, quantity, i))
                used[kind] = index
                if kind in _FLATS:
                    flat_charged.add(kind)  # once per session, from the first element that fits
        uses.append(used)
    return parts, uses


def _include_energy(parts: list[_Part], allowance_mwh: int) -> int:
    """Take up to ``allowance_mwh`` off the ENERGY parts, the earliest slices first: the first
    energy of the session is the included one. Returns the mWh taken.

    Runs before step rounding, so step_size rounds only the energy still charged.
    """
    budget = allowance_mwh
    for part in parts:
        if budget <= 0:
            break
        if part.kind is LineKind.ENERGY:
            taken = min(budget, part.billed)
            part.billed -= taken
            budget -= taken
    return allowance_mwh - budget


def _round_up(parts: list[_Part], kind: LineKind) -> int:
    """Round the kind's billed total up to the step_size of its last billed component.

    The parts keep their own prices; the extra is billed at the last one's. Returns the extra.
    """
    billed = [p for p in parts if p.kind == kind and p.billed > 0]
    if not billed:
        return 0
    last = billed[-1]
    total = sum(p.billed for p in billed)
    extra = ceil_to_step(total, last.component.step_size * _UNITS[kind][1]) - total
    last.billed += extra
    return extra


def _absorb_parking(parts: list[_Part], slices: tuple[Slice, ...], extra_us: int) -> None:
    """Charging time billed by step rounding is not billed again as the parking that follows."""
    time_parts = [p for p in parts if p.kind == LineKind.TIME and p.billed > 0]
    parking = {p.slice_index: p for p in parts if p.kind == LineKind.PARKING_TIME}
    budget = extra_us
    for i in range(time_parts[-1].slice_index + 1, len(slices)):
        if budget == 0 or slices[i].state not in PARKING_STATES:
            return
        taken = min(budget, slices[i].duration_us)
        if i in parking:
            parking[i].billed -= taken
        budget -= taken


def _step_rounding(parts: list[_Part], slices: tuple[Slice, ...]) -> None:
    _round_up(parts, LineKind.ENERGY)
    _round_up(parts, LineKind.RESERVATION_TIME)
    if extra := _round_up(parts, LineKind.TIME):
        _absorb_parking(parts, slices, extra)
    _round_up(parts, LineKind.PARKING_TIME)


def _lines(tariff: Tariff, parts: list[_Part]) -> list[ChargeLine]:
    groups: dict[tuple[LineKind, Decimal, Decimal | None], list[int]] = {}
    for p in parts:
        sums = groups.setdefault((p.kind, p.component.price, p.component.vat), [0, 0])
        sums[0] += p.quantity
        sums[1] += p.billed
    lines = []
    # Grouped by kind in LineKind order, then in order of first use.
    for (kind, price, vat), (quantity, billed) in sorted(
        groups.items(), key=lambda g: _KIND_ORDER[g[0][0]]
    ):
        if quantity == 0 and billed == 0:
            continue
        per, _, exponent = _UNITS[kind]
        amount = line_amount(billed, price, per, tariff.currency)
        shown = Decimal(quantity).scaleb(exponent), Decimal(billed).scaleb(exponent)
        lines.append(ChargeLine(kind, price, vat, *shown, amount, 0))
    return lines


def _idle_fee(tariff: Tariff, slices: tuple[Slice, ...]) -> tuple[int, list[ChargeLine]]:
    """Idle microseconds beyond the grace of each plugged-in stretch after charging."""
    fee = tariff.idle_fee
    if fee is None:
        return 0, []
    grace = fee.grace * US_PER_SECOND
    idle = stretch = 0
    charged = False
    for piece in slices:
        if piece.state in PARKING_STATES:
            stretch += piece.duration_us if charged else 0
            continue
        idle += max(0, stretch - grace)
        stretch = 0
        charged = charged or piece.state is ChargingState.CHARGING
    idle += max(0, stretch - grace)
    if idle == 0:
        return 0, []
    billed = ceil_to_step(idle, fee.step_size * US_PER_SECOND)
    amount = line_amount(billed, fee.price_per_minute, 60 * US_PER_SECOND, tariff.currency)
    if fee.cap is not None:
        amount = min(amount, to_minor(fee.cap, tariff.currency))
    quantity, billed_quantity = Decimal(idle).scaleb(-6), Decimal(billed).scaleb(-6)
    line = ChargeLine(
        LineKind.IDLE_FEE, fee.price_per_minute, fee.vat, quantity, billed_quantity, amount, 0
    )
    return idle, [line]


def _period_kind(state: ChargingState) -> PeriodKind:
    if state is ChargingState.RESERVATION:
        return PeriodKind.RESERVATION
    return PeriodKind.CHARGING if state in TIME_STATES else PeriodKind.PARKING


_TIME_DIMENSION = {
    PeriodKind.CHARGING: CdrDimensionType.TIME,
    PeriodKind.PARKING: CdrDimensionType.PARKING_TIME,
    PeriodKind.RESERVATION: CdrDimensionType.RESERVATION_TIME,
}


def _extremes(
    values: list[Decimal | None], low: CdrDimensionType, high: CdrDimensionType
) -> list[CdrDimension]:
    known = [v for v in values if v is not None]
    return [CdrDimension(low, min(known)), CdrDimension(high, max(known))] if known else []


def _periods(
    slices: tuple[Slice, ...], uses: list[dict[LineKind, int]]
) -> tuple[ChargingPeriod, ...]:
    """Consecutive slices of one kind priced by the same elements make one charging period."""
    runs: list[list[int]] = []
    previous: tuple[PeriodKind, dict[LineKind, int]] | None = None
    for i, piece in enumerate(slices):
        key = (
            _period_kind(piece.state),
            {k: v for k, v in uses[i].items() if k not in _FLATS},
        )
        if key == previous:
            runs[-1].append(i)
        else:
            runs.append([i])
        previous = key
    periods = []
    for run in runs:
        members = [slices[i] for i in run]
        kind = _period_kind(members[0].state)
        dimensions = (
            []
            if kind is PeriodKind.RESERVATION
            else [
                CdrDimension(
                    CdrDimensionType.ENERGY,
                    Decimal(sum(s.energy_mwh for s in members)).scaleb(-6),
                )
            ]
        )
        dimensions.append(
            CdrDimension(_TIME_DIMENSION[kind], hours(sum(s.duration_us for s in members)))
        )
        dimensions += _extremes(
            [s.moment.power_kw for s in members],
            CdrDimensionType.MIN_POWER,
            CdrDimensionType.MAX_POWER,
        )
        dimensions += _extremes(
            [s.moment.current_a for s in members],
            CdrDimensionType.MIN_CURRENT,
            CdrDimensionType.MAX_CURRENT,
        )
        elements = {k: v for i in run for k, v in uses[i].items()}
        periods.append(
            ChargingPeriod(
                members[0].start, members[-1].end, kind, tuple(dimensions), tuple(elements.items())
            )
        )
    return tuple(periods)


def _time_in(slices: tuple[Slice, ...], states: frozenset[ChargingState]) -> timedelta:
    return timedelta(microseconds=sum(s.duration_us for s in slices if s.state in states))


def price_session(
    tariff: Tariff, trace: SessionTrace, *, end: datetime, free_energy_wh: int = 0
) -> PricedSession:
    """Price ``trace`` from its start to ``end`` with ``tariff`` (see select_tariff).

    Nothing in the trace after ``end`` is used, so the live cost at ``end=now`` equals the
    final price of a session that ends now. ``free_energy_wh`` is the plan allowance left:
    the session's first energy priced by an ENERGY component, up to that many Wh, is not
    charged (its ``included_energy_wh`` says how much, whole Wh rounded up); everything else
    is priced as usual. Raises TariffError for an unusable trace.
    """
    if free_energy_wh < 0:
        raise TariffError("free energy cannot be negative", field="free_energy_wh")
    timeline = slice_session(tariff, trace, end)
    slices = timeline.slices
    parts, uses = _parts(tariff, timeline)
    included_mwh = _include_energy(parts, free_energy_wh * 1000)
    _step_rounding(parts, slices)
    lines = _lines(tariff, parts)
    adjustments, cap = cap_lines(tariff, lines)
    idle_us, idle_lines = _idle_fee(tariff, slices)
    taxed, breakdown = apply_vat([*lines, *adjustments, *idle_lines])
    total_excl = sum(line.excl_vat for line in taxed)
    total_vat = sum(v.vat for v in breakdown)
    return PricedSession(
        tariff_id=tariff.id,
        currency=tariff.currency,
        start=trace.start.astimezone(UTC),
        end=end.astimezone(UTC),
        periods=_periods(slices, uses),
        lines=tuple(taxed),
        vat_breakdown=tuple(breakdown),
        total_energy_kwh=Decimal(sum(s.energy_mwh for s in slices)).scaleb(-6),
        total_time=_time_in(slices, TIME_STATES),
        total_parking_time=_time_in(slices, PARKING_STATES),
        total_reservation_time=_time_in(slices, _RESERVATION_STATES),
        idle_time=timedelta(microseconds=idle_us),
        price_cap=cap,
        total_excl_vat=total_excl,
        total_vat=total_vat,
        total_incl_vat=total_excl + total_vat,
        included_energy_wh=-(-included_mwh // 1000),
    )
