"""Interval arithmetic behind availability."""

from __future__ import annotations

from datetime import UTC, datetime

from voltlane.monitoring.intervals import intersect, seconds, subtract, union


def at(hour: int) -> datetime:
    return datetime(2026, 11, 2, hour, tzinfo=UTC)


def test_union_merges_overlapping_and_touching_intervals_and_drops_empty_ones() -> None:
    assert union(
        [(at(5), at(7)), (at(1), at(3)), (at(3), at(4)), (at(6), at(8)), (at(9), at(9))]
    ) == [
        (at(1), at(4)),
        (at(5), at(8)),
    ]


def test_intersect_keeps_only_the_common_time() -> None:
    assert intersect([(at(1), at(4)), (at(6), at(10))], [(at(3), at(7)), (at(9), at(11))]) == [
        (at(3), at(4)),
        (at(6), at(7)),
        (at(9), at(10)),
    ]


def test_subtract_cuts_holes_and_ends() -> None:
    assert subtract([(at(0), at(10))], [(at(2), at(3)), (at(5), at(6)), (at(9), at(12))]) == [
        (at(0), at(2)),
        (at(3), at(5)),
        (at(6), at(9)),
    ]
    assert subtract([(at(1), at(2))], [(at(0), at(3))]) == []
    assert seconds([(at(1), at(2)), (at(4), at(7))]) == 4 * 3600
