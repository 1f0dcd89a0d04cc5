"""Errors of monitoring, with the field of the form they belong to."""

from __future__ import annotations

from voltlane.core.errors import NotFoundError, ValidationError


class AlertNotFoundError(NotFoundError):
    title = "Alert not found"


class RuleNotFoundError(NotFoundError):
    title = "Alert rule not found"


class DowntimeNotFoundError(NotFoundError):
    title = "Planned downtime not found"


class InvalidInputError(ValidationError):
    """Several fields of one form can be wrong at once: ``errors`` maps each to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field)
        self.errors = errors
