"""Payments of a brand: one row per business payment, every PSP call, every webhook event."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
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


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"  # written, the PSP has not answered (yet)
    REQUIRES_ACTION = "requires_action"  # 3-D Secure: the driver must act
    AUTHORIZED = "authorized"
    OUTSTANDING = "outstanding"  # the capture is due but the PSP could not be reached
    FAILED = "failed"
    CAPTURED = "captured"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class OperationKind(enum.StrEnum):
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    CANCEL = "cancel"
    REFUND = "refund"
    CHARGE = "charge"  # authorized and captured at once, off-session (a shortfall)


class OperationState(enum.StrEnum):
    PENDING = "pending"  # committed before the call: the call may or may not have been sent
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the PSP answered no: a new attempt needs a new key
    UNKNOWN = "unknown"  # timeout or no connection: retried with the same key


class PaymentPurpose(enum.StrEnum):
    SESSION = "session"  # a charging session, pre-authorized then captured from its CDR
    WALLET_TOPUP = "wallet_topup"  # money onto an account's prepaid wallet
    # What a CDR cost above its session's hold: charged off-session to the stored card, or
    # left open (a guest) for finance to collect.
    SHORTFALL = "shortfall"


class DunningState(enum.StrEnum):
    """Where the recovery of a failed payment stands."""

    SCHEDULED = "scheduled"  # the stored payment method is charged again at next_dunning_at
    RECOVERED = "recovered"  # a retry was paid
    EXHAUSTED = "exhausted"  # every retry failed: the driver's token was blocked


class Payment(UuidPk, Timestamps, TenantBase):
    """Money through the PSP: a charging session's (pre-authorized at start, captured from its
    CDR), a wallet top-up's (authorized and captured at once) or a shortfall's (what the CDR
    cost above the session's hold, charged at once; it names the CDR, not the session)."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("session_id"),
        UniqueConstraint("charge_request_id"),
        Index("ix_payments_psp_reference", "provider", "psp_reference"),
        Index("ix_payments_status", "status"),
        Index(
            "ix_payments_dunning_due",
            "next_dunning_at",
            postgresql_where=text("dunning_state = 'scheduled'"),
        ),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint(
            "amount_authorized >= 0 AND amount_captured >= 0 AND amount_refunded >= 0"
            " AND amount_refunded <= amount_captured",
            name="amounts",
        ),
        CheckConstraint(
            "(purpose = 'session' AND (session_id IS NOT NULL OR charge_request_id IS NOT NULL))"
            " OR (purpose = 'wallet_topup' AND account_id IS NOT NULL AND session_id IS NULL)"
            " OR (purpose = 'shortfall' AND cdr_id IS NOT NULL AND session_id IS NULL"
            " AND charge_request_id IS NULL AND account_id IS NULL)",
            name="purpose_refers",
        ),
        Index(
            "uq_payments_shortfall_cdr_id",
            "cdr_id",
            unique=True,
            postgresql_where=text("purpose = 'shortfall'"),
        ),
    )

    purpose: Mapped[PaymentPurpose] = mapped_column(
        str_enum(PaymentPurpose, 16),
        nullable=False,
        default=PaymentPurpose.SESSION,
        server_default=text("'session'"),
    )
    # A session's payment names its session; a wallet top-up names the account it credits.
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.charging_sessions.id", ondelete="RESTRICT")
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="RESTRICT")
    )
    # Pre-authorized from the driver app before the session exists; session_id follows
    # once the charger reports the session.
    charge_request_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.charge_requests.id", ondelete="RESTRICT")
    )
    cdr_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.cdrs.id", ondelete="RESTRICT")
    )
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    # Minor units of ``currency``.
    amount_authorized: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_captured: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # PSP references (customer, stored payment method), never card data.
    customer_ref: Mapped[str | None] = mapped_column(String(255))
    payment_method_ref: Mapped[str | None] = mapped_column(String(255))
    psp_reference: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[PaymentStatus] = mapped_column(str_enum(PaymentStatus, 16), nullable=False)
    # 3-D Secure: what the driver's app needs to complete the challenge.
    action: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Dunning: retries of a failed payment on the stored payment method (billing.dunning).
    dunning_state: Mapped[DunningState | None] = mapped_column(str_enum(DunningState, 16))
    dunning_attempts: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default=text("0")
    )
    next_dunning_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PaymentOperation(UuidPk, Timestamps, TenantBase):
    """One call to the PSP, committed with its idempotency key BEFORE the call is sent."""

    __tablename__ = "payment_operations"
    __table_args__ = (
        UniqueConstraint("idempotency_key"),
        Index("ix_payment_operations_payment_id", "payment_id"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.payments.id", ondelete="RESTRICT"), nullable=False
    )
    kind: Mapped[OperationKind] = mapped_column(str_enum(OperationKind, 16), nullable=False)
    idempotency_key: Mapped[str] = mapped_column(String(100), nullable=False)
    amount: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[OperationState] = mapped_column(str_enum(OperationState, 16), nullable=False)
    response_reference: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(500))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookEvent(UuidPk, TenantBase):
    """A verified PSP notification, stored once per (provider, event id)."""

    __tablename__ = "webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    event_id: Mapped[str] = mapped_column(String(255), nullable=False)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    psp_reference: Mapped[str | None] = mapped_column(String(64))
    # The PaymentStatus the event reports (None: an event Voltlane does not act on).
    status: Mapped[str | None] = mapped_column(String(16))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StoredPaymentMethod(UuidPk, Timestamps, TenantBase):
    """A card a driver saved through the PSP's hosted page: Voltlane keeps the PSP's
    references and what the driver recognises it by, never card data."""

    __tablename__ = "stored_payment_methods"
    __table_args__ = (
        UniqueConstraint("provider", "payment_method_ref"),
        Index(
            "ix_stored_payment_methods_one_default",
            "account_id",
            unique=True,
            postgresql_where=text("is_default"),
        ),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="CASCADE"), nullable=False
    )
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    customer_ref: Mapped[str | None] = mapped_column(String(255))
    payment_method_ref: Mapped[str] = mapped_column(String(255), nullable=False)
    label: Mapped[str] = mapped_column(String(60), nullable=False)  # "Visa •••• 4242"
    expires: Mapped[str | None] = mapped_column(String(7))  # "12/2030"
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
