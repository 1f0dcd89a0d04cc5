"""Whether a location is open: its OCPI 2.2.1 Hours read in the location's own timezone.

``Location.opening_hours`` holds the OCPI object as stored: ``twentyfourseven``,
``regular_hours`` (``weekday`` 1 = Monday .. 7, ``period_begin``/``period_end`` "HH:MM" local
time), ``exceptional_openings`` and ``exceptional_closings`` (``period_begin``/``period_end``
as ISO 8601 instants). A closing wins over everything, an opening over the regular hours.
A period whose end is before its begin runs over midnight into the next day; an end of
"00:00" (or "24:00") is the end of the day. Entries that cannot be read are left out rather
than failing the driver's list: the operator API validates what it stores.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_CLOCK = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")
_MIDNIGHT = time(0)


@dataclass(frozen=True, slots=True)
class DailyPeriod:
    """One regular period: ``weekday`` 0 = Monday; ``end`` None means the end of the day."""

    weekday: int
    begin: time
    end: time | None

    @property
    def overnight(self) -> bool:
        return self.end is not None and self.end <= self.begin


@dataclass(frozen=True, slots=True)
class ExceptionalPeriod:
    begin: datetime
    end: datetime

    def covers(self, at: datetime) -> bool:
        return self.begin <= at < self.end


@dataclass(frozen=True, slots=True)
class OpeningHours:
    twentyfourseven: bool
    regular: tuple[DailyPeriod, ...]
    openings: tuple[ExceptionalPeriod, ...]
    closings: tuple[ExceptionalPeriod, ...]


def _clock(value: object) -> time | None:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24:
        return _MIDNIGHT if minute == 0 else None
    return time(hour, minute)


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _exceptions(value: object) -> tuple[ExceptionalPeriod, ...]:
    found = []
    for entry in value if isinstance(value, list) else []:
        if not isinstance(entry, Mapping):
            continue
        begin, end = _instant(entry.get("period_begin")), _instant(entry.get("period_end"))
        if begin is not None and end is not None and begin < end:
            found.append(ExceptionalPeriod(begin, end))
    return tuple(found)


def read_hours(data: Mapping[str, Any] | None) -> OpeningHours:
    """The stored OCPI Hours as values; no data at all means open around the clock."""
    if not data:
        return OpeningHours(twentyfourseven=True, regular=(), openings=(), closings=())
    regular = []
    raw = data.get("regular_hours")
    for entry in raw if isinstance(raw, list) else []:
        if not isinstance(entry, Mapping):
            continue
        weekday = entry.get("weekday")
        begin, end = _clock(entry.get("period_begin")), _clock(entry.get("period_end"))
        if isinstance(weekday, int) and 1 <= weekday <= 7 and begin is not None and end is not None:
            regular.append(DailyPeriod(weekday - 1, begin, None if end == _MIDNIGHT else end))
    regular.sort(key=lambda p: (p.weekday, p.begin))
    return OpeningHours(
        twentyfourseven=data.get("twentyfourseven") is True,
        regular=tuple(regular),
        openings=_exceptions(data.get("exceptional_openings")),
        closings=_exceptions(data.get("exceptional_closings")),
    )


def zone_of(name: str) -> ZoneInfo:
    """The location's timezone; an unknown name reads as UTC rather than failing a list."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _covers(period: DailyPeriod, weekday: int, now: time) -> bool:
    """Whether ``period`` covers the local wall time ``now`` of ``weekday``."""
    if period.weekday == weekday:
        if period.end is None or period.overnight:
            return now >= period.begin
        return period.begin <= now < period.end
    # The part after midnight of an overnight period that began the day before.
    return (
        period.weekday == (weekday - 1) % 7
        and period.overnight
        and period.end is not None
        and now < period.end
    )


def _regular_open(regular: tuple[DailyPeriod, ...], local: datetime) -> bool:
    return any(_covers(period, local.weekday(), local.time()) for period in regular)


def is_open(hours: OpeningHours, zone: ZoneInfo, at: datetime) -> bool:
    """Whether the location is open at the instant ``at`` (timezone-aware)."""
    if any(closing.covers(at) for closing in hours.closings):
        return False
    if hours.twentyfourseven or any(opening.covers(at) for opening in hours.openings):
        return True
    return _regular_open(hours.regular, at.astimezone(zone))


@dataclass(frozen=True, slots=True)
class WeekRow:
    """Days (0 = Monday) that share the same periods; no periods means closed."""

    days: tuple[int, ...]
    periods: tuple[tuple[time, time | None], ...]


def week(hours: OpeningHours) -> tuple[WeekRow, ...]:
    """The regular week, with consecutive days of identical hours grouped (Mon-Fri 8-20)."""
    by_day = {
        day: tuple((p.begin, p.end) for p in hours.regular if p.weekday == day) for day in range(7)
    }
    rows: list[WeekRow] = []
    for day in range(7):
        if rows and rows[-1].periods == by_day[day] and rows[-1].days[-1] == day - 1:
            rows[-1] = WeekRow((*rows[-1].days, day), by_day[day])
        else:
            rows.append(WeekRow((day,), by_day[day]))
    return tuple(rows)


def upcoming_closings(
    hours: OpeningHours, at: datetime, *, within: timedelta = timedelta(days=60)
) -> tuple[ExceptionalPeriod, ...]:
    """Exceptional closings that have not ended yet and start within ``within``."""
    return tuple(
        sorted(
            (c for c in hours.closings if c.end > at and c.begin < at + within),
            key=lambda c: c.begin,
        )
    )
