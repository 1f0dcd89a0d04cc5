"""Server-side SVG charts: round ticks, local time axes, accessible and escaped markup."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from voltlane.portal.charts import Frame, nice_ticks, time_chart, time_ticks

BERLIN = ZoneInfo("Europe/Berlin")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 24, hour, minute, tzinfo=UTC)


def test_value_ticks_are_round_and_start_at_zero() -> None:
    assert nice_ticks(0, 10) == [0, 2.5, 5, 7.5, 10]
    assert nice_ticks(3.2, 7.25) == [0, 2, 4, 6, 8]
    assert nice_ticks(0, 0.37) == [0, 0.1, 0.2, 0.3, 0.4]
    assert nice_ticks(-3, 4) == [-4, -2, 0, 2, 4]
    assert nice_ticks(0, 0) == [0, 0.25, 0.5, 0.75, 1]


def test_time_ticks_fall_on_the_local_clock() -> None:
    # 10:07 to 11:02 UTC is 11:07 to 12:02 in Berlin: ticks every 10 minutes from 11:10.
    ticks = time_ticks(at(10, 7), at(11, 2), BERLIN)
    assert [t.astimezone(BERLIN).strftime("%H:%M") for t in ticks] == [
        "11:10",
        "11:20",
        "11:30",
        "11:40",
        "11:50",
        "12:00",
    ]
    # Twelve hours (06:30 to 18:30 in Berlin): every 2 hours, on even local hours.
    half_day = time_ticks(at(5, 30), at(17, 30), BERLIN)
    assert [t.astimezone(BERLIN).hour for t in half_day] == [8, 10, 12, 14, 16, 18]


def test_a_line_chart_places_each_point_on_the_axes() -> None:
    svg = str(
        time_chart(
            [(at(10, 30), Decimal(5)), (at(10), 0), (at(11), 10.0)],
            title="Energy delivered",
            description="Energy since the start, 10 kWh in total.",
            unit="kWh",
            zone=ZoneInfo("UTC"),
            chart_id="energy",
            area=False,
        )
    )
    assert svg.startswith(
        '<svg class="chart" role="img" aria-labelledby="energy-title energy-desc" '
        'viewBox="0 0 640 220"'
    )
    assert '<title id="energy-title">Energy delivered</title>' in svg
    assert '<desc id="energy-desc">Energy since the start, 10 kWh in total.</desc>' in svg
    # Points sorted by time: x from 56 to 612, y from 192 (0) to 24 (10), each marked.
    assert (
        '<polyline class="chart-line" aria-hidden="true" points="56.0,192.0 334.0,108.0 '
        '612.0,24.0"/>' in svg
    )
    assert re.findall(r'<circle cx="([0-9.]+)" cy="([0-9.]+)" r="3"/>', svg) == [
        ("56.0", "192.0"),
        ("334.0", "108.0"),
        ("612.0", "24.0"),
    ]
    assert "chart-area" not in svg
    labels = re.findall(r'text-anchor="end" dominant-baseline="middle">([^<]+)<', svg)
    assert labels == ["0", "2.5", "5", "7.5", "10"]
    times = re.findall(r'text-anchor="middle">([0-9:]+)<', svg)
    assert times == ["10:00", "10:10", "10:20", "10:30", "10:40", "10:50", "11:00"]
    assert svg.endswith("</svg>")


def test_an_area_chart_closes_its_polygon_on_the_zero_line() -> None:
    svg = str(
        time_chart(
            [(at(10), 2), (at(11), 4)],
            title="Power",
            description="Power",
            unit="kW",
            zone=ZoneInfo("UTC"),
            chart_id="power",
            frame=Frame(width=200, height=100, left=20, right=0, top=0, bottom=20),
        )
    )
    # y ticks 0..4 over 80 px; x 20..200.
    assert (
        '<polygon class="chart-area" aria-hidden="true" points="20.0,80.0 20.0,40.0 '
        '200.0,0.0 200.0,80.0"/>' in svg
    )


def test_text_is_escaped_and_labels_use_the_given_formats() -> None:
    svg = str(
        time_chart(
            [(at(10), 1500), (at(10, 1), 2500)],
            title="<script>alert(1)</script>",
            description='"quoted" & more',
            unit="W",
            zone=BERLIN,
            chart_id="c",
            format_value=lambda v: f"{v:,.0f}".replace(",", "."),
            format_time=lambda t: t.astimezone(BERLIN).strftime("%Hh%M"),
        )
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "&#x27;" not in svg
    assert "&quot;quoted&quot; &amp; more" in svg
    assert re.findall(r"middle\">([0-9.]+)<", svg) == ["0", "1.000", "2.000", "3.000"]
    assert ">11h00<" in svg
    assert ">11h01<" in svg


def test_no_points_give_a_labelled_empty_chart() -> None:
    svg = str(
        time_chart(
            [],
            title="Power",
            description="No values",
            unit="kW",
            zone=BERLIN,
            chart_id="p",
            empty_text="No power values yet",
        )
    )
    assert '<title id="p-title">Power</title>' in svg
    assert ">No power values yet</text></svg>" in svg
    assert "polyline" not in svg


def test_many_points_are_drawn_as_a_line_without_markers() -> None:
    points = [(at(10, minute), minute) for minute in range(30)]
    svg = str(
        time_chart(points, title="Energy", description="", unit="kWh", zone=BERLIN, chart_id="e")
    )
    assert svg.count(",") == 30 + 32  # the polyline's points and the area's
    assert "<circle" not in svg
