"""Request bodies of the typed command endpoints: one per ``station.typed_commands`` class.

Each body carries the command's fields (OCPP 2.0.1 vocabulary, whatever the station's
version) plus ``deadline_seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from voltlane.models.tenant import IdTokenType
from voltlane.station import typed_commands as tc

Deadline = Annotated[
    float, Meta(ge=1, le=300, description="Seconds to wait for the station's answer (1-300)")
]
Token = Annotated[str, Meta(min_length=1, max_length=36)]
EvseNumber = Annotated[int, Meta(ge=1, description="OCPP evseId (1.6: connectorId)")]
EvseOrStation = Annotated[int, Meta(ge=0, description="OCPP evseId; 0 is the whole station")]
ConnectorNumber = Annotated[int, Meta(ge=1)]
Count = Annotated[int, Meta(ge=0)]
Name = Annotated[str, Meta(min_length=1, max_length=50)]
Url = Annotated[str, Meta(min_length=1, max_length=512)]
Instant = Annotated[datetime, Meta(tz=True, description="With a timezone offset")]
Purpose = Literal["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"]
RateUnit = Literal["A", "W"]


class CommandBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    deadline_seconds: Deadline = 30.0


class RemoteStartBody(CommandBody, kw_only=True):
    id_token: Token
    id_token_type: IdTokenType = IdTokenType.CENTRAL
    evse_id: EvseNumber | None = None
    remote_start_id: Count = 0
    charging_profile: dict[str, Any] | None = None


class RemoteStopBody(CommandBody, kw_only=True):
    transaction_id: Token


class ResetBody(CommandBody, kw_only=True):
    kind: Literal["soft", "hard", "on_idle", "immediate"] = "soft"
    evse_id: EvseNumber | None = None


class UnlockConnectorBody(CommandBody, kw_only=True):
    evse_id: EvseNumber
    connector_id: ConnectorNumber = 1


class ChangeAvailabilityBody(CommandBody, kw_only=True):
    operative: bool
    evse_id: Annotated[EvseNumber | None, Meta(description="Left out: the whole station")] = None
    connector_id: ConnectorNumber | None = None


class GetConfigurationBody(CommandBody, kw_only=True):
    keys: list[Name] = []


class ChangeConfigurationBody(CommandBody, kw_only=True):
    key: Name
    value: Annotated[str, Meta(max_length=500)]


class VariableRefBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    component: Name
    variable: Name
    value: Annotated[str, Meta(max_length=2500)] | None = None
    instance: Name | None = None
    evse_id: EvseNumber | None = None
    attribute: Literal["Actual", "Target", "MinSet", "MaxSet"] | None = None


class GetVariablesBody(CommandBody, kw_only=True):
    variables: Annotated[list[VariableRefBody], Meta(min_length=1)]


class SetVariablesBody(CommandBody, kw_only=True):
    variables: Annotated[list[VariableRefBody], Meta(min_length=1)]


class GetBaseReportBody(CommandBody, kw_only=True):
    request_id: int
    report_base: Literal["ConfigurationInventory", "FullInventory", "SummaryInventory"] = (
        "FullInventory"
    )


class TriggerMessageBody(CommandBody, kw_only=True):
    message: Annotated[str, Meta(min_length=1, max_length=64, examples=["StatusNotification"])]
    evse_id: EvseNumber | None = None
    connector_id: ConnectorNumber | None = None


class ClearCacheBody(CommandBody, kw_only=True):
    pass


class LocalListEntryBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    id_token: Token
    status: Literal["Accepted", "Blocked", "Expired", "Invalid"] = "Accepted"
    expires_at: Instant | None = None
    id_token_type: IdTokenType = IdTokenType.ISO14443


class SendLocalListBody(CommandBody, kw_only=True):
    version: Count
    update_type: Literal["Full", "Differential"] = "Full"
    entries: list[LocalListEntryBody] = []


class GetLocalListVersionBody(CommandBody, kw_only=True):
    pass


class ReserveNowBody(CommandBody, kw_only=True):
    reservation_id: int
    expires_at: Instant
    id_token: Token
    evse_id: EvseNumber | None = None
    id_token_type: IdTokenType = IdTokenType.CENTRAL


class CancelReservationBody(CommandBody, kw_only=True):
    reservation_id: int


class UpdateFirmwareBody(CommandBody, kw_only=True):
    location: Url
    retrieve_at: Instant
    request_id: int = 0
    retries: Count | None = None
    retry_interval: Count | None = None


class GetLogBody(CommandBody, kw_only=True):
    location: Url
    log_type: Literal["DiagnosticsLog", "SecurityLog"] = "DiagnosticsLog"
    request_id: int = 0
    start: Instant | None = None
    stop: Instant | None = None


class SchedulePeriodBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    start_period: Annotated[int, Meta(ge=0, description="Seconds from the schedule's start")]
    limit: Annotated[float, Meta(ge=0)]
    number_phases: Annotated[int, Meta(ge=1, le=3)] | None = None


class SetChargingProfileBody(CommandBody, kw_only=True):
    evse_id: EvseOrStation
    profile_id: int
    stack_level: Count
    purpose: Purpose
    kind: Literal["Absolute", "Recurring", "Relative"]
    rate_unit: RateUnit
    periods: Annotated[list[SchedulePeriodBody], Meta(min_length=1)]
    start_schedule: Instant | None = None
    duration: Count | None = None
    transaction_id: Token | None = None
    recurrency: Literal["Daily", "Weekly"] | None = None
    min_charging_rate: (
        Annotated[float, Meta(ge=0, description="The lowest rate the car charges at, in rate_unit")]
        | None
    ) = None


class ClearChargingProfileBody(CommandBody, kw_only=True):
    profile_id: int | None = None
    evse_id: EvseOrStation | None = None
    purpose: Purpose | None = None
    stack_level: Count | None = None


class GetCompositeScheduleBody(CommandBody, kw_only=True):
    evse_id: EvseOrStation
    duration: Count
    rate_unit: RateUnit | None = None


@dataclass(frozen=True, slots=True)
class TypedEndpoint:
    name: str
    body: type[CommandBody]
    command: type[Any]
    summary: str


TYPED_ENDPOINTS: tuple[TypedEndpoint, ...] = (
    TypedEndpoint("remote-start", RemoteStartBody, tc.RemoteStart, "Start a charging session"),
    TypedEndpoint("remote-stop", RemoteStopBody, tc.RemoteStop, "Stop a charging session"),
    TypedEndpoint("reset", ResetBody, tc.Reset, "Reset the station or an EVSE"),
    TypedEndpoint(
        "unlock-connector", UnlockConnectorBody, tc.UnlockConnector, "Unlock a connector"
    ),
    TypedEndpoint(
        "change-availability",
        ChangeAvailabilityBody,
        tc.ChangeAvailability,
        "Make the station, an EVSE or a connector (in)operative",
    ),
    TypedEndpoint(
        "get-configuration",
        GetConfigurationBody,
        tc.GetConfiguration,
        "Read configuration keys (OCPP 1.6 only)",
    ),
    TypedEndpoint(
        "change-configuration",
        ChangeConfigurationBody,
        tc.ChangeConfiguration,
        "Change a configuration key (OCPP 1.6 only)",
    ),
    TypedEndpoint(
        "get-variables", GetVariablesBody, tc.GetVariables, "Read variables (OCPP 2.x only)"
    ),
    TypedEndpoint(
        "set-variables", SetVariablesBody, tc.SetVariables, "Set variables (OCPP 2.x only)"
    ),
    TypedEndpoint(
        "get-base-report",
        GetBaseReportBody,
        tc.GetBaseReport,
        "Ask for a device model report (OCPP 2.x only)",
    ),
    TypedEndpoint(
        "trigger-message",
        TriggerMessageBody,
        tc.TriggerMessage,
        "Ask the station to send a message",
    ),
    TypedEndpoint("clear-cache", ClearCacheBody, tc.ClearCache, "Clear the authorization cache"),
    TypedEndpoint(
        "send-local-list",
        SendLocalListBody,
        tc.SendLocalList,
        "Send the local authorization list",
    ),
    TypedEndpoint(
        "get-local-list-version",
        GetLocalListVersionBody,
        tc.GetLocalListVersion,
        "Read the local authorization list's version",
    ),
    TypedEndpoint("reserve-now", ReserveNowBody, tc.ReserveNow, "Reserve an EVSE for a token"),
    TypedEndpoint(
        "cancel-reservation", CancelReservationBody, tc.CancelReservation, "Cancel a reservation"
    ),
    TypedEndpoint("update-firmware", UpdateFirmwareBody, tc.UpdateFirmware, "Install new firmware"),
    TypedEndpoint("get-log", GetLogBody, tc.GetLog, "Upload a diagnostics or security log"),
    TypedEndpoint(
        "set-charging-profile",
        SetChargingProfileBody,
        tc.SetChargingProfile,
        "Install a charging profile",
    ),
    TypedEndpoint(
        "clear-charging-profile",
        ClearChargingProfileBody,
        tc.ClearChargingProfile,
        "Remove charging profiles",
    ),
    TypedEndpoint(
        "get-composite-schedule",
        GetCompositeScheduleBody,
        tc.GetCompositeSchedule,
        "Read the schedule the station will follow",
    ),
)


def to_command(body: CommandBody, command: type[Any]) -> object:
    """The typed command a body describes (``deadline_seconds`` is not part of it)."""
    result: object = msgspec.convert(body, command, from_attributes=True)
    return result
