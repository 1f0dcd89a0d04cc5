"""Money of a brand: tariff versions, where they apply, and charge detail records."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
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
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from voltlane.core.orm import TenantBase, Timestamps, UuidPk, str_enum


class TariffVersion(UuidPk, Timestamps, TenantBase):
    """One version of a tariff (OCPI Tariff ``id`` = ``code``) for one customer segment.

    Versions are never edited: a price change is a new version with its own validity
    (``definition.start_date_time``). The version in force when a session starts prices it.
    """

    __tablename__ = "tariffs"
    __table_args__ = (
        Index("ix_tariffs_code", "code"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    )

    code: Mapped[str] = mapped_column(String(36), nullable=False)
    # SegmentKind value; ref names the plan, fleet contract or partner (None: the whole kind).
    segment: Mapped[str] = mapped_column(String(16), nullable=False)
    segment_ref: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_to: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The OCPI 2.2.1 Tariff object, as accepted (validated by voltlane.tariff).
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # Voltlane's blocking fee (not in OCPI): price_per_minute, grace, step_size, cap, vat.
    idle_fee: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_by: Mapped[str | None] = mapped_column(String(254))


class TariffAssignment(UuidPk, Timestamps, TenantBase):
    """Which tariff codes price sessions where: the brand (no scope), a location, an EVSE or
    a connector. The most specific scope with any assignment wins."""

    __tablename__ = "tariff_assignments"
    __table_args__ = (
        UniqueConstraint(
            "location_id", "evse_pk", "connector_pk", "code", postgresql_nulls_not_distinct=True
        ),
        CheckConstraint("num_nonnulls(location_id, evse_pk, connector_pk) <= 1", name="one_scope"),
    )

    code: Mapped[str] = mapped_column(String(36), nullable=False)
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.locations.id", ondelete="CASCADE")
    )
    evse_pk: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.evses.id", ondelete="CASCADE")
    )
    connector_pk: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.connectors.id", ondelete="CASCADE")
    )


class CdrKind(enum.StrEnum):
    CDR = "CDR"
    CREDIT = "CREDIT"  # cancels a CDR: the same figures negated, referring to it


class Cdr(TenantBase):
    """A charge detail record: what a finished session cost, OCPI-shaped and immutable.

    Exactly one per session (the unique index); a correction is a CREDIT record that
    negates it (then, if needed, a new CDR from a corrected session). A trigger refuses
    every UPDATE and DELETE.
    """

    __tablename__ = "cdrs"
    __table_args__ = (
        Index("uq_cdrs_session", "session_id", unique=True, postgresql_where=text("kind = 'CDR'")),
        Index(
            "uq_cdrs_credit_of", "credit_of", unique=True, postgresql_where=text("kind = 'CREDIT'")
        ),
        Index("ix_cdrs_created_at", "created_at"),
        CheckConstraint("(kind = 'CREDIT') = (credit_of IS NOT NULL)", name="credit_refers"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Monotonic per brand: the CDR number shown to partners and on invoices.
    number: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True, nullable=False)
    kind: Mapped[CdrKind] = mapped_column(str_enum(CdrKind, 8), nullable=False)
    credit_of: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.cdrs.id", ondelete="RESTRICT")
    )
    session_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_sessions.id", ondelete="RESTRICT"), nullable=False
    )
    charging_station_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_stations.id", ondelete="RESTRICT"), nullable=False
    )
    location_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    evse_id: Mapped[int | None] = mapped_column(Integer)
    connector_id: Mapped[int | None] = mapped_column(Integer)
    id_token: Mapped[str | None] = mapped_column(String(36))
    id_token_type: Mapped[str | None] = mapped_column(String(20))
    auth_method: Mapped[str] = mapped_column(String(16), nullable=False)
    segment: Mapped[str] = mapped_column(String(81), nullable=False)
    tariff_version_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.tariffs.id", ondelete="RESTRICT"), nullable=False
    )
    tariff_code: Mapped[str] = mapped_column(String(36), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    start_date_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    end_date_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    total_energy_kwh: Mapped[Decimal] = mapped_column(Numeric(14, 6), nullable=False)
    total_time_hours: Mapped[Decimal] = mapped_column(Numeric(14, 6), nullable=False)
    total_parking_time_hours: Mapped[Decimal] = mapped_column(Numeric(14, 6), nullable=False)
    # Minor units of ``currency``; negative on a CREDIT.
    total_excl_vat: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total_vat: Mapped[int] = mapped_column(BigInteger, nullable=False)
    total_incl_vat: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # Energy its plan included (not charged), whole Wh; negated on a CREDIT, which gives it
    # back to the month's allowance.
    included_energy_wh: Mapped[int] = mapped_column(
        BigInteger, nullable=False, default=0, server_default=text("0")
    )
    # The priced session: charging periods, lines, VAT breakdown, caps (see billing.cdrs).
    priced: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    # Signed meter values exactly as the charger sent them (Eichrecht, OCMF ...).
    signed_data: Mapped[list[Any] | None] = mapped_column(JSONB)
    remark: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )
