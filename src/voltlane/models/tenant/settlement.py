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
    amount_due: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )


class LoyaltyKind(enum.StrEnum):
    EARN = "earn"  # points_per_kwh for a session
    REDEEM = "redeem"  # points spent as a session's discount


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
