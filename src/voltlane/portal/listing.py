"""A list page of the settings, audit and fleet sections: CSV at ``?format=csv``, else one
page of rows (the table fragment alone for HTMX), with filter errors shown beside the filters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response

from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.pages import Fetch, list_page


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
    return await list_page(
        request,
        staff,
        fetch,
        page=page,
        format=format,
        filename=view.filename,
        columns=view.columns,
        template=view.template,
        fragment=view.fragment,
        query=filters,
        errors=errors,
        context={"filters": filters or {}, "errors": errors or {}, **(context or {})},
    )
