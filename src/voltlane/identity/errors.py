"""Errors of the identity domain."""

from __future__ import annotations

from voltlane.core.errors import ConflictError, ValidationError


class InvalidUserError(ValidationError):
    title = "Invalid user"


class DuplicateUserError(ConflictError):
    title = "User exists"
