"""Errors of the tenancy domain."""

from __future__ import annotations

from voltlane.core.errors import ConflictError, NotFoundError


class TenantNotFoundError(NotFoundError):
    title = "Unknown brand"


class TenantConflictError(ConflictError):
    title = "Brand conflict"
