"""Errors of driver identity, with the form field each belongs to."""

from __future__ import annotations

from collections.abc import Mapping

from voltlane.core.errors import ConflictError, NotFoundError, ValidationError


class DriverFormError(ValidationError):
    """One or more fields of a driver's form are not acceptable; ``errors`` maps each field
    to its message, so a page can show every message beside its field at once."""

    title = "Invalid driver details"

    def __init__(self, errors: Mapping[str, str]) -> None:
        field, detail = next(iter(errors.items()))
        super().__init__(detail, field=field)
        self.errors = dict(errors)


class DuplicateDriverError(ConflictError):
    title = "Driver exists"


class LinkInvalidError(NotFoundError):
    """An e-mail link that is unknown, used or expired: all read the same."""

    title = "Link not valid"


class DriverNotFoundError(NotFoundError):
    title = "Unknown driver"


class CardNotFoundError(NotFoundError):
    """Not one of the driver's cards (another account's or brand's reads the same)."""

    title = "Unknown card"


class ReceiptNotFoundError(NotFoundError):
    """Not one of the driver's documents (another account's or brand's reads the same)."""

    title = "Unknown receipt"
