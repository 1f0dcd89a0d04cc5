"""Errors as RFC 9457 problem details (JSON clients) or a branded error page (browsers)."""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response.base import ASGIResponse
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from voltlane.core.errors import RateLimitedError, VoltlaneError
from voltlane.core.text import N_

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
# The title of each status: English in problem details, the reader's language on the error
# page (which falls back to it where a domain error's own title has no translation).
STATUS_TITLES = {
    400: N_("Bad request"),
    401: N_("Sign-in required"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Request too large"),
    415: N_("Unsupported media type"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Internal error"),
}
ERROR = N_("Error")


def problem_body(
    *, status: int, title: str, detail: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_asgi_response(*, status: int, title: str, detail: str | None = None) -> ASGIResponse:
    """A raw ASGI response for middleware that runs before routing."""
    return ASGIResponse(
        body=json.dumps(problem_body(status=status, title=title, detail=detail)),
        status_code=status,
        media_type=PROBLEM_JSON,
    )


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not request.url.path.startswith("/api/")


def _problem(
    request: Request[Any, Any, Any],
    status: int,
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    if _wants_html(request):
        renderer = request.app.state["web"].renderer
        html = renderer.error_page(
            request,
            status=status,
            title=body["title"],
            detail=body.get("detail"),
            fallback_title=STATUS_TITLES.get(status, ERROR),
        )
        if html is not None:
            return Response(html, status_code=status, media_type=MediaType.HTML, headers=headers)
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def voltlane_error_handler(request: Request[Any, Any, Any], exc: VoltlaneError) -> Response[Any]:
    headers = None
    if isinstance(exc, RateLimitedError):
        headers = {"Retry-After": str(exc.retry_after)}
    body = problem_body(status=exc.status, title=exc.title, detail=exc.detail, field=exc.field)
    return _problem(request, exc.status, body, headers)


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    title = STATUS_TITLES.get(status, ERROR)
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException) and exc.extra:
        extra["errors"] = exc.extra
    detail = exc.detail if exc.detail and exc.detail != title else None
    headers = dict(exc.headers) if exc.headers else None
    return _problem(
        request, status, problem_body(status=status, title=title, detail=detail, **extra), headers
    )


def unhandled_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled error", extra={"path": request.url.path}, exc_info=exc)
    body = problem_body(
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        title=STATUS_TITLES[HTTP_500_INTERNAL_SERVER_ERROR],
        detail=N_("Something went wrong on our side; it has been logged."),
    )
    return _problem(request, HTTP_500_INTERNAL_SERVER_ERROR, body)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    VoltlaneError: voltlane_error_handler,
    HTTPException: http_error_handler,
    Exception: unhandled_error_handler,
}
