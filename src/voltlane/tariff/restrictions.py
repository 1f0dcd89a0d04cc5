"""Whether a tariff element applies at a moment, and where in time that can change."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from voltlane.tariff.model import WEEKDAYS, TariffRestrictions
from voltlane.tariff.rounding import US_PER_SECOND

_SCAN = timedelta(hours=1)  # no time zone changes its offset twice within an hour
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Moment:
    """What the restrictions look at, at the start of a stretch of the session."""

    local: datetime  # wall-clock time at the location
    energy_mwh: int  # delivered since the session started
    power_kw: Decimal | None  # None: unknown, and a power restriction then does not hold
    current_a: Decimal | None
    duration_us: int  # since charging started (0 during a reservation)


def _in_window(now: time, start: time | None, end: time | None) -> bool:
    if start is None:
        return end is None or now < end
    if end is None:
        return now >= start
    if start < end:
        return start <= now < end
    if start > end:  # over midnight
        return now >= start or now < end
    return True  # start == end: the whole day


def _within(value: Decimal | None, low: Decimal | None, high: Decimal | None) -> bool:
    if low is None and high is None:
        return True
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value < high)


def holds(restrictions: TariffRestrictions | None, moment: Moment) -> bool:
    """Whether every restriction set holds at ``moment`` (``reservation`` is the caller's)."""
    r = restrictions
    if r is None:
        return True
    day = moment.local.date()
    return (
        _in_window(moment.local.time(), r.start_time, r.end_time)
        and (r.start_date is None or day >= r.start_date)
        and (r.end_date is None or day < r.end_date)
        and (not r.day_of_week or WEEKDAYS[day.weekday()] in r.day_of_week)
        and (
            (r.min_kwh is None and r.max_kwh is None)
            or _within(Decimal(moment.energy_mwh).scaleb(-6), r.min_kwh, r.max_kwh)
        )
        and _within(moment.power_kw, r.min_power, r.max_power)
        and _within(moment.current_a, r.min_current, r.max_current)
        and (r.min_duration is None or moment.duration_us >= r.min_duration * US_PER_SECOND)
        and (r.max_duration is None or moment.duration_us < r.max_duration * US_PER_SECOND)
    )


def _offset_changes(start: datetime, end: datetime, tz: ZoneInfo) -> set[datetime]:
    """The instants in (start, end) at which the zone's UTC offset changes (DST), exactly."""
    found: set[datetime] = set()
    low = start
    offset = low.astimezone(tz).utcoffset()
    while low < end:
        high = min(low + _SCAN, end)
        new_offset = high.astimezone(tz).utcoffset()
        if new_offset != offset:
            before, after = low, high
            while after - before > _MICROSECOND:
                middle = before + (after - before) // 2
                if middle.astimezone(tz).utcoffset() == offset:
                    before = middle
                else:
                    after = middle
            found.add(after)
        offset, low = new_offset, high
    return found


def local_boundaries(
    restrictions: Iterable[TariffRestrictions], start: datetime, end: datetime, tz: ZoneInfo
) -> set[datetime]:
    """Instants in (start, end) where a time-of-day, date or weekday restriction can change.

    Wall times that happen twice (DST fall back) give two instants; wall times that do not
    happen (spring forward) give none, and the jump itself is an instant.
    """
    listed = list(restrictions)
    wall_times = {t for r in listed for t in (r.start_time, r.end_time) if t is not None}
    if not wall_times and not any(r.start_date or r.end_date or r.day_of_week for r in listed):
        return set()
    wall_times.add(time(0))
    found = _offset_changes(start, end, tz)
    first = start.astimezone(tz).date() - timedelta(days=1)
    for offset in range((end.astimezone(tz).date() - first).days + 2):
        day: date = first + timedelta(days=offset)
        for wall_time in wall_times:
            wall = datetime.combine(day, wall_time)
            for fold in (0, 1):
                instant = wall.replace(tzinfo=tz, fold=fold).astimezone(UTC)
                exists = instant.astimezone(tz).replace(tzinfo=None) == wall
                if exists and start < instant < end:
                    found.add(instant)
    return found
