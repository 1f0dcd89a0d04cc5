"""Time is timezone-aware UTC everywhere inside Voltlane; local time only at the edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def utcnow() -> datetime:
    """The current instant as an aware UTC datetime."""
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """Reject naive datetimes and normalise aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: Voltlane stores timezone-aware UTC only")
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` and milliseconds: how OCPP and OCPI write time."""
    return ensure_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    """An RFC 3339 timestamp from a protocol message as aware UTC; a timestamp without an
    offset is read as UTC (some chargers omit the Z)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def month_of(day: date) -> tuple[date, date]:
    """The calendar month holding ``day``: its first and last day."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)
