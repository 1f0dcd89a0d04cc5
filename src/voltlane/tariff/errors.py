"""Errors of the tariff domain."""

from __future__ import annotations

from voltlane.core.errors import ValidationError


class TariffError(ValidationError):
    """A tariff, a session trace or an OCPI payload the pricing engine cannot accept."""

    title = "Invalid tariff"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message, field=field)
        self.message = message

    def within(self, prefix: str) -> TariffError:
        """The same error with its field placed under ``prefix`` (for nested OCPI objects)."""
        return TariffError(self.message, field=f"{prefix}.{self.field}" if self.field else prefix)
