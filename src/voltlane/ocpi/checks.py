"""Field checks for bodies partners send (types.asciidoc): each failure is OCPI 2001
naming the field, so a bad body never reaches the database or becomes a 500."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from voltlane.ocpi.envelope import invalid
from voltlane.ocpi.protocol import parse_ocpi_datetime

# Enums shared by tokens and commands (mod_tokens.asciidoc, mod_sessions.asciidoc).
TOKEN_TYPES = frozenset({"AD_HOC_USER", "APP_USER", "OTHER", "RFID"})
WHITELIST_TYPES = frozenset({"ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"})
PROFILE_TYPES = frozenset({"CHEAP", "FAST", "GREEN", "REGULAR"})


def body_object(data: Any, name: str = "body") -> Mapping[str, Any]:
    if not isinstance(data, dict):
        raise invalid(f"{name} must be a JSON object")
    return data


def _printable_ascii(value: str) -> bool:
    return all(" " <= ch <= "~" for ch in value)


def _printable(value: str) -> bool:
    return all(ch.isprintable() for ch in value)


def _given(body: Mapping[str, Any], field: str, *, required: bool, prefix: str) -> tuple[str, Any]:
    """The field's name as errors say it and its value; 2001 when a required one is
    missing (None when an optional one is)."""
    name = prefix + field
    value = body.get(field)
    if value is None and required:
        raise invalid(f"{name} is required")
    return name, value


def ci_string(
    body: Mapping[str, Any], field: str, length: int, *, required: bool = True, prefix: str = ""
) -> str | None:
    """A CiString(length): printable ASCII, at most ``length`` characters."""
    name, value = _given(body, field, required=required, prefix=prefix)
    if value is None:
        return None
    if not isinstance(value, str) or not _printable_ascii(value):
        raise invalid(f"{name} must be a string of printable ASCII")
    if required and not value:
        raise invalid(f"{name} must not be empty")
    if len(value) > length:
        raise invalid(f"{name} is longer than {length} characters")
    return value


def string(
    body: Mapping[str, Any], field: str, length: int, *, required: bool = True, prefix: str = ""
) -> str | None:
    """A string(length): printable UTF-8, at most ``length`` characters."""
    name, value = _given(body, field, required=required, prefix=prefix)
    if value is None:
        return None
    if not isinstance(value, str) or not _printable(value):
        raise invalid(f"{name} must be a string of printable characters")
    if len(value) > length:
        raise invalid(f"{name} is longer than {length} characters")
    return value


def required_str(value: str | None) -> str:
    """For type checkers: a field checked with ``required=True`` is a str."""
    if value is None:  # pragma: no cover - the checks above raise first
        raise invalid("a required field is missing")
    return value


def enum_value(
    body: Mapping[str, Any],
    field: str,
    allowed: Iterable[str],
    *,
    required: bool = True,
    prefix: str = "",
) -> str | None:
    name, value = _given(body, field, required=required, prefix=prefix)
    if value is None:
        return None
    values = sorted(allowed)
    if not isinstance(value, str) or value not in values:
        raise invalid(f"{name} must be one of {', '.join(values)}")
    return value


def boolean(body: Mapping[str, Any], field: str, *, prefix: str = "") -> bool:
    value = body.get(field)
    if not isinstance(value, bool):
        raise invalid(f"{prefix}{field} must be true or false")
    return value


def integer(
    body: Mapping[str, Any], field: str, *, required: bool = True, prefix: str = ""
) -> int | None:
    name, value = _given(body, field, required=required, prefix=prefix)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise invalid(f"{name} must be a non-negative integer")
    return value


def date_time(
    body: Mapping[str, Any], field: str, *, required: bool = True, prefix: str = ""
) -> datetime | None:
    name, value = _given(body, field, required=required, prefix=prefix)
    if value is None:
        return None
    try:
        return parse_ocpi_datetime(value)
    except (ValueError, TypeError):
        raise invalid(f"{name} must be an OCPI DateTime (2019-06-24T12:39:09Z)") from None


def url(body: Mapping[str, Any], field: str, length: int = 255) -> str:
    value = required_str(string(body, field, length))
    if not value.startswith(("https://", "http://")):
        raise invalid(f"{field} must be an http(s) URL")
    return value


def same_ci(field: str, value: str | None, expected: str) -> None:
    """A body's identity field must equal the URL's (CiString: case does not count)."""
    if value is not None and value.upper() != expected.upper():
        raise invalid(f"{field} {value!r} differs from the URL's {expected!r}")
