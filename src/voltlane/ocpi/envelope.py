"""The OCPI response format (transport_and_format.asciidoc "Response format") and the
errors that end a request with an OCPI status code."""

from __future__ import annotations

from typing import Any

from litestar import Response

from voltlane.core.clock import utcnow
from voltlane.ocpi.protocol import Status, ocpi_datetime

_UNSET: Any = object()


def envelope(
    data: Any = _UNSET, *, status: int = Status.SUCCESS, message: str | None = None
) -> dict[str, Any]:
    """``{data, status_code, status_message, timestamp}``; ``data`` left out when the
    module says nothing about it (the spec advises leaving it unset then)."""
    body: dict[str, Any] = {}
    if data is not _UNSET:
        body["data"] = data
    body["status_code"] = int(status)
    if message:
        body["status_message"] = message
    body["timestamp"] = ocpi_datetime(utcnow())
    return body


def ocpi_response(
    data: Any = _UNSET,
    *,
    status: int = Status.SUCCESS,
    message: str | None = None,
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    return Response(
        envelope(data, status=status, message=message),
        status_code=http_status,
        media_type="application/json",
        headers=headers,
    )


class OcpiError(Exception):
    """Ends a request with an OCPI status code (and the HTTP status the spec asks for:
    200 when the request reached the OCPI layer, 404 for an object that does not exist,
    405 for a method the state does not allow, 401 for a credentials problem)."""

    def __init__(self, status: Status, message: str, *, http_status: int = 200) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.http_status = http_status


def invalid(message: str) -> OcpiError:
    """2001: invalid or missing parameters."""
    return OcpiError(Status.INVALID_PARAMETERS, message)


def not_found(message: str, status: Status = Status.CLIENT_ERROR) -> OcpiError:
    return OcpiError(status, message, http_status=404)


def unauthorized(message: str) -> OcpiError:
    return OcpiError(Status.CLIENT_ERROR, message, http_status=401)
