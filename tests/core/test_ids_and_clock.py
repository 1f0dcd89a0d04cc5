"""Identifiers are UUIDv7 (time-ordered); time is aware UTC."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from voltlane.core.clock import ensure_utc, utcnow
from voltlane.core.ids import new_id


def test_new_id_is_version_7_with_rfc_variant_and_current_millis() -> None:
    before = time.time_ns() // 1_000_000
    value = new_id()
    after = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == "specified in RFC 4122"
    assert before <= value.int >> 80 <= after


def test_ids_created_later_sort_later() -> None:
    first = new_id()
    time.sleep(0.002)
    second = new_id()
    assert first < second


def test_utcnow_is_aware_utc() -> None:
    assert utcnow().tzinfo is UTC


def test_ensure_utc_converts_and_refuses_naive() -> None:
    berlin = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    assert ensure_utc(berlin) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="naive"):
        ensure_utc(datetime(2026, 1, 1))
