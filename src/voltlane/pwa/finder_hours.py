"""A location's opening hours as the station page words them, in the reader's locale and
the location's own timezone: "Mon-Fri 07:00-22:00", "Sun closed", planned closings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from babel.dates import format_datetime, format_time

from voltlane.station.opening_hours import (
    is_open,
    read_hours,
    upcoming_closings,
    week,
    zone_of,
)
from voltlane.tariff.words import DASH, day_ranges

_MIDNIGHT = time(0)


@dataclass(frozen=True, slots=True)
class HoursRow:
    """Days and their periods ("07:00-22:00"); no periods: closed; ``all_day``: 24 hours."""

    days: str
    periods: tuple[str, ...]
    all_day: bool = False


@dataclass(frozen=True, slots=True)
class HoursView:
    open_now: bool
    always: bool  # open 24/7 (closings aside)
    rows: tuple[HoursRow, ...]
    closings: tuple[str, ...]  # "24 Dec 2026, 18:00 - 26 Dec 2026, 06:00"


def _clock(value: time, locale: str) -> str:
    return format_time(value, "short", locale=locale)


def _period(begin: time, end: time | None, locale: str) -> str:
    if end is not None:
        end_text = _clock(end, locale)
    elif _clock(time(13), locale).startswith("13"):
        end_text = "24:00"  # the end of the day, as on a shop door, where clocks run to 24
    else:
        end_text = _clock(_MIDNIGHT, locale)
    return f"{_clock(begin, locale)}{DASH}{end_text}"


def hours_view(data: dict[str, Any], timezone: str, locale: str, now: datetime) -> HoursView:
    """The words of the stored OCPI hours of a location at ``now``."""
    hours = read_hours(data)
    zone = zone_of(timezone)
    rows = []
    if not hours.twentyfourseven:
        for row in week(hours):
            all_day = row.periods == ((_MIDNIGHT, None),)
            periods = () if all_day else tuple(_period(b, e, locale) for b, e in row.periods)
            rows.append(HoursRow(day_ranges(list(row.days), locale), periods, all_day))
    closings = tuple(
        f"{format_datetime(c.begin.astimezone(zone), 'medium', tzinfo=zone, locale=locale)}"
        f" {DASH} "
        f"{format_datetime(c.end.astimezone(zone), 'medium', tzinfo=zone, locale=locale)}"
        for c in upcoming_closings(hours, now)
    )
    return HoursView(
        open_now=is_open(hours, zone, now),
        always=hours.twentyfourseven,
        rows=tuple(rows),
        closings=closings,
    )
