"""A session cut into slices within which nothing that matters for the price changes.

Cuts fall on meter readings, state changes, local wall times and dates the tariff names (both
instants of a wall time repeated by DST, and the DST jump itself), the instants a duration
restriction starts or stops holding, and the instants the delivered energy reaches a kWh
restriction (interpolated between readings, with the energy there set to the threshold exactly).
Restrictions are then evaluated once per slice, at its start.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from voltlane.tariff.errors import TariffError
from voltlane.tariff.model import Tariff
from voltlane.tariff.restrictions import Moment, local_boundaries
from voltlane.tariff.rounding import divide_half_up, energy_mwh, kwh_threshold_mwh
from voltlane.tariff.trace import ChargingState, SessionTrace


def micros(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True, slots=True)
class Slice:
    start: datetime
    end: datetime
    state: ChargingState
    energy_mwh: int  # delivered within the slice
    moment: Moment  # the conditions at its start

    @property
    def duration_us(self) -> int:
        return micros(self.end - self.start)


@dataclass(frozen=True, slots=True)
class Timeline:
    slices: tuple[Slice, ...]
    reservation_expired: bool  # the trace is a reservation that never turned into charging


@dataclass(frozen=True, slots=True)
class _Point:
    at: datetime
    energy_mwh: int
    power_w: Decimal | None
    current_a: Decimal | None


class _Meter:
    """Energy, power and current at any instant, from the readings up to the end."""

    def __init__(self, trace: SessionTrace, end: datetime) -> None:
        start = trace.start.astimezone(UTC)
        by_time: dict[datetime, _Point] = {start: _Point(start, 0, None, None)}
        for r in sorted(trace.readings, key=lambda r: (r.at, r.energy_wh)):
            if r.at <= end:
                at = r.at.astimezone(UTC)
                by_time[at] = _Point(at, energy_mwh(r.energy_wh), r.power_w, r.current_a)
        self.points = sorted(by_time.values(), key=lambda p: p.at)
        self.times = [p.at for p in self.points]
        self.overrides: dict[datetime, int] = {}

    def hold_until(self, at: datetime) -> None:
        """Deliver nothing before ``at`` (the end of a reservation): a reading there."""
        if at not in self.times:
            here = self.points[self._index(at)]
            self.points.insert(self._index(at) + 1, _Point(at, here.energy_mwh, None, None))
            self.times = [p.at for p in self.points]

    def _index(self, at: datetime) -> int:
        return bisect_right(self.times, at) - 1

    def energy(self, at: datetime) -> int:
        if at in self.overrides:
            return self.overrides[at]
        i = self._index(at)
        here = self.points[i]
        if i + 1 == len(self.points):
            return here.energy_mwh  # nothing is known to be delivered after the last reading
        nxt = self.points[i + 1]
        rise = (nxt.energy_mwh - here.energy_mwh) * micros(at - here.at)
        return here.energy_mwh + divide_half_up(rise, micros(nxt.at - here.at))

    def power_kw(self, at: datetime) -> Decimal | None:
        """The last reported power, else the average power up to the next reading."""
        i = self._index(at)
        here = self.points[i]
        if here.power_w is not None:
            return here.power_w.scaleb(-3)
        if i + 1 == len(self.points):
            return None
        nxt = self.points[i + 1]
        # mWh per µs x 3600 = kW
        return Decimal((nxt.energy_mwh - here.energy_mwh) * 3600) / micros(nxt.at - here.at)

    def current_a(self, at: datetime) -> Decimal | None:
        return self.points[self._index(at)].current_a

    def reaches(self, threshold: int) -> datetime | None:
        """The first instant (rounded up to the µs) the energy reaches ``threshold`` mWh."""
        for here, nxt in pairwise(self.points):
            if here.energy_mwh < threshold <= nxt.energy_mwh:
                span = micros(nxt.at - here.at)
                rise = nxt.energy_mwh - here.energy_mwh
                offset = -(-(threshold - here.energy_mwh) * span // rise)
                at = here.at + timedelta(microseconds=offset)
                if at < nxt.at:  # on a reading, the reading's own energy stands
                    self.overrides[at] = threshold
                return at
        return None


class _States:
    """The state at any instant: the last change at or before it, CHARGING before any."""

    def __init__(self, trace: SessionTrace, end: datetime) -> None:
        ordered = sorted((c for c in trace.states if c.at <= end), key=lambda c: c.at)
        self.times = [c.at.astimezone(UTC) for c in ordered]
        self.states = [c.state for c in ordered]

    def at(self, instant: datetime) -> ChargingState:
        i = bisect_right(self.times, instant) - 1
        return ChargingState.CHARGING if i < 0 else self.states[i]


def slice_session(tariff: Tariff, trace: SessionTrace, end: datetime) -> Timeline:
    """The slices of ``trace`` from its start to ``end``, using nothing recorded after ``end``."""
    if end.utcoffset() is None:
        raise TariffError("must be timezone-aware", field="end")
    start, end = trace.start.astimezone(UTC), end.astimezone(UTC)
    if end < start:
        raise TariffError("must not be before the session start", field="end")
    meter = _Meter(trace, end)
    states = _States(trace, end)
    charging_start = next(
        (
            at
            for at in [start, *(t for t in states.times if t > start)]
            if states.at(at) is not ChargingState.RESERVATION
        ),
        None,
    )
    if charging_start is not None:
        meter.hold_until(charging_start)
    restrictions = [e.restrictions for e in tariff.elements if e.restrictions is not None]
    cuts = {start, end, *meter.times, *states.times}
    cuts |= local_boundaries(restrictions, start, end, trace.time_zone)
    if charging_start is not None:
        for r in restrictions:
            for seconds in (r.min_duration, r.max_duration):
                if seconds is not None:
                    cuts.add(charging_start + timedelta(seconds=seconds))
    for r in restrictions:
        for kwh in (r.min_kwh, r.max_kwh):
            if kwh is not None and (at := meter.reaches(kwh_threshold_mwh(kwh))) is not None:
                cuts.add(at)
    instants = sorted(at for at in cuts if start <= at <= end)
    energies = [meter.energy(at) for at in instants]  # each cut ends one slice, starts the next
    pairs = list(pairwise(zip(instants, energies, strict=True)))
    if not pairs:
        pairs = [((start, meter.energy(start)),) * 2]
    slices = []
    for (low, low_mwh), (high, high_mwh) in pairs:
        since = 0 if charging_start is None else max(0, micros(low - charging_start))
        moment = Moment(
            local=low.astimezone(trace.time_zone),
            energy_mwh=low_mwh,
            power_kw=meter.power_kw(low),
            current_a=meter.current_a(low),
            duration_us=since,
        )
        slices.append(Slice(low, high, states.at(low), high_mwh - low_mwh, moment))
    return Timeline(tuple(slices), reservation_expired=charging_start is None)
