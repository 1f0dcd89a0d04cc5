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


class InvoiceNotFoundError(NotFoundError):
    title = "Document not found"


class AccountNotFoundError(NotFoundError):
    title = "Customer account not found"


class InvoicingNotConfiguredError(ConflictError):
    """The brand's tenant file lacks what every document must show about the seller."""

    title = "Invoicing not configured"


class DocumentConflictError(ConflictError):
    """Two runs raced for the same CDRs; the loser rolls back and its job retries."""

    title = "Document issued concurrently"


class DocumentMismatchError(ConflictError):
    """A receipt would not show its CDR's cents: it is never issued."""

    title = "Document does not match its CDR"


class NotCreditableError(ConflictError):
    """The document is a credit note, or everything on it has been credited already."""

    title = "Document cannot be credited"
