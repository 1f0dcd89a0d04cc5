"""Inputs and read models of the station domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from voltlane.models.tenant import ConnectorFormat, ConnectorStandard, PowerType


@dataclass(frozen=True, slots=True)
class ConnectorCreate:
    standard: ConnectorStandard
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None


@dataclass(frozen=True, slots=True)
class EvseCreate:
    connectors: tuple[ConnectorCreate, ...]
    emi3_id: str | None = None
    physical_reference: str | None = None


@dataclass(frozen=True, slots=True)
class StationCreate:
    station_id: str
    evses: tuple[EvseCreate, ...]
    security_profile: int = 2
    vendor: str | None = None
    model: str | None = None
    serial_number: str | None = None


@dataclass(frozen=True, slots=True)
class LocationCreate:
    name: str
    address: str
    city: str
    country: str
    latitude: Decimal
    longitude: Decimal
    timezone: str
    postal_code: str | None = None
    opening_hours: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class NetworkCounts:
    locations: int
    stations: int
    evses: int
    connectors: int


@dataclass(frozen=True, slots=True)
class StationRow:
    id: uuid.UUID
    station_id: str
    location_name: str
    city: str
    vendor: str | None
    model: str | None
    protocol: str | None
    security_profile: int
    registration_status: str
    evse_count: int
    connector_count: int
    max_power_w: int | None


@dataclass(frozen=True, slots=True)
class LocationCard:
    """A published location as a driver sees it in the list."""

    id: uuid.UUID
    name: str
    address: str
    postal_code: str | None
    city: str
    latitude: Decimal
    longitude: Decimal
    evse_count: int
    standards: tuple[str, ...]
    max_power_w: int | None
    twentyfourseven: bool
