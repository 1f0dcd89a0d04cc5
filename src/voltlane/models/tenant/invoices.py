"""Customer accounts and the documents a brand issues to them: receipts, invoices, credit notes."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, Timestamps, UuidPk, str_enum


class AccountKind(enum.StrEnum):
    DRIVER = "driver"
    FLEET = "fleet"
    PARTNER = "partner"  # a roaming partner: its drivers' sessions on a settlement statement


class Invoicing(enum.StrEnum):
    PER_SESSION = "per_session"  # a receipt for every charging session
    MONTHLY = "monthly"  # one invoice per calendar month (fleets)


class CustomerAccount(UuidPk, Timestamps, TenantBase):
    """Who pays: a driver or a fleet, with the billing details printed on their documents."""

    __tablename__ = "customer_accounts"
    __table_args__ = (
        CheckConstraint("country ~ '^[A-Z]{2}$'", name="country_iso"),
        CheckConstraint("payment_terms_days BETWEEN 0 AND 120", name="payment_terms"),
    )

    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind, 16), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str | None] = mapped_column(String(254))
    locale: Mapped[str] = mapped_column(String(16), nullable=False)
    street: Mapped[str | None] = mapped_column(String(200))
    street2: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), nullable=False)
    vat_id: Mapped[str | None] = mapped_column(String(32))
    # The customer's purchase order or reference, printed on every invoice (EN 16931 BT-10).
    buyer_reference: Mapped[str | None] = mapped_column(String(100))
    invoicing: Mapped[Invoicing] = mapped_column(str_enum(Invoicing, 16), nullable=False)
    payment_terms_days: Mapped[int] = mapped_column(Integer, nullable=False, default=14)
    # A fleet's contract: its sessions are priced by tariffs of segment FLEET with this ref.
    contract: Mapped[str | None] = mapped_column(String(64))
    # The driver's choice: spend loyalty points as a discount on each session.
    redeem_points: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )


class InvoiceKind(enum.StrEnum):
    RECEIPT = "receipt"
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class InvoiceCounter(TenantBase):
    """The last number issued in a series and year. Incremented in the transaction that
    inserts the invoice, so a rolled-back invoice gives its number back: no gaps."""

    __tablename__ = "invoice_counters"

    series: Mapped[str] = mapped_column(String(8), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger, nullable=False)


class Invoice(UuidPk, TenantBase):
    """An issued document. ``document`` holds everything printed on it, so its PDF and UBL
    render the same forever; a trigger refuses changes to it and any DELETE."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("number"),
        # One receipt per session, one invoice per account and month: a re-run finds the
        # document it made before (credit notes are kept unique by the CDRs they credit).
        Index(
            "uq_invoices_receipt_session",
            "session_id",
            unique=True,
            postgresql_where=text("kind = 'receipt'"),
        ),
        Index(
            "uq_invoices_account_period",
            "account_id",
            "period_start",
            unique=True,
            postgresql_where=text("kind = 'invoice'"),
        ),
        Index("ix_invoices_account_issued", "account_id", "issued_at"),
        Index("ix_invoices_corrects_id", "corrects_id"),
        Index("ix_invoices_issued_at", "issued_at"),
        CheckConstraint("(kind = 'credit_note') = (corrects_id IS NOT NULL)", name="credit_refers"),
        CheckConstraint("total_gross = total_net + total_vat", name="totals_add_up"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    )

    number: Mapped[str] = mapped_column(String(32), nullable=False)
    series: Mapped[str] = mapped_column(String(8), nullable=False)
    kind: Mapped[InvoiceKind] = mapped_column(str_enum(InvoiceKind, 16), nullable=False)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="RESTRICT")
    )
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.charging_sessions.id", ondelete="RESTRICT")
    )
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.invoices.id", ondelete="RESTRICT")
    )
    issue_date: Mapped[date] = mapped_column(Date, nullable=False)
    due_date: Mapped[date | None] = mapped_column(Date)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)  # inclusive
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # Minor units; a credit note's amounts are positive (what is credited).
    total_net: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total_vat: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total_gross: Mapped[int] = mapped_column(BigInteger, nullable=False)
    paid: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    issued_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )


class InvoiceCdr(TenantBase):
    """A CDR billed on a document: each CDR is billed exactly once (its primary key).

    ``invoice_id`` is NULL for a CDR credited before it was ever billed (both the CDR and
    its credit are then settled with no document)."""

    __tablename__ = "invoice_cdrs"
    __table_args__ = (Index("ix_invoice_cdrs_invoice_id", "invoice_id"),)

    cdr_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.cdrs.id", ondelete="RESTRICT"), primary_key=True
    )
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.invoices.id", ondelete="RESTRICT")
    )
