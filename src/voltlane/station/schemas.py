"""Inputs and read models of the station domain."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from msgspec import UNSET, UnsetType

from voltlane.models.tenant import (
    ConnectorFormat,
    ConnectorStandard,
    PowerType,
    RegistrationStatus,
)

T = TypeVar("T")


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


# Updates: a field left UNSET keeps its value; None clears a nullable one.
@dataclass(frozen=True, slots=True)
class LocationUpdate:
    name: str | UnsetType = UNSET
    address: str | UnsetType = UNSET
    city: str | UnsetType = UNSET
    postal_code: str | UnsetType | None = UNSET
    country: str | UnsetType = UNSET
    latitude: Decimal | UnsetType = UNSET
    longitude: Decimal | UnsetType = UNSET
    timezone: str | UnsetType = UNSET
    opening_hours: dict[str, Any] | UnsetType = UNSET
    publish: bool | UnsetType = UNSET


@dataclass(frozen=True, slots=True)
class StationUpdate:
    location_id: uuid.UUID | UnsetType = UNSET
    vendor: str | UnsetType | None = UNSET
    model: str | UnsetType | None = UNSET
    serial_number: str | UnsetType | None = UNSET
    security_profile: int | UnsetType = UNSET


@dataclass(frozen=True, slots=True)
class EvseUpdate:
    emi3_id: str | UnsetType | None = UNSET
    physical_reference: str | UnsetType | None = UNSET


@dataclass(frozen=True, slots=True)
class ConnectorUpdate:
    standard: ConnectorStandard | UnsetType = UNSET
    format: ConnectorFormat | UnsetType = UNSET
    power_type: PowerType | UnsetType = UNSET
    max_voltage: int | UnsetType = UNSET
    max_amperage: int | UnsetType = UNSET
    max_electric_power: int | UnsetType | None = UNSET


def changes(update: object) -> dict[str, Any]:
    """The fields an update sets, by name (UNSET ones left out)."""
    return {
        name: value
        for name in getattr(update, "__dataclass_fields__", {})
        if (value := getattr(update, name)) is not UNSET
    }


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list and the total number of rows matching its filters."""

    items: list[T]
    total: int


@dataclass(frozen=True, slots=True)
class StationFilter:
    """What the operator's station list is narrowed to; None or "" means any."""

    search: str = ""  # part of the station id, the location's name or its city
    registration_status: RegistrationStatus | None = None
    connected: bool | None = None  # True: online now, False: offline now
    protocol: str | None = None  # ocpp1.6 | ocpp2.0.1 | ocpp2.1


@dataclass(frozen=True, slots=True)
class StationListItem:
    """A station in the operator's list: its site (none while awaiting approval), totals
    and whether it is connected right now."""

    id: uuid.UUID
    station_id: str
    location_id: uuid.UUID | None
    location_name: str | None
    city: str | None
    vendor: str | None
    model: str | None
    protocol: str | None
    security_profile: int
    registration_status: str
    evse_count: int
    connector_count: int
    max_power_w: int | None
    online: bool = False


@dataclass(frozen=True, slots=True)
class Connectivity:
    """Whether a station holds a socket now: since when, or when it was last heard from."""

    online: bool
    connected_at: datetime | None  # when the current connection opened (online only)
    last_seen_at: datetime | None  # the newest frame in or out, whatever the state


@dataclass(frozen=True, slots=True)
class ConfigurationEntry:
    """One configuration key (1.6) or variable (2.x) as the station reported it."""

    component: str | None
    name: str
    value: str | None
    readonly: bool | None


@dataclass(frozen=True, slots=True)
class ReportedConfiguration:
    """The station's newest configuration report: a GetConfiguration answer (1.6) or the
    NotifyReport messages of its newest base report (2.x)."""

    source: str  # GetConfiguration | NotifyReport
    at: datetime
    entries: tuple[ConfigurationEntry, ...]


@dataclass(frozen=True, slots=True)
class FrameFilter:
    """What an OCPP message log is narrowed to; None means any."""

    direction: str | None = None  # in | out
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
