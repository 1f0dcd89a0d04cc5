"""A session's last half hour as an inline SVG sparkline: its allocated limit as a step line
and its measured current as a line, on one scale from 0 A. Server-rendered, no JavaScript;
the template writes the ``<svg>`` with a translated title around these points."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from voltlane.smart_charging.overview import HISTORY, SessionHistory

WIDTH = 160
HEIGHT = 32


@dataclass(frozen=True, slots=True)
class Sparkline:
    limit_points: str  # SVG polyline points, "" when nothing was allocated in the window
    current_points: str  # "" when no current was measured in the window
    top_a: Decimal  # the current at the top edge


def _x(at: datetime, now: datetime) -> str:
    share = 1 - (now - at) / HISTORY
    return f"{max(0.0, min(1.0, share)) * WIDTH:.1f}"


def _y(value: Decimal, top: Decimal) -> str:
    return f"{float(HEIGHT - value / top * HEIGHT):.1f}"


def sparkline(history: SessionHistory, now: datetime) -> Sparkline:
    """The points of ``history`` drawn over the ``HISTORY`` that ends at ``now``."""
    values = [v for _, v in history.limits] + [v for _, v in history.currents]
    top = max([Decimal(1), *values])
    limit: list[str] = []
    for at, value in history.limits:
        x = _x(at, now)
        if limit:  # a step: the previous limit holds until this one is decided
            limit.append(f"{x},{limit[-1].split(',')[1]}")
        limit.append(f"{x},{_y(value, top)}")
    if limit:
        limit.append(f"{WIDTH:.1f},{limit[-1].split(',')[1]}")
    current = [f"{_x(at, now)},{_y(value, top)}" for at, value in history.currents]
    return Sparkline(" ".join(limit), " ".join(current), top)
