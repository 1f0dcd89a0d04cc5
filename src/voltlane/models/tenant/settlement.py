"""What a driver owes for a session after the brand's own discounts, and loyalty points."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, UuidPk, str_enum


class SessionSettlement(TenantBase):
    """A CDR's settlement, decided once (its primary key) before anything is captured or
    receipted: the loyalty discount and the amount the driver pays. Capture, receipt and
    dunning all read it, so they agree to the cent."""

    __tablename__ = "session_settlements"
    __table_args__ = (
        CheckConstraint("discount_net >= 0 AND discount_vat >= 0", name="discount"),
        CheckConstraint("points_redeemed >= 0", name="points"),
        CheckConstraint("wallet_paid >= 0 AND amount_due >= 0", name="amounts"),
    )

    cdr_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.cdrs.id", ondelete="RESTRICT"), primary_key=True
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="RESTRICT")
    )
    points_redeemed: Mapped[int] = mapped_column(Integer, nullable=False)
    # Minor units: the discount excl. VAT and the VAT it takes off; what is left to pay.
    discount_net: Mapped[int] = mapped_column(BigInteger, nullable=False)
    discount_vat: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # Paid from the account's prepaid wallet; amount_due is what is left for the card.
    wallet_paid: Mapped[int] = mapped_column(
        BigInteger, nullable=False, default=0, server_default=text("0")
    )
    amount_due: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )


class LoyaltyKind(enum.StrEnum):
    EARN = "earn"  # points_per_kwh for a session
    REDEEM = "redeem"  # points spent as a session's discount
    # A credited session: its redeemed points come back (cdr_id: the credit CDR) ...
    RESTORE = "restore"
    # ... and the points it earned are taken back.
    REVOKE = "revoke"


class LoyaltyEntry(UuidPk, TenantBase):
    """A movement of an account's points; the balance is their sum."""

    __tablename__ = "loyalty_entries"
    __table_args__ = (
        Index("uq_loyalty_entries_kind_cdr", "kind", "cdr_id", unique=True),
        Index("ix_loyalty_entries_account", "account_id"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="RESTRICT"), nullable=False
    )
    kind: Mapped[LoyaltyKind] = mapped_column(str_enum(LoyaltyKind, 16), nullable=False)
    points: Mapped[int] = mapped_column(Integer, nullable=False)  # + earned, - redeemed
    cdr_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.cdrs.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )


class WalletKind(enum.StrEnum):
    TOPUP = "topup"  # reference: the top-up payment
    SESSION = "session"  # reference: the CDR paid from the wallet
    REFUND = "refund"  # reference: the credit CDR of a session paid from the wallet
    # A staff member's credit or debit (reason, note and who made it on the entry);
    # reference: the key of the form that asked for it, so a form sent twice moves it once.
    ADJUSTMENT = "adjustment"


class WalletReason(enum.StrEnum):
    """Why staff adjusted a wallet."""

    GOODWILL = "goodwill"  # a credit as a gesture (a charger fault, a long wait)
    CORRECTION = "correction"  # a credit or debit that puts a wrong balance right


class WalletEntry(UuidPk, TenantBase):
    """A movement of an account's prepaid wallet (minor units of ``currency``); the balance
    is their sum. Each top-up and each session moves it once."""

    __tablename__ = "wallet_entries"
    __table_args__ = (
        Index("uq_wallet_entries_kind_reference", "kind", "reference", unique=True),
        Index("ix_wallet_entries_account", "account_id"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        # Exactly the adjustments say why and who made them.
        CheckConstraint(
            "(kind = 'adjustment') = (reason IS NOT NULL AND note IS NOT NULL"
            " AND staff_email IS NOT NULL)",
            name="adjustment_explained",
        ),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="RESTRICT"), nullable=False
    )
    kind: Mapped[WalletKind] = mapped_column(str_enum(WalletKind, 16), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # + top-up, - spent
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reference: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    reason: Mapped[WalletReason | None] = mapped_column(str_enum(WalletReason, 16))
    note: Mapped[str | None] = mapped_column(String(200))
    # No foreign key, like the audit log: the entry outlives a deleted user.
    staff_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    staff_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )
