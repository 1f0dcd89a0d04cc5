"""Subscription plans a brand sells and the accounts that subscribe to them."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, Timestamps, UuidPk


class SubscriptionPlan(UuidPk, Timestamps, TenantBase):
    """A monthly plan: its fee, and its prices as the tariffs of segment SUBSCRIPTION whose
    ``segment_ref`` is the plan's code (priced by the one engine like any tariff)."""

    __tablename__ = "subscription_plans"
    __table_args__ = (
        UniqueConstraint("code"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint("monthly_fee >= 0", name="fee_not_negative"),
        CheckConstraint("vat_rate >= 0 AND vat_rate < 100", name="vat_rate"),
        CheckConstraint("included_kwh >= 0", name="included_kwh"),
    )

    code: Mapped[str] = mapped_column(String(36), nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    monthly_fee: Mapped[Decimal] = mapped_column(Numeric(12, 4), nullable=False)  # excl. VAT
    vat_rate: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False)  # percent
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Energy of the ENERGY component not charged per billing month (docs/tariffs.md); 0: none.
    included_kwh: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default=text("0")
    )


class Subscription(UuidPk, Timestamps, TenantBase):
    """An account on a plan from ``starts_on`` to ``ends_on`` (inclusive; None: open)."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_account", "account_id", "starts_on"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="period"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="RESTRICT"), nullable=False
    )
    plan_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.subscription_plans.id", ondelete="RESTRICT"), nullable=False
    )
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date | None] = mapped_column(Date)


class SubscriptionCharge(TenantBase):
    """A subscription's fee for one month, billed once (its primary key) on ``invoice_id``."""

    __tablename__ = "subscription_charges"

    subscription_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.subscriptions.id", ondelete="RESTRICT"), primary_key=True
    )
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.invoices.id", ondelete="RESTRICT"), nullable=False
    )
