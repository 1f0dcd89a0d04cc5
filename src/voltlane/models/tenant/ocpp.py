"""What the OCPP gateway records: every frame, station events and remote commands."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, UuidPk, str_enum


class OcppFrame(TenantBase):
    """One WebSocket frame in or out, verbatim, with the latency of a reply to its call."""

    __tablename__ = "ocpp_frames"
    __table_args__ = (Index("ix_ocpp_frames_station_at", "station_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # No foreign key: the log outlives a deleted station and never slows the hot path.
    charging_station_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    station_id: Mapped[str] = mapped_column(String(48), nullable=False)
    direction: Mapped[str] = mapped_column(String(3), nullable=False)  # in | out
    message_type: Mapped[int | None] = mapped_column(SmallInteger)  # 2 call, 3 result, 4 error
    message_id: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    raw: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    latency_ms: Mapped[Decimal | None] = mapped_column(Numeric(12, 3))
    error_code: Mapped[str | None] = mapped_column(String(64))


class StationEvent(TenantBase):
    """A notification from a station kept as it came: status, firmware, logs, security,
    reports, data transfers, reservations and the rest."""

    __tablename__ = "station_events"
    __table_args__ = (Index("ix_station_events_station_at", "charging_station_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    charging_station_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_stations.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class CommandStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    TIMEOUT = "timeout"
    OFFLINE = "offline"

    @property
    def final(self) -> bool:
        return self not in (CommandStatus.PENDING, CommandStatus.SENT)


class StationCommand(UuidPk, TenantBase):
    """A platform -> station call: written, handed to the node holding the station, answered.

    A command is sent at most once and never after its deadline, so nothing is replayed
    blindly after a reconnect.
    """

    __tablename__ = "station_commands"
    __table_args__ = (
        Index("ix_station_commands_station_created", "charging_station_id", "created_at"),
    )

    charging_station_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_stations.id", ondelete="CASCADE"), nullable=False
    )
    station_id: Mapped[str] = mapped_column(String(48), nullable=False)
    action: Mapped[str] = mapped_column(String(64), nullable=False)
    # As people see it: secrets (a new Basic-auth password) replaced by "[redacted]".
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # The payload to send, sealed with the server key when it holds a secret.
    sealed_payload: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CommandStatus] = mapped_column(
        str_enum(CommandStatus, 16), nullable=False, default=CommandStatus.PENDING
    )
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(254))
    node_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
