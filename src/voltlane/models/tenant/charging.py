"""Charging: IdTokens, charging sessions (= OCPP transactions), their events and meter samples."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    Uuid,
    and_,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, Timestamps, UuidPk, str_enum


class IdTokenType(enum.StrEnum):
    """OCPP 2.0.1 IdTokenEnumType (1.6 idTags are stored as ISO14443)."""

    CENTRAL = "Central"
    EMAID = "eMAID"
    ISO14443 = "ISO14443"
    ISO15693 = "ISO15693"
    KEY_CODE = "KeyCode"
    LOCAL = "Local"
    MAC_ADDRESS = "MacAddress"
    NO_AUTHORIZATION = "NoAuthorization"


class IdTokenStatus(enum.StrEnum):
    """The stored state of a token; ConcurrentTx/Expired are decided at authorization time."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    INVALID = "Invalid"


class SessionStatus(enum.StrEnum):
    ACTIVE = "active"
    FINISHED = "finished"


class IdToken(UuidPk, Timestamps, TenantBase):
    """An identifier a driver presents: RFID card, app token, eMAID, key code."""

    __tablename__ = "id_tokens"
    __table_args__ = (UniqueConstraint("id_token", "type"),)

    id_token: Mapped[str] = mapped_column(String(36), nullable=False, index=True)
    type: Mapped[IdTokenType] = mapped_column(str_enum(IdTokenType, 16), nullable=False)
    status: Mapped[IdTokenStatus] = mapped_column(
        str_enum(IdTokenStatus, 16), nullable=False, default=IdTokenStatus.ACCEPTED
    )
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    group_id_token: Mapped[str | None] = mapped_column(String(36))
    label: Mapped[str | None] = mapped_column(String(120))
    # Who pays for its sessions; a fleet card also names its driver, vehicle and cost
    # centre, printed on the fleet's invoice lines.
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.customer_accounts.id", ondelete="RESTRICT"), index=True
    )
    driver_name: Mapped[str | None] = mapped_column(String(120))
    vehicle: Mapped[str | None] = mapped_column(String(40))
    cost_centre: Mapped[str | None] = mapped_column(String(60))


class ChargingSession(UuidPk, Timestamps, TenantBase):
    """One charge at one EVSE: an OCPP 1.6 transaction or a 2.x TransactionEvent series.

    Energy comes from register deltas (``meter_start_wh`` .. the last register reading),
    never from a lifetime register read as if it started at zero.
    """

    __tablename__ = "charging_sessions"
    __table_args__ = (
        UniqueConstraint("charging_station_id", "transaction_id"),
        # 1.6 StartTransaction natural key: station + connector + meterStart + timestamp.
        UniqueConstraint("charging_station_id", "start_key"),
        Index("ix_charging_sessions_station_status", "charging_station_id", "status"),
        # ConcurrentTx checks look for a token's active session at every start.
        Index(
            "ix_charging_sessions_active_token",
            "id_token",
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_charging_sessions_started_at", "started_at"),
        # A billing run walks the finished sessions in the order they ended.
        Index(
            "ix_charging_sessions_finished",
            "stopped_at",
            "id",
            postgresql_where=text("status = 'finished'"),
        ),
        CheckConstraint("energy_wh IS NULL OR energy_wh >= 0", name="energy_not_negative"),
    )

    # Monotonic per brand: the integer transactionId handed to OCPP 1.6 stations.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True, nullable=False)
    charging_station_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_stations.id", ondelete="RESTRICT"), nullable=False
    )
    evse_pk: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.evses.id", ondelete="SET NULL")
    )
    evse_id: Mapped[int | None] = mapped_column(Integer)
    connector_id: Mapped[int | None] = mapped_column(Integer)
    protocol: Mapped[str] = mapped_column(String(16), nullable=False)
    # 2.x: the station's transactionId; 1.6: the integer we assigned (``seq``), or for a stop
    # of a transaction we never saw, "?<id>@<timestamp>".
    transaction_id: Mapped[str] = mapped_column(String(64), nullable=False)
    start_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[SessionStatus] = mapped_column(
        str_enum(SessionStatus, 16), nullable=False, default=SessionStatus.ACTIVE
    )
    # The token that started (authorized) the session: the session, its account, price
    # segment and roaming link are that token's for good.
    id_token: Mapped[str | None] = mapped_column(String(36))
    id_token_type: Mapped[str | None] = mapped_column(String(20))
    group_id_token: Mapped[str | None] = mapped_column(String(36))
    # The token presented to stop it (1.6 StopTransaction idTag, a 2.x stop's idToken),
    # perhaps another card of the same group or a master pass: recorded, never the payer.
    stop_id_token: Mapped[str | None] = mapped_column(String(36))
    stop_id_token_type: Mapped[str | None] = mapped_column(String(20))
    remote_start_id: Mapped[int | None] = mapped_column(Integer)
    reservation_id: Mapped[int | None] = mapped_column(Integer)
    charging_state: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    meter_start_wh: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    meter_stop_wh: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    energy_wh: Mapped[Decimal | None] = mapped_column(Numeric(18, 3))
    # Why the energy needs a person's review (e.g. an offline start of 0 against a lifetime
    # register); None when the figure is sound.
    energy_review: Mapped[str | None] = mapped_column(String(200))
    offline: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_seq_no: Mapped[int | None] = mapped_column(Integer)
    # The CSMS reply to the start, kept so a retried start gets the same answer.
    start_response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # A roaming driver's session: the eMSP token it was authorized with (its partner pays,
    # segment ROAMING) and the eMSP's authorization_reference, echoed in Session and CDR.
    roaming_token_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.ocpi_tokens.id", ondelete="RESTRICT")
    )
    authorization_reference: Mapped[str | None] = mapped_column(String(36))


class TransactionEventRecord(TenantBase):
    """Every OCPP 2.x TransactionEvent, once (station + transactionId + seqNo)."""

    __tablename__ = "transaction_events"
    __table_args__ = (UniqueConstraint("charging_station_id", "transaction_id", "seq_no"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    charging_station_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_stations.id", ondelete="CASCADE"), nullable=False
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_sessions.id", ondelete="CASCADE"), nullable=False
    )
    transaction_id: Mapped[str] = mapped_column(String(36), nullable=False)
    seq_no: Mapped[int] = mapped_column(Integer, nullable=False)
    event_type: Mapped[str] = mapped_column(String(16), nullable=False)
    trigger_reason: Mapped[str] = mapped_column(String(40), nullable=False)
    timestamp: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    offline: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    response: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class MeterSample(TenantBase):
    """One sampled value. Natural key: session, station, EVSE, time, measurand, phase,
    location; a retried MeterValues adds nothing. Signed meter data is kept verbatim."""

    __tablename__ = "meter_samples"
    __table_args__ = (
        Index(
            "uq_meter_samples_natural_key",
            "session_id",
            "charging_station_id",
            "evse_id",
            "sampled_at",
            "measurand",
            "phase",
            "location",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_meter_samples_station_sampled_at", "charging_station_id", "sampled_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.charging_sessions.id", ondelete="CASCADE")
    )
    charging_station_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_stations.id", ondelete="CASCADE"), nullable=False
    )
    evse_id: Mapped[int] = mapped_column(Integer, nullable=False)
    sampled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    measurand: Mapped[str] = mapped_column(String(64), nullable=False)
    phase: Mapped[str | None] = mapped_column(String(8))
    location: Mapped[str | None] = mapped_column(String(8))
    context: Mapped[str | None] = mapped_column(String(32))
    unit: Mapped[str | None] = mapped_column(String(16))
    # None for a signed sample whose value is only inside the signed blob.
    value: Mapped[Decimal | None] = mapped_column(Numeric(24, 6))
    signed_data: Mapped[Any | None] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


# Samples that carry signed meter data. A sample written without any may hold a JSON null
# rather than SQL NULL (the ORM's JSONB writes None as 'null'), so both are excluded.
SIGNED_SAMPLE = and_(
    MeterSample.signed_data.is_not(None), func.jsonb_typeof(MeterSample.signed_data) != "null"
)


__all__ = [
    "SIGNED_SAMPLE",
    "ChargingSession",
    "IdToken",
    "IdTokenStatus",
    "IdTokenType",
    "MeterSample",
    "SessionStatus",
    "TransactionEventRecord",
]
