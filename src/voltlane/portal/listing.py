"""A list page of the settings, audit and fleet sections: CSV at ``?format=csv``, else one
page of rows (the table fragment alone for HTMX), with filter errors shown beside the filters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.pages import CSV_MAX_ROWS, Pager, csv_response, render

# Rows of a list from (limit, offset).
Fetch = Callable[[int, int], Awaitable[Sequence[Any]]]


@dataclass(frozen=True, slots=True)
class ListView:
    """One list: its CSV download and its page with the table fragment."""

    filename: str
    columns: tuple[tuple[str, Callable[[Any], Any]], ...]
    template: str
    fragment: str


async def list_response(
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    view: ListView,
    fetch: Fetch,
    *,
    page: int,
    format: str,  # noqa: A002 - the query parameter's name
    filters: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    context: Mapping[str, Any] | None = None,
) -> Response[Any]:
    """The list as CSV or one page of it; with filter errors, the page (status 400) with the
    errors beside the filters and no rows."""
    if format == "csv" and not errors:
        return csv_response(view.filename, view.columns, await fetch(CSV_MAX_ROWS, 0))
    pager = Pager(page)
    rows = [] if errors else await fetch(pager.limit, pager.offset)
    return render(
        request,
        staff,
        view.template,
        {
            "page": pager.page(rows, query=filters),
            "filters": filters or {},
            "errors": errors or {},
            **(context or {}),
        },
        fragment=view.fragment,
        status_code=400 if errors else 200,
    )
