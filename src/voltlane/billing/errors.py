"""Errors of the billing domain."""

from __future__ import annotations

from voltlane.core.errors import ConflictError, NotFoundError


class NoTariffError(ConflictError):
    """No tariff version is assigned or in force where and when a session ran."""

    title = "No tariff"


class CdrNotFoundError(NotFoundError):
    title = "CDR not found"


class SessionNotRatableError(ConflictError):
    """The session cannot be priced (yet): still running, or its energy needs review."""

    title = "Session cannot be priced"
