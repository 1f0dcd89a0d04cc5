"""Drivers of a brand's app: their sign-in, server-side sessions, one-time e-mail links,
charge requests started from the app, and web push subscriptions."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, Timestamps, UuidPk, str_enum


class DriverLogin(UuidPk, Timestamps, TenantBase):
    """How a driver signs in to the app: e-mail and password, or an OpenID Connect provider.
    The driver's billing details live on their customer account."""

    __tablename__ = "driver_logins"
    __table_args__ = (
        UniqueConstraint("account_id"),
        UniqueConstraint("oidc_provider", "oidc_subject"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint(
            "password_hash IS NOT NULL OR oidc_subject IS NOT NULL", name="can_sign_in"
        ),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="RESTRICT"), nullable=False
    )
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    oidc_provider: Mapped[str | None] = mapped_column(String(40))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the driver accepted the brand's terms of use (at sign-up).
    terms_accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DriverSession(TenantBase):
    """A signed-in app: the cookie holds a random token, the table its SHA-256."""

    __tablename__ = "driver_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.driver_logins.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    last_seen_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    user_agent: Mapped[str | None] = mapped_column(String(255))


class EmailLinkPurpose(enum.StrEnum):
    VERIFY = "verify"  # confirms the address given at sign-up
    RESET = "reset"  # sets a new password


class DriverEmailLink(TenantBase):
    """A one-time link sent by e-mail; the table keeps only its token's SHA-256."""

    __tablename__ = "driver_email_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.driver_logins.id", ondelete="CASCADE"), nullable=False, index=True
    )
    purpose: Mapped[EmailLinkPurpose] = mapped_column(
        str_enum(EmailLinkPurpose, 16), nullable=False
    )
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ChargeRequestStatus(enum.StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"  # a guest has not entered a card yet
    AUTHORIZING = "authorizing"  # the pre-authorization is with the PSP
    STARTING = "starting"  # the remote start went to the charger
    CHARGING = "charging"  # the charger reported the session
    FINISHED = "finished"  # the session ended
    FAILED = "failed"  # see ``failure``; nothing was charged beyond a released hold
    CANCELLED = "cancelled"  # the driver gave up before the start


class ChargeRequest(UuidPk, Timestamps, TenantBase):
    """A driver's "start charging here" from the app: who pays, the id token the remote start
    carries, and the charging session it became."""

    __tablename__ = "charge_requests"
    __table_args__ = (
        UniqueConstraint("id_token"),
        UniqueConstraint("session_id"),
        Index("ix_charge_requests_account", "account_id", "created_at"),
        # The sweep looks for requests whose charger never reported a session.
        Index(
            "ix_charge_requests_open",
            "status",
            postgresql_where=text("status IN ('authorizing', 'starting', 'charging')"),
        ),
        CheckConstraint("account_id IS NOT NULL OR guest_email IS NOT NULL", name="someone_pays"),
    )

    evse_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.evses.id", ondelete="RESTRICT"), nullable=False
    )
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="RESTRICT")
    )
    guest_email: Mapped[str | None] = mapped_column(String(254))
    # The token the remote start carries (20 characters: fits an OCPP 1.6 idTag).
    id_token: Mapped[str] = mapped_column(String(20), nullable=False)
    # SHA-256 of the secret in the guest's link to the live screen and receipt.
    access_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[ChargeRequestStatus] = mapped_column(
        str_enum(ChargeRequestStatus, 20), nullable=False
    )
    failure: Mapped[str | None] = mapped_column(String(32))
    command_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.station_commands.id", ondelete="RESTRICT")
    )
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.charging_sessions.id", ondelete="RESTRICT")
    )
    locale: Mapped[str | None] = mapped_column(String(16))
    # The PSP's reference of the hosted card page the driver was sent to.
    card_entry_ref: Mapped[str | None] = mapped_column(String(255))
    # Paid from the account's prepaid wallet: no hold at the PSP.
    wallet: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=text("false")
    )
    # A request still starting at this time failed: nobody plugged in (or the start was
    # never answered). Set when the start is sent, moved on once the charger accepts it.
    plug_in_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PushSubscription(UuidPk, TenantBase):
    """A browser's web push endpoint (VAPID) for a driver or for one guest's charge."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        UniqueConstraint("endpoint"),
        CheckConstraint(
            "(account_id IS NOT NULL) <> (charge_request_id IS NOT NULL)", name="one_owner"
        ),
    )

    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="CASCADE"), index=True
    )
    charge_request_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.charge_requests.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(Text, nullable=False)
    p256dh: Mapped[str] = mapped_column(String(200), nullable=False)
    auth: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class PushDelivery(UuidPk, TenantBase):
    """A notification sent for one event of a charging session started from the app: written
    in the transaction that sends it, so a repeated job never sends the same event twice."""

    __tablename__ = "push_deliveries"
    __table_args__ = (UniqueConstraint("session_id", "event"),)

    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_sessions.id", ondelete="CASCADE"), nullable=False
    )
    event: Mapped[str] = mapped_column(String(32), nullable=False)
    # How many subscriptions the push services accepted it for.
    recipients: Mapped[int] = mapped_column(Integer, nullable=False)
    sent_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
