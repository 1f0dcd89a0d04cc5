"""Errors of the operator API and how its validation failures read as problem details."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import NotAuthorizedException, ValidationException

from voltlane.core.errors import ConflictError, ValidationError
from voltlane.web.problems import PROBLEM_JSON, problem_body

# msgspec names the field in the message when the error is about the object holding it.
_FIELD_IN_MESSAGE = re.compile(r"(?:missing required|unknown) field `([^`]+)`")
AUTH_CHALLENGE = 'Bearer realm="Voltlane API"'


class StationNotConnectedError(ConflictError):
    title = "Station not connected"


class CommandNotSupportedError(ValidationError):
    title = "Command not supported"


class ApiKeyRequiredError(NotAuthorizedException):
    """No usable API key: missing, malformed, unknown, revoked or another brand's."""


def api_key_error_handler(
    request: Request[Any, Any, Any], exc: ApiKeyRequiredError
) -> Response[Any]:
    del request
    return Response(
        problem_body(status=401, title="API key required", detail=exc.detail),
        status_code=401,
        media_type=PROBLEM_JSON,
        headers={"WWW-Authenticate": AUTH_CHALLENGE},
    )


def _field(error: dict[str, Any]) -> str | None:
    key = str(error.get("key") or "")
    found = _FIELD_IN_MESSAGE.search(str(error.get("message") or ""))
    if key == "data":
        return found.group(1) if found else None
    if found:
        return f"{key}.{found.group(1)}"
    return key or None


def validation_error_handler(
    request: Request[Any, Any, Any], exc: ValidationException
) -> Response[Any]:
    """422 with every failing field named (``field`` is the first of them)."""
    del request
    raw = exc.extra if isinstance(exc.extra, list) else []
    errors = [
        {"field": _field(e), "message": e.get("message"), "source": e.get("source")}
        for e in raw
        if isinstance(e, dict)
    ]
    if not errors or errors == [{"field": None, "message": "'data'", "source": "body"}]:
        body = problem_body(status=400, title="Bad request", detail="Send a JSON object body.")
        return Response(body, status_code=400, media_type=PROBLEM_JSON)
    first = errors[0]
    body = problem_body(
        status=422,
        title="Invalid input",
        detail=f"{first['field']}: {first['message']}" if first["field"] else first["message"],
        field=first["field"],
        errors=errors,
    )
    return Response(body, status_code=422, media_type=PROBLEM_JSON)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    ApiKeyRequiredError: api_key_error_handler,
    ValidationException: validation_error_handler,
}
