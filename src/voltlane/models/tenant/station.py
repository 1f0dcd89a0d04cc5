"""The station model every later piece uses: Location > ChargingStation > Evse > Connector.

Names follow OCPP 2.0.1 and OCPI 2.2.1 (docs/glossary.md).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from voltlane.core.orm import TenantBase, Timestamps, UuidPk, str_enum


class ConnectorStandard(enum.StrEnum):
    """OCPI 2.2.1 ConnectorType values Voltlane accepts."""

    CHADEMO = "CHADEMO"
    CHAOJI = "CHAOJI"
    DOMESTIC_F = "DOMESTIC_F"
    DOMESTIC_G = "DOMESTIC_G"
    GBT_AC = "GBT_AC"
    GBT_DC = "GBT_DC"
    IEC_60309_2_single_16 = "IEC_60309_2_single_16"
    IEC_60309_2_three_16 = "IEC_60309_2_three_16"
    IEC_60309_2_three_32 = "IEC_60309_2_three_32"
    IEC_62196_T1 = "IEC_62196_T1"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO"
    IEC_62196_T2 = "IEC_62196_T2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO"
    IEC_62196_T3A = "IEC_62196_T3A"
    IEC_62196_T3C = "IEC_62196_T3C"
    NEMA_5_20 = "NEMA_5_20"
    NEMA_14_50 = "NEMA_14_50"
    TESLA_S = "TESLA_S"
    MCS = "MCS"


class ConnectorFormat(enum.StrEnum):
    SOCKET = "SOCKET"
    CABLE = "CABLE"


class PowerType(enum.StrEnum):
    AC_1_PHASE = "AC_1_PHASE"
    AC_2_PHASE = "AC_2_PHASE"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT"
    AC_3_PHASE = "AC_3_PHASE"
    DC = "DC"


class RegistrationStatus(enum.StrEnum):
    """Whether a station may operate (OCPP BootNotification RegistrationStatus)."""

    ACCEPTED = "Accepted"
    PENDING = "Pending"
    REJECTED = "Rejected"


# The words a driver's search matches (the expression of ix_locations_search), spelled as
# PostgreSQL prints it back, so the search's query uses the index and alembic sees no drift.
LOCATION_SEARCH_DOCUMENT = (
    "to_tsvector('simple'::regconfig, (((((name::text || ' '::text) || address::text)"
    " || ' '::text) || COALESCE(postal_code, ''::character varying)::text) || ' '::text)"
    " || city::text)"
)


class Location(UuidPk, Timestamps, TenantBase):
    """A site with an address, coordinates, its own timezone and opening hours."""

    __tablename__ = "locations"
    __table_args__ = (
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint("country ~ '^[A-Z]{3}$'", name="country_alpha3"),
        # The driver app's search (station.search): a bounding box around the driver, word
        # beginnings of the address, and the list by name.
        Index("ix_locations_latitude_longitude", "latitude", "longitude"),
        Index("ix_locations_search", text(LOCATION_SEARCH_DOCUMENT), postgresql_using="gin"),
        Index("ix_locations_name", "name", "id"),
        Index("ix_locations_ocpi_last_updated", "ocpi_last_updated", "id"),
        # The OCPI locations module's pages (creation order).
        Index("ix_locations_created_at_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    address: Mapped[str] = mapped_column(String(45), nullable=False)
    city: Mapped[str] = mapped_column(String(45), nullable=False)
    postal_code: Mapped[str | None] = mapped_column(String(10))
    state: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(3), nullable=False)  # ISO 3166-1 alpha-3
    latitude: Mapped[Decimal] = mapped_column(Numeric(10, 7), nullable=False)
    longitude: Mapped[Decimal] = mapped_column(Numeric(10, 7), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)  # IANA name
    # OCPI Hours: {"twentyfourseven": bool, "regular_hours": [{weekday, period_begin,
    # period_end}], "exceptional_openings": [...], "exceptional_closings": [...]}
    opening_hours: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, default=lambda: {"twentyfourseven": True}
    )
    publish: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # OCPI last_updated of the location as partners see it: the latest change of the
    # location, its stations, EVSEs or connectors (statuses included). Delta pulls filter
    # on it.
    ocpi_last_updated: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()"), nullable=False
    )

    stations: Mapped[list[ChargingStation]] = relationship(
        back_populates="location", lazy="raise", order_by="ChargingStation.station_id"
    )


class ChargingStation(UuidPk, Timestamps, TenantBase):
    """One OCPP endpoint. ``station_id`` is its identity in the OCPP URL (unique per brand)."""

    __tablename__ = "charging_stations"
    __table_args__ = (
        CheckConstraint("security_profile BETWEEN 1 AND 3", name="security_profile_range"),
        CheckConstraint("station_id ~ '^[A-Za-z0-9*_.:+|@-]{1,48}$'", name="station_id_format"),
        CheckConstraint(
            "security_profile = 3 OR password_hash IS NOT NULL", name="password_for_basic_auth"
        ),
    )

    # None only for an auto-commissioned station waiting for approval.
    location_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("tenant.locations.id", ondelete="RESTRICT"), index=True
    )
    station_id: Mapped[str] = mapped_column(String(48), unique=True, nullable=False)
    vendor: Mapped[str | None] = mapped_column(String(50))
    model: Mapped[str | None] = mapped_column(String(50))
    serial_number: Mapped[str | None] = mapped_column(String(50))
    firmware_version: Mapped[str | None] = mapped_column(String(50))
    protocol: Mapped[str | None] = mapped_column(String(16))  # ocpp1.6 | ocpp2.0.1 | ocpp2.1
    security_profile: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=2)
    # argon2id hash of the HTTP Basic password (profiles 1 and 2); never the password.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    registration_status: Mapped[RegistrationStatus] = mapped_column(
        str_enum(RegistrationStatus, 16), nullable=False, default=RegistrationStatus.ACCEPTED
    )
    last_boot_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the last BootNotification said beyond vendor/model/serial/firmware (ICCID, IMSI,
    # meter, boot reason), as sent.
    boot_info: Mapped[dict[str, Any]] = mapped_column(
        JSONB, nullable=False, default=dict, server_default="{}"
    )
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    location: Mapped[Location | None] = relationship(back_populates="stations", lazy="raise")
    evses: Mapped[list[Evse]] = relationship(
        back_populates="station",
        lazy="raise",
        order_by="Evse.evse_id",
        cascade="all, delete-orphan",
    )


class Evse(UuidPk, Timestamps, TenantBase):
    """An EVSE of a station: OCPP ``evseId`` (1-based) and the OCPI/eMI3 EVSE id."""

    __tablename__ = "evses"
    __table_args__ = (
        UniqueConstraint("charging_station_id", "evse_id"),
        CheckConstraint("evse_id >= 1", name="evse_id_positive"),
    )

    charging_station_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.charging_stations.id", ondelete="CASCADE"), nullable=False
    )
    evse_id: Mapped[int] = mapped_column(Integer, nullable=False)
    emi3_id: Mapped[str | None] = mapped_column(String(48), unique=True)
    physical_reference: Mapped[str | None] = mapped_column(String(16))

    station: Mapped[ChargingStation] = relationship(back_populates="evses", lazy="raise")
    connectors: Mapped[list[Connector]] = relationship(
        back_populates="evse",
        lazy="raise",
        order_by="Connector.connector_id",
        cascade="all, delete-orphan",
    )


class Connector(UuidPk, Timestamps, TenantBase):
    """A connector of an EVSE (1-based within the EVSE) with its standard and ratings."""

    __tablename__ = "connectors"
    __table_args__ = (
        UniqueConstraint("evse_pk", "connector_id"),
        CheckConstraint("connector_id >= 1", name="connector_id_positive"),
        CheckConstraint("max_voltage > 0", name="max_voltage_positive"),
        CheckConstraint("max_amperage > 0", name="max_amperage_positive"),
        CheckConstraint(
            "max_electric_power IS NULL OR max_electric_power > 0", name="max_power_positive"
        ),
        # The driver app's search looks rare plugs up connector first (station.search).
        Index("ix_connectors_standard_power", "standard", "max_electric_power"),
        Index("ix_connectors_power", "max_electric_power"),
    )

    evse_pk: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenant.evses.id", ondelete="CASCADE"), nullable=False
    )
    connector_id: Mapped[int] = mapped_column(Integer, nullable=False)
    standard: Mapped[ConnectorStandard] = mapped_column(
        str_enum(ConnectorStandard, 32), nullable=False
    )
    format: Mapped[ConnectorFormat] = mapped_column(str_enum(ConnectorFormat, 8), nullable=False)
    power_type: Mapped[PowerType] = mapped_column(str_enum(PowerType, 20), nullable=False)
    max_voltage: Mapped[int] = mapped_column(Integer, nullable=False)  # V
    max_amperage: Mapped[int] = mapped_column(Integer, nullable=False)  # A
    max_electric_power: Mapped[int | None] = mapped_column(Integer)  # W
    # Last reported OCPP status (Available, Occupied, Charging, Faulted, Unavailable, ...);
    # only a report newer than status_at replaces it.
    status: Mapped[str] = mapped_column(
        String(20), nullable=False, default="Unknown", server_default="Unknown"
    )
    status_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_code: Mapped[str | None] = mapped_column(String(50))

    evse: Mapped[Evse] = relationship(back_populates="connectors", lazy="raise")
