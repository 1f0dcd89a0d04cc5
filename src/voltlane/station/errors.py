"""Errors of the station domain."""

from __future__ import annotations

from voltlane.core.errors import ConflictError, NotFoundError, ValidationError


class InvalidStationError(ValidationError):
    title = "Invalid station"


class DuplicateStationError(ConflictError):
    title = "Station exists"


class PendingLimitError(ConflictError):
    title = "Too many stations waiting for approval"


class StationNotFoundError(NotFoundError):
    title = "Unknown station"
