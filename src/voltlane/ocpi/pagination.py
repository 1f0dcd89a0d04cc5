"""Paginated GETs (transport_and_format "Pagination"): ``date_from`` (inclusive),
``date_to`` (exclusive), ``offset`` and ``limit`` in; ``Link``, ``X-Total-Count`` and
``X-Limit`` out, the next page's link keeping every filter of the request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response

from voltlane.ocpi.envelope import invalid, ocpi_response
from voltlane.ocpi.protocol import parse_ocpi_datetime
from voltlane.ocpi.urls import public_base

DEFAULT_MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class PageRequest:
    date_from: datetime | None
    date_to: datetime | None
    offset: int
    limit: int  # already capped at the module's maximum (what X-Limit reports)


def _int(request: Request[Any, Any, Any], name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be a whole number, not {raw!r}.") from None
    if value < 0:
        raise invalid(f"{name} must not be negative.")
    return value


def _datetime(request: Request[Any, Any, Any], name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_ocpi_datetime(raw)
    except ValueError:
        raise invalid(f"{name} must be an OCPI DateTime such as 2026-01-31T12:00:00Z.") from None


def page_request(
    request: Request[Any, Any, Any], max_limit: int = DEFAULT_MAX_LIMIT
) -> PageRequest:
    """The page a GET asks for; OCPI 2001 for a malformed parameter."""
    date_from = _datetime(request, "date_from")
    date_to = _datetime(request, "date_to")
    if date_from is not None and date_to is not None and date_to < date_from:
        raise invalid("date_to must not be before date_from.")
    offset = _int(request, "offset", 0)
    limit = _int(request, "limit", max_limit)
    return PageRequest(date_from, date_to, offset, min(limit, max_limit) or max_limit)


def page_response(
    request: Request[Any, Any, Any],
    page: PageRequest,
    items: Sequence[Any],
    total: int,
    max_limit: int = DEFAULT_MAX_LIMIT,
) -> Response[Any]:
    headers = {"X-Total-Count": str(total), "X-Limit": str(max_limit)}
    next_offset = page.offset + len(items)
    if items and next_offset < total:
        params = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}
        params["offset"] = str(next_offset)
        params["limit"] = str(page.limit)
        url = f"{public_base(request)}{request.url.path}?{urlencode(params)}"
        headers["Link"] = f'<{url}>; rel="next"'
    return ocpi_response(list(items), headers=headers)
