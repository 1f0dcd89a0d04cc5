"""Server-side SVG charts of values over time: no JavaScript, readable by screen readers.

A chart is a pure function of its points: the same points give the same markup, so pages
can be cached and tests can assert it. Every chart is an ``<svg role="img">`` named by its
``<title>`` and summarised by its ``<desc>``, with a time axis and a value axis whose ticks
fall on round numbers (1, 2 or 5 times a power of ten; whole minutes, hours or days).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

from markupsafe import Markup

Point = tuple[datetime, Decimal | float | int]

# Up to this many points each gets a marker on the line.
MARKED_POINTS = 24

# Round steps of a time axis, in seconds: 1 min up to 1 week.
_TIME_STEPS = (
    60,
    2 * 60,
    5 * 60,
    10 * 60,
    15 * 60,
    30 * 60,
    3600,
    2 * 3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86400,
    2 * 86400,
    7 * 86400,
)


@dataclass(frozen=True, slots=True)
class Frame:
    """Where the plot sits inside the SVG (the margins hold the tick labels)."""

    width: int = 640
    height: int = 220
    left: int = 56
    right: int = 28
    top: int = 24
    bottom: int = 28

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> int:
        return self.height - self.top - self.bottom


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``low`` .. ``high`` (about ``count`` of them), from 0 when
    every value is positive."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1.0
    raw = (high - low) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(n * step, 10) for n in range(first, last + 1)]


def time_ticks(start: datetime, end: datetime, zone: ZoneInfo, count: int = 6) -> list[datetime]:
    """Round instants between ``start`` and ``end`` (about ``count``), aligned to the
    local clock of ``zone`` (whole minutes, hours, days)."""
    span = max((end - start).total_seconds(), 60.0)
    step = next((s for s in _TIME_STEPS if span / s <= count), _TIME_STEPS[-1])
    local = start.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    offset = (local - midnight).total_seconds()
    first = midnight + timedelta(seconds=math.ceil(offset / step) * step)
    ticks: list[datetime] = []
    at = first
    while at <= end:
        ticks.append(at.astimezone(UTC))
        at = (at + timedelta(seconds=step)).astimezone(zone)
    return ticks


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _coordinate(value: float) -> str:
    return f"{value:.1f}"


def time_chart(
    points: Sequence[Point],
    *,
    title: str,
    description: str,
    unit: str,
    zone: ZoneInfo,
    chart_id: str,
    area: bool = True,
    frame: Frame | None = None,
    format_value: Callable[[float], str] = _number,
    format_time: Callable[[datetime], str] | None = None,
    empty_text: str = "No data",
) -> Markup:
    """An accessible SVG line (or area) chart of ``points`` over time.

    ``title`` names the chart and ``description`` summarises it for screen readers (both
    already in the reader's language); ``unit`` labels the value axis; ``chart_id`` makes
    the ids of its title and description unique on the page. Tick labels go through
    ``format_value`` and ``format_time`` (local ``HH:MM`` in ``zone`` by default).
    """
    frame = frame or Frame()
    show_time = format_time or (lambda at: at.astimezone(zone).strftime("%H:%M"))
    ordered = sorted((at, float(value)) for at, value in points)
    labelled = f'aria-labelledby="{chart_id}-title {chart_id}-desc"'
    parts = [
        f'<svg class="chart" role="img" {labelled} viewBox="0 0 {frame.width} {frame.height}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    if not ordered:
        parts.append(
            f'<text class="chart-empty" x="{frame.width / 2:.1f}" y="{frame.height / 2:.1f}" '
            f'text-anchor="middle">{escape(empty_text)}</text></svg>'
        )
        return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above
    start, end = ordered[0][0], ordered[-1][0]
    if end <= start:
        end = start + timedelta(minutes=1)
    values = [v for _, v in ordered]
    y_ticks = nice_ticks(min(values), max(values))
    y_low, y_high = y_ticks[0], y_ticks[-1]
    seconds = (end - start).total_seconds()

    def x(at: datetime) -> float:
        return frame.left + (at - start).total_seconds() / seconds * frame.plot_width

    def y(value: float) -> float:
        return frame.top + (y_high - value) / (y_high - y_low) * frame.plot_height

    bottom = frame.top + frame.plot_height
    right = frame.left + frame.plot_width
    parts.append('<g class="chart-axis chart-y" aria-hidden="true">')
    for tick in y_ticks:
        ty = _coordinate(y(tick))
        parts.append(
            f'<line class="chart-grid" x1="{frame.left}" x2="{right}" y1="{ty}" y2="{ty}"/>'
            f'<text x="{frame.left - 6}" y="{ty}" text-anchor="end" dominant-baseline="middle">'
            f"{escape(format_value(tick))}</text>"
        )
    parts.append(
        f'<text class="chart-unit" x="{frame.left - 6}" y="{frame.top - 10}" '
        f'text-anchor="end">{escape(unit)}</text></g>'
    )
    parts.append('<g class="chart-axis chart-x" aria-hidden="true">')
    parts.append(f'<line x1="{frame.left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>')
    for instant in time_ticks(start, end, zone):
        tx = _coordinate(x(instant))
        parts.append(
            f'<line x1="{tx}" x2="{tx}" y1="{bottom}" y2="{bottom + 4}"/>'
            f'<text x="{tx}" y="{bottom + 16}" text-anchor="middle">'
            f"{escape(show_time(instant))}</text>"
        )
    parts.append("</g>")
    line = " ".join(f"{_coordinate(x(at))},{_coordinate(y(v))}" for at, v in ordered)
    if area:
        base = _coordinate(y(max(y_low, 0.0)))
        first_x, last_x = _coordinate(x(ordered[0][0])), _coordinate(x(ordered[-1][0]))
        parts.append(
            f'<polygon class="chart-area" aria-hidden="true" '
            f'points="{first_x},{base} {line} {last_x},{base}"/>'
        )
    parts.append(f'<polyline class="chart-line" aria-hidden="true" points="{line}"/>')
    if len(ordered) <= MARKED_POINTS:
        # Few readings: each one shown, so a single value is still visible.
        parts.append('<g class="chart-points" aria-hidden="true">')
        parts.extend(
            f'<circle cx="{_coordinate(x(at))}" cy="{_coordinate(y(v))}" r="3"/>'
            for at, v in ordered
        )
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text in it is escaped above
