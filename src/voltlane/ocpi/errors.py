"""Every error under ``/ocpi`` answered in the OCPI envelope, never as a 500 page.

The OCPI router carries these handlers; ``ocpi_aware`` wraps the app's own handlers so
that what fails before routing (an unknown path, a method a route lacks) is answered in
the same shape.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from voltlane.core.errors import VoltlaneError
from voltlane.ocpi.envelope import OcpiError, ocpi_response
from voltlane.ocpi.protocol import BASE_PATH, Status

log = logging.getLogger(__name__)

Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]


def ocpi_error_handler(_: Request[Any, Any, Any], exc: OcpiError) -> Response[Any]:
    return ocpi_response(status=exc.status, message=exc.message, http_status=exc.http_status)


def domain_error_handler(_: Request[Any, Any, Any], exc: VoltlaneError) -> Response[Any]:
    http_status = 404 if exc.status == 404 else 200
    return ocpi_response(status=exc.ocpi_status, message=exc.detail, http_status=http_status)


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    if isinstance(exc, ValidationException):
        # Litestar's request parsing: a body that is not JSON is an HTTP 400 (status
        # codes: "not a valid JSON string"); bad query values are OCPI 2001.
        detail = str(exc.detail or "invalid request")
        if "JSON" in detail or "json" in detail:
            return ocpi_response(
                status=Status.CLIENT_ERROR, message="The body is not valid JSON.", http_status=400
            )
        return ocpi_response(status=Status.INVALID_PARAMETERS, message=detail)
    status = exc.status_code
    message = {
        401: "Send Authorization: Token <base64 credentials token>.",
        404: "No such OCPI endpoint or object.",
        405: "This endpoint does not accept that method.",
        413: "The request body is too large.",
    }.get(status, str(exc.detail or "request refused"))
    headers = dict(exc.headers) if exc.headers else None
    return ocpi_response(
        status=Status.CLIENT_ERROR, message=message, http_status=status, headers=headers
    )


def unhandled_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.error("unhandled OCPI error", extra={"path": request.url.path}, exc_info=exc)
    return ocpi_response(
        status=Status.SERVER_ERROR,
        message="Internal error; it has been logged.",
        http_status=500,
    )


OCPI_EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    OcpiError: ocpi_error_handler,
    VoltlaneError: domain_error_handler,
    HTTPException: http_error_handler,
    Exception: unhandled_error_handler,
}


def _is_ocpi(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return path == BASE_PATH or path.startswith(BASE_PATH + "/")


def ocpi_aware(handlers: dict[type[Exception] | int, Any]) -> dict[type[Exception] | int, Any]:
    """The app's handlers, answering in the OCPI envelope for paths under ``/ocpi``."""

    def wrap(kind: type[Exception] | int, handler: Handler) -> Handler:
        def dispatch(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
            if _is_ocpi(request):
                for error_type, ocpi_handler in OCPI_EXCEPTION_HANDLERS.items():
                    if isinstance(error_type, type) and isinstance(exc, error_type):
                        result: Response[Any] = ocpi_handler(request, exc)
                        return result
            return handler(request, exc)

        dispatch.__name__ = getattr(handler, "__name__", "handler")
        return dispatch

    return {kind: wrap(kind, handler) for kind, handler in handlers.items()}
