"""What monitoring keeps: alert rules and alerts, station state history, planned downtime."""

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
    String,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, Timestamps, UuidPk, str_enum


class AlertKind(enum.StrEnum):
    OFFLINE = "offline"  # threshold: minutes without a connection
    FAULTED = "faulted"  # threshold: minutes a connector has been Faulted
    STUCK_SESSION = "stuck_session"  # threshold: hours active without meter progress
    SECURITY = "security"  # threshold: minutes without a new event before it resolves


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"  # someone is on it; the condition still holds
    RESOLVED = "resolved"  # the condition cleared (or its rule was switched off)


class StationState(enum.StrEnum):
    ONLINE = "online"  # connected to a live gateway node
    FAULTED = "faulted"  # at least one connector reports Faulted


class AlertRule(UuidPk, Timestamps, TenantBase):
    """One rule per kind and brand: whether it runs, its threshold and where alerts go."""

    __tablename__ = "alert_rules"
    __table_args__ = (CheckConstraint("threshold >= 0", name="threshold_not_negative"),)

    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind, 16), unique=True, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    threshold: Mapped[int] = mapped_column(Integer, nullable=False)
    emails: Mapped[list[str]] = mapped_column(
        JSONB, nullable=False, default=list, server_default="[]"
    )
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # HMAC-SHA256 key of the webhook's signature header; made when a URL is first set.
    webhook_secret: Mapped[str | None] = mapped_column(String(64))


class Alert(UuidPk, TenantBase):
    """A condition seen by the detection job: open until it clears (then resolved)."""

    __tablename__ = "alerts"
    __table_args__ = (
        # One alert per condition while it lasts: detection never opens a duplicate.
        Index(
            "uq_alerts_open_condition",
            "condition_key",
            unique=True,
            postgresql_where=text("status <> 'resolved'"),
        ),
        Index("ix_alerts_status_opened_at", "status", "opened_at"),
    )

    kind: Mapped[AlertKind] = mapped_column(str_enum(AlertKind, 16), nullable=False)
    # What the condition is about, e.g. offline:<station pk>, faulted:<connector pk>.
    condition_key: Mapped[str] = mapped_column(String(100), nullable=False)
    charging_station_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.charging_stations.id", ondelete="CASCADE"), index=True
    )
    station_id: Mapped[str] = mapped_column(String(48), nullable=False)
    # The specifics people read: a connector and its error code, a transaction, an event.
    detail: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    # The same specifics as values, so the portal says them in the reader's language
    # (faulted: {"evse", "connector", "error"}); None for alerts stored before t0020.
    detail_values: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    occurrences: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    status: Mapped[AlertStatus] = mapped_column(
        str_enum(AlertStatus, 16), nullable=False, default=AlertStatus.OPEN
    )
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(254))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StationStatePeriod(TenantBase):
    """A stretch of time a station was online (or faulted), as the detection job saw it.

    ``ended_at`` is None while it lasts; it ends at the last time it was seen, so uptime is
    never counted for time nobody observed.
    """

    __tablename__ = "station_state_periods"
    __table_args__ = (
        Index("ix_station_state_periods_station_state", "charging_station_id", "state"),
        Index(
            "uq_station_state_periods_current",
            "charging_station_id",
            "state",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    charging_station_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_stations.id", ondelete="CASCADE"), nullable=False
    )
    state: Mapped[StationState] = mapped_column(str_enum(StationState, 16), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PlannedDowntime(UuidPk, Timestamps, TenantBase):
    """Maintenance an operator announced: excluded from the station's availability."""

    __tablename__ = "planned_downtimes"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_planned_downtimes_station_starts_at", "charging_station_id", "starts_at"),
    )

    charging_station_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_stations.id", ondelete="CASCADE"), nullable=False
    )
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    created_by: Mapped[str | None] = mapped_column(String(254))
