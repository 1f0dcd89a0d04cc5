"""The base of every domain error, with its mapping onto each protocol's error vocabulary.

Web adapters render ``status``/``title``/``detail`` as RFC 9457 problem details; the OCPP
gateway uses ``ocpp_code``; the OCPI layer uses ``ocpi_status``.
"""

from __future__ import annotations

from typing import ClassVar


class VoltlaneError(Exception):
    """A failure a caller can act on; never carries another tenant's data."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    ocpp_code: ClassVar[str] = "GenericError"
    ocpi_status: ClassVar[int] = 2000

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class NotFoundError(VoltlaneError):
    status = 404
    title = "Not found"
    ocpi_status = 2003


class ConflictError(VoltlaneError):
    status = 409
    title = "Conflict"


class ValidationError(VoltlaneError):
    status = 422
    title = "Invalid input"
    ocpp_code = "FormationViolation"
    ocpi_status = 2001


class PermissionDeniedError(VoltlaneError):
    status = 403
    title = "Forbidden"
    ocpp_code = "SecurityError"


class RateLimitedError(VoltlaneError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
