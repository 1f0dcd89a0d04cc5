"""OCPI 2.2.1 roaming: the brand's partners, the tokens they send, what we push to them,
the commands they give, and the parties a hub reports.

The brand is the CPO party; a partner is one OCPI connection (an eMSP platform or a hub)
with the roles it reported during the credentials handshake. Tokens that partners present
to us are hashed in ``platform.ocpi_credentials``; the token we present to them is stored
sealed under the server key (``core.sealing``), because we must send it back.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, Timestamps, UuidPk, str_enum


class PartnerState(enum.StrEnum):
    # We issued a CREDENTIALS_TOKEN_A; the partner has not registered with it yet.
    PENDING = "pending"
    REGISTERED = "registered"
    # Staff paused pushes and refuse the partner's requests (the credentials stay).
    SUSPENDED = "suspended"
    # Either side ended the connection (DELETE credentials): no automated communication.
    UNREGISTERED = "unregistered"


class PartnerInitiator(enum.StrEnum):
    US = "us"  # we registered with the partner's versions URL and its token A
    THEM = "them"  # the partner registered with our token A


class OcpiPartner(UuidPk, Timestamps, TenantBase):
    """One OCPI connection of the brand: an eMSP platform or a hub."""

    __tablename__ = "ocpi_partners"
    __table_args__ = (
        CheckConstraint("country_code IS NULL OR country_code ~ '^[A-Z]{2}$'", name="cc"),
        CheckConstraint("party_id IS NULL OR party_id ~ '^[A-Z0-9]{3}$'", name="party"),
        # One live connection per party: a second registration of the same party is refused.
        Index(
            "uq_ocpi_partners_party",
            "country_code",
            "party_id",
            unique=True,
            postgresql_where=text("state IN ('registered', 'suspended')"),
        ),
    )

    name: Mapped[str] = mapped_column(String(100), nullable=False)
    state: Mapped[PartnerState] = mapped_column(str_enum(PartnerState, 16), nullable=False)
    initiated_by: Mapped[PartnerInitiator] = mapped_column(
        str_enum(PartnerInitiator, 8), nullable=False
    )
    # The party the connection speaks for (its first eMSP role, else its hub role): pricing
    # segment ROAMING with ref "CC*PID", and the OCPI-to headers of what we send.
    country_code: Mapped[str | None] = mapped_column(String(2))
    party_id: Mapped[str | None] = mapped_column(String(3))
    # Every CredentialsRole the partner reported: [{role, country_code, party_id,
    # business_details}], as received.
    roles: Mapped[list[Any]] = mapped_column(
        JSONB, nullable=False, default=list, server_default=text("'[]'::jsonb")
    )
    versions_url: Mapped[str | None] = mapped_column(String(255))
    version: Mapped[str | None] = mapped_column(String(10))
    # The partner's endpoints of ``version``: [{identifier, role, url}].
    endpoints: Mapped[list[Any]] = mapped_column(
        JSONB, nullable=False, default=list, server_default=text("'[]'::jsonb")
    )
    # The token we present to the partner (their token B or C), sealed (core.sealing).
    token_sealed: Mapped[str | None] = mapped_column(Text)
    # Real-time authorization: how long we wait for the eMSP's answer before the token's
    # whitelist rule decides.
    authorization_timeout_ms: Mapped[int] = mapped_column(
        Integer, nullable=False, default=5000, server_default=text("5000")
    )
    # Who pays for the partner's drivers' sessions: the settlement statement's account.
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="RESTRICT")
    )
    registered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unregistered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)


class PushState(enum.StrEnum):
    PENDING = "pending"  # waiting for its first try or its next retry
    SENT = "sent"  # the partner answered with OCPI status 1xxx
    FAILED = "failed"  # given up after the retries (a resync repairs the partner's copy)
    SUPERSEDED = "superseded"  # a newer push of the same object replaced it before it went


class OcpiPush(UuidPk, TenantBase):
    """A request we owe a partner (the outbox of OCPI pushes), and how it went."""

    __tablename__ = "ocpi_pushes"
    __table_args__ = (
        Index("ix_ocpi_pushes_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
        Index("ix_ocpi_pushes_partner_created", "partner_id", "created_at"),
        Index("ix_ocpi_pushes_object", "partner_id", "module", "object_id", "created_at"),
    )

    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.ocpi_partners.id", ondelete="CASCADE"), nullable=False
    )
    module: Mapped[str] = mapped_column(String(32), nullable=False)  # locations, sessions ...
    object_id: Mapped[str] = mapped_column(String(120), nullable=False)
    method: Mapped[str] = mapped_column(String(8), nullable=False)  # PUT PATCH POST DELETE
    # After the partner's module URL: "/NL/VLT/LOC1/EVSE1" (empty for a CDR POST); or an
    # absolute URL (a command's response_url).
    path: Mapped[str] = mapped_column(String(512), nullable=False)
    body: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The party the push is for (its OCPI-to headers): a hub's party whose driver charged;
    # None: the partner's own party.
    to_country_code: Mapped[str | None] = mapped_column(String(2))
    to_party_id: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[PushState] = mapped_column(str_enum(PushState, 16), nullable=False)
    attempts: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_http_status: Mapped[int | None] = mapped_column(SmallInteger)
    last_ocpi_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OcpiToken(UuidPk, TenantBase):
    """A driver token an eMSP shared with us (tokens module, receiver side)."""

    __tablename__ = "ocpi_tokens"
    __table_args__ = (
        UniqueConstraint("country_code", "party_id", "uid", "type"),
        Index("ix_ocpi_tokens_uid", "uid"),
    )

    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.ocpi_partners.id", ondelete="RESTRICT"), nullable=False
    )
    country_code: Mapped[str] = mapped_column(String(2), nullable=False)
    party_id: Mapped[str] = mapped_column(String(3), nullable=False)
    uid: Mapped[str] = mapped_column(String(36), nullable=False)
    type: Mapped[str] = mapped_column(String(16), nullable=False)  # TokenType
    contract_id: Mapped[str] = mapped_column(String(36), nullable=False)
    visual_number: Mapped[str | None] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(64), nullable=False)
    group_id: Mapped[str | None] = mapped_column(String(36))
    valid: Mapped[bool] = mapped_column(Boolean, nullable=False)
    whitelist: Mapped[str] = mapped_column(String(16), nullable=False)  # WhitelistType
    language: Mapped[str | None] = mapped_column(String(2))
    default_profile_type: Mapped[str | None] = mapped_column(String(16))
    energy_contract: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )


class OcpiCommand(UuidPk, TenantBase):
    """A command or charging-profile request a partner gave us, answered at once and
    then asynchronously at its ``response_url``."""

    __tablename__ = "ocpi_commands"
    __table_args__ = (Index("ix_ocpi_commands_partner_created", "partner_id", "created_at"),)

    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.ocpi_partners.id", ondelete="RESTRICT"), nullable=False
    )
    module: Mapped[str] = mapped_column(String(32), nullable=False)  # commands, chargingprofiles
    command: Mapped[str] = mapped_column(String(32), nullable=False)  # START_SESSION, SET ...
    request: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    response_url: Mapped[str] = mapped_column(String(255), nullable=False)
    # The party that sent it (its OCPI-from headers; None without them): its result goes
    # back to that party.
    from_country_code: Mapped[str | None] = mapped_column(String(2))
    from_party_id: Mapped[str | None] = mapped_column(String(3))
    # The command we gave the charger (station command row), if any.
    station_command_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    session_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # CommandResponseType we answered at once, then the CommandResultType we sent later.
    response: Mapped[str] = mapped_column(String(32), nullable=False)
    result: Mapped[str | None] = mapped_column(String(32))
    result_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )


class OcpiClientInfo(TenantBase):
    """A party a hub reports as connected to it (hubclientinfo module, receiver side)."""

    __tablename__ = "ocpi_client_infos"

    partner_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.ocpi_partners.id", ondelete="CASCADE"), primary_key=True
    )
    country_code: Mapped[str] = mapped_column(String(2), primary_key=True)
    party_id: Mapped[str] = mapped_column(String(3), primary_key=True)
    role: Mapped[str] = mapped_column(String(8), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # ConnectionStatus
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
