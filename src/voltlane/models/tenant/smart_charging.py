"""What smart charging keeps: sites and circuits, their EVSEs, schedules and readings,
departure targets, the allocations sent, and which stations accept charging profiles.

Currents are amperes per phase as ``Numeric(7, 1)`` (0.1 A, the resolution the allocator
works in); times are UTC, schedule windows are local times of the site's timezone.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Time,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, Timestamps, UuidPk, str_enum

AMPS = Numeric(7, 1)


class SiteMode(enum.StrEnum):
    DYNAMIC = "dynamic"  # the allocator divides the available current on every change
    STATIC = "static"  # every EVSE gets its share of the safe limit, readings ignored
    OFF = "off"  # no profiles are sent; the site is only documented


class ScheduleKind(enum.StrEnum):
    TIME_OF_USE = "time_of_use"  # e.g. less by day, the full connection at night (cheaper)
    PEAK_SHAVING = "peak_shaving"  # a cap on the connection in a peak window


class ReadingKind(enum.StrEnum):
    BUILDING_LOAD = "building_load"  # unmanaged load behind the connection
    SOLAR = "solar"  # production of local panels
    BATTERY = "battery"  # discharge of a local battery (negative while it charges)


class AllocationStatus(enum.StrEnum):
    PENDING = "pending"  # decided, not yet sent
    SENT = "sent"  # the SetChargingProfile command is out
    ACCEPTED = "accepted"  # the station accepted the profile
    REJECTED = "rejected"  # rejected, timed out or the station was offline
    CLEARED = "cleared"  # the session ended and its profile was cleared


class ProfileSupport(enum.StrEnum):
    UNKNOWN = "unknown"  # nothing sent yet
    SUPPORTED = "supported"  # accepted a profile
    REJECTED = "rejected"  # rejected profiles: fall back to its static limit, flag it
    UNSUPPORTED = "unsupported"  # does not implement smart charging (NotImplemented)


class Site(UuidPk, Timestamps, TenantBase):
    """A grid connection (root, ``parent_id`` None) or a circuit nested under one."""

    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("phases IN (1, 3)", name="phases_one_or_three"),
        CheckConstraint("voltage_v > 0", name="voltage_positive"),
        CheckConstraint("capacity_a >= 0", name="capacity_not_negative"),
        CheckConstraint(
            "safe_limit_a >= 0 AND safe_limit_a <= capacity_a", name="safe_limit_within_capacity"
        ),
        CheckConstraint("min_current_a > 0", name="min_current_positive"),
        CheckConstraint("allocation_period_s >= 5", name="allocation_period_min"),
        CheckConstraint("stale_after_s >= 1", name="stale_after_positive"),
        CheckConstraint(
            "discharge_limit_a IS NULL OR discharge_limit_a >= 0", name="discharge_not_negative"
        ),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    name: Mapped[str] = mapped_column(String(100), nullable=False)
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.locations.id", ondelete="SET NULL"), index=True
    )
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.sites.id", ondelete="CASCADE"), index=True
    )
    # IANA name the schedule windows are read in (the location's, when there is one).
    timezone: Mapped[str] = mapped_column(String(64), nullable=False, default="UTC")
    phases: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=3)
    voltage_v: Mapped[int] = mapped_column(Integer, nullable=False, default=230)
    capacity_a: Mapped[Decimal] = mapped_column(AMPS, nullable=False)  # per phase
    # Per phase, when the readings are stale (nobody knows the building load).
    safe_limit_a: Mapped[Decimal] = mapped_column(AMPS, nullable=False)
    # IEC 61851: below 6 A a car may not charge at all.
    min_current_a: Mapped[Decimal] = mapped_column(AMPS, nullable=False, default=Decimal(6))
    allocation_period_s: Mapped[int] = mapped_column(Integer, nullable=False, default=60)
    stale_after_s: Mapped[int] = mapped_column(Integer, nullable=False, default=300)
    mode: Mapped[SiteMode] = mapped_column(
        str_enum(SiteMode, 16), nullable=False, default=SiteMode.DYNAMIC
    )
    # Priority weights by customer segment ("public", "member", "fleet") and by fleet
    # contract ("fleet:<contract ref>"); an EVSE's own priority adds to them.
    segment_priorities: Mapped[dict[str, int]] = mapped_column(
        JSONB, nullable=False, default=dict, server_default="{}"
    )
    # OCPP 2.1 V2X: the most the cars under this site or circuit may feed back together,
    # per phase (None: at a grid connection no discharge; at a circuit its capacity).
    discharge_limit_a: Mapped[Decimal | None] = mapped_column(AMPS)


class SiteEvse(TenantBase):
    """An EVSE wired to a site (an EVSE is in at most one site)."""

    __tablename__ = "site_evses"
    __table_args__ = (
        CheckConstraint("phases ~ '^[123]{1,3}$'", name="phases_format"),
        CheckConstraint("max_current_a IS NULL OR max_current_a > 0", name="max_positive"),
    )

    evse_pk: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.evses.id", ondelete="CASCADE"), primary_key=True
    )
    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.sites.id", ondelete="CASCADE"), nullable=False, index=True
    )
    priority: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    max_current_a: Mapped[Decimal | None] = mapped_column(AMPS)
    # Which site phases the EVSE's L1, L2, L3 are wired to, in order: "123", "231" (rotated),
    # "2" (a single-phase EVSE on L2).
    phases: Mapped[str] = mapped_column(String(3), nullable=False, default="123")


class SiteSchedule(UuidPk, Timestamps, TenantBase):
    """A window on given weekdays (local time) in which the site's current is capped."""

    __tablename__ = "site_schedules"
    __table_args__ = (
        CheckConstraint("weekdays BETWEEN 1 AND 127", name="weekdays_mask"),
        CheckConstraint("limit_a >= 0", name="limit_not_negative"),
        CheckConstraint("starts_at <> ends_at", name="window_not_empty"),
    )

    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.sites.id", ondelete="CASCADE"), nullable=False, index=True
    )
    kind: Mapped[ScheduleKind] = mapped_column(str_enum(ScheduleKind, 16), nullable=False)
    # Bit 0 Monday .. bit 6 Sunday: the day the window starts on.
    weekdays: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    starts_at: Mapped[time] = mapped_column(Time, nullable=False)
    # Before starts_at: the window runs past midnight into the next day.
    ends_at: Mapped[time] = mapped_column(Time, nullable=False)
    limit_a: Mapped[Decimal] = mapped_column(AMPS, nullable=False)  # per phase
    label: Mapped[str] = mapped_column(String(100), nullable=False, default="")


class SiteReading(TenantBase):
    """The latest external input of one kind for a site (replaced by each newer one)."""

    __tablename__ = "site_readings"

    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.sites.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[ReadingKind] = mapped_column(str_enum(ReadingKind, 16), primary_key=True)
    l1_a: Mapped[Decimal] = mapped_column(AMPS, nullable=False)
    l2_a: Mapped[Decimal] = mapped_column(AMPS, nullable=False)
    l3_a: Mapped[Decimal] = mapped_column(AMPS, nullable=False)
    # Battery only: its state of charge (0..100 %).
    soc_percent: Mapped[Decimal | None] = mapped_column(Numeric(4, 1))
    measured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class ChargingTarget(Timestamps, TenantBase):
    """A fleet depot's departure target: this much energy by then."""

    __tablename__ = "charging_targets"
    __table_args__ = (CheckConstraint("energy_wh > 0", name="energy_positive"),)

    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    energy_wh: Mapped[int] = mapped_column(BigInteger, nullable=False)
    departure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class EvDischargeOffer(Timestamps, TenantBase):
    """What a bidirectional car (OCPP 2.1 V2X) said it can feed back during a session."""

    __tablename__ = "ev_discharge_offers"
    __table_args__ = (
        CheckConstraint(
            "max_discharge_w IS NULL OR max_discharge_w >= 0", name="power_not_negative"
        ),
        CheckConstraint(
            "max_discharge_a IS NULL OR max_discharge_a >= 0", name="current_not_negative"
        ),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    max_discharge_w: Mapped[int | None] = mapped_column(Integer)
    max_discharge_a: Mapped[Decimal | None] = mapped_column(AMPS)


class EvseProfileRelease(TenantBase):
    """An EVSE taken out of its site whose TxDefaultProfile the station has not yet been
    seen to clear (its station was offline, or did not answer): the sweep tries again."""

    __tablename__ = "evse_profile_releases"

    evse_pk: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.evses.id", ondelete="CASCADE"), primary_key=True
    )
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class SessionLimit(TenantBase):
    """A limit an outside party set for one session (a roaming partner's charging profile),
    kept in neutral terms: ``unit`` A (per phase) or W (total), ``periods`` as
    ``[[start offset s, limit], ...]`` with the limit as a decimal string, from
    ``starts_at`` (None: from the start of the session) for ``duration_s`` (None: to its
    end). Smart charging caps the session at the limit in force."""

    __tablename__ = "session_limits"
    __table_args__ = (
        CheckConstraint("unit IN ('A', 'W')", name="unit"),
        CheckConstraint("duration_s IS NULL OR duration_s > 0", name="duration"),
        CheckConstraint("min_rate IS NULL OR min_rate >= 0", name="min_rate"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    unit: Mapped[str] = mapped_column(String(1), nullable=False)
    periods: Mapped[list[list[int | str]]] = mapped_column(JSONB, nullable=False)
    starts_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_s: Mapped[int | None] = mapped_column(Integer)
    min_rate: Mapped[Decimal | None] = mapped_column(Numeric(9, 1))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ChargingAllocation(UuidPk, TenantBase):
    """A limit the allocator decided for a session and what became of its profile."""

    __tablename__ = "charging_allocations"
    __table_args__ = (
        CheckConstraint("limit_a >= 0", name="limit_not_negative"),
        CheckConstraint(
            "discharge_limit_a IS NULL OR discharge_limit_a >= 0", name="discharge_not_negative"
        ),
        CheckConstraint("phases BETWEEN 1 AND 3", name="phases_range"),
        Index("ix_charging_allocations_session_decided", "session_id", "decided_at"),
        Index("ix_charging_allocations_site_decided", "site_id", "decided_at"),
    )

    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_sessions.id", ondelete="CASCADE"), nullable=False
    )
    site_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.sites.id", ondelete="CASCADE"), nullable=False
    )
    limit_a: Mapped[Decimal] = mapped_column(AMPS, nullable=False)  # per phase; 0 = paused
    # OCPP 2.1 V2X: the most the car may feed back, per phase (None: no discharge).
    discharge_limit_a: Mapped[Decimal | None] = mapped_column(AMPS)
    phases: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    profile_id: Mapped[int | None] = mapped_column(Integer)
    command_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.station_commands.id", ondelete="SET NULL")
    )
    status: Mapped[AllocationStatus] = mapped_column(
        str_enum(AllocationStatus, 16), nullable=False, default=AllocationStatus.PENDING
    )
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StationProfileSupport(TenantBase):
    """Whether a station takes charging profiles, as its answers showed (for the portal)."""

    __tablename__ = "station_profile_support"
    __table_args__ = (
        CheckConstraint("fallback_limit_a IS NULL OR fallback_limit_a >= 0", name="fallback"),
    )

    charging_station_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_stations.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[ProfileSupport] = mapped_column(
        str_enum(ProfileSupport, 16), nullable=False, default=ProfileSupport.UNKNOWN
    )
    # What the station said (the CALLERROR code or the status), for the portal's flag.
    reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    # Per phase, the static limit the allocator assumes for a station that takes no profile.
    fallback_limit_a: Mapped[Decimal | None] = mapped_column(AMPS)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
