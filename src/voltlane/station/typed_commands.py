"""Remote commands in Voltlane's words; the gateway turns each into the station's OCPP action.

Fields use OCPP 2.0.1 vocabulary (evse_id, id_token). A command a protocol version cannot
express (for example GetVariables on 1.6) is refused before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class RemoteStart:
    id_token: str
    id_token_type: str = "Central"
    evse_id: int | None = None
    remote_start_id: int = 0
    charging_profile: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class RemoteStop:
    transaction_id: str


@dataclass(frozen=True, slots=True)
class Reset:
    # soft/hard are 1.6 words; on_idle/immediate their 2.x equivalents.
    kind: Literal["soft", "hard", "on_idle", "immediate"] = "soft"
    evse_id: int | None = None


@dataclass(frozen=True, slots=True)
class UnlockConnector:
    evse_id: int
    connector_id: int = 1


@dataclass(frozen=True, slots=True)
class ChangeAvailability:
    operative: bool
    evse_id: int | None = None  # None: the whole station
    connector_id: int | None = None


@dataclass(frozen=True, slots=True)
class GetConfiguration:
    """OCPP 1.6 only."""

    keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChangeConfiguration:
    """OCPP 1.6 only."""

    key: str
    value: str


@dataclass(frozen=True, slots=True)
class VariableRef:
    component: str
    variable: str
    value: str | None = None
    instance: str | None = None
    evse_id: int | None = None
    attribute: str | None = None


@dataclass(frozen=True, slots=True)
class GetVariables:
    """OCPP 2.x only."""

    variables: tuple[VariableRef, ...]


@dataclass(frozen=True, slots=True)
class SetVariables:
    """OCPP 2.x only (each VariableRef needs a value)."""

    variables: tuple[VariableRef, ...]


@dataclass(frozen=True, slots=True)
class GetBaseReport:
    """OCPP 2.x only."""

    request_id: int
    report_base: Literal["ConfigurationInventory", "FullInventory", "SummaryInventory"] = (
        "FullInventory"
    )


@dataclass(frozen=True, slots=True)
class TriggerMessage:
    message: str  # BootNotification, Heartbeat, MeterValues, StatusNotification, ...
    evse_id: int | None = None
    connector_id: int | None = None


@dataclass(frozen=True, slots=True)
class ClearCache:
    pass


@dataclass(frozen=True, slots=True)
class LocalListEntry:
    id_token: str
    status: str = "Accepted"  # Accepted, Blocked, Expired, Invalid
    expires_at: datetime | None = None
    id_token_type: str = "ISO14443"


@dataclass(frozen=True, slots=True)
class SendLocalList:
    version: int
    update_type: Literal["Full", "Differential"] = "Full"
    entries: tuple[LocalListEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class GetLocalListVersion:
    pass


@dataclass(frozen=True, slots=True)
class ReserveNow:
    reservation_id: int
    expires_at: datetime
    id_token: str
    evse_id: int | None = None
    id_token_type: str = "Central"


@dataclass(frozen=True, slots=True)
class CancelReservation:
    reservation_id: int


@dataclass(frozen=True, slots=True)
class UpdateFirmware:
    location: str
    retrieve_at: datetime
    request_id: int = 0
    retries: int | None = None
    retry_interval: int | None = None


@dataclass(frozen=True, slots=True)
class GetLog:
    """1.6: GetDiagnostics (diagnostics) or GetLog (security); 2.x: GetLog."""

    location: str
    log_type: Literal["DiagnosticsLog", "SecurityLog"] = "DiagnosticsLog"
    request_id: int = 0
    start: datetime | None = None
    stop: datetime | None = None


@dataclass(frozen=True, slots=True)
class SchedulePeriod:
    start_period: int
    limit: float
    number_phases: int | None = None
    # OCPP 2.1 V2X: the most the car may feed back, as a positive number in the schedule's
    # unit (2.1 spells it negative; 2.0.1 and 1.6 have no such field and never get it).
    discharge_limit: float | None = None


@dataclass(frozen=True, slots=True)
class SetChargingProfile:
    evse_id: int
    profile_id: int
    stack_level: int
    purpose: Literal["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"]
    kind: Literal["Absolute", "Recurring", "Relative"]
    rate_unit: Literal["A", "W"]
    periods: tuple[SchedulePeriod, ...]
    start_schedule: datetime | None = None
    duration: int | None = None
    transaction_id: str | None = None
    recurrency: Literal["Daily", "Weekly"] | None = None
    # The least the car can charge at, in the schedule's unit (a local energy manager
    # should not allot it less); None: not said.
    min_charging_rate: float | None = None


@dataclass(frozen=True, slots=True)
class ClearChargingProfile:
    profile_id: int | None = None
    evse_id: int | None = None
    purpose: str | None = None
    stack_level: int | None = None


@dataclass(frozen=True, slots=True)
class GetCompositeSchedule:
    evse_id: int
    duration: int
    rate_unit: Literal["A", "W"] | None = None


@dataclass(frozen=True, slots=True)
class SetBasicAuthPassword:
    """Hand the station a new Basic-auth password (stored once the station accepts)."""

    password: str = field(repr=False)


TypedCommand = (
    RemoteStart
    | RemoteStop
    | Reset
    | UnlockConnector
    | ChangeAvailability
    | GetConfiguration
    | ChangeConfiguration
    | GetVariables
    | SetVariables
    | GetBaseReport
    | TriggerMessage
    | ClearCache
    | SendLocalList
    | GetLocalListVersion
    | ReserveNow
    | CancelReservation
    | UpdateFirmware
    | GetLog
    | SetChargingProfile
    | ClearChargingProfile
    | GetCompositeSchedule
    | SetBasicAuthPassword
)
