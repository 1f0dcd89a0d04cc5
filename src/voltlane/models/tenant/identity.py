"""Staff of a brand: operator users with roles, their server-side sessions, login attempts."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    String,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voltlane.core.orm import TenantBase, Timestamps, UuidPk, str_enum


class Role(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    OPERATIONS = "operations"
    FINANCE = "finance"
    SUPPORT = "support"
    READ_ONLY = "read_only"
    FLEET_MANAGER = "fleet_manager"


class OperatorUser(UuidPk, Timestamps, TenantBase):
    """A staff member (or fleet manager) who signs in to the brand's portal."""

    __tablename__ = "operator_users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        # A fleet manager sees exactly one fleet; staff of the brand see no fleet in particular.
        CheckConstraint(
            "(role = 'fleet_manager') = (fleet_account_id IS NOT NULL)",
            name="fleet_manager_has_fleet",
        ),
    )

    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[Role] = mapped_column(str_enum(Role, 16), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    locale: Mapped[str | None] = mapped_column(String(16))
    fleet_account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="RESTRICT"), index=True
    )
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class StaffSession(TenantBase):
    """A signed-in browser. The primary key is the SHA-256 of the cookie token."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.operator_users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[OperatorUser] = relationship(lazy="raise")


class LoginAttempt(TenantBase):
    """One sign-in attempt; recent failures throttle by e-mail and by client address."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    ip: Mapped[str | None] = mapped_column(String(45))
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
