"""What differs between OCPP 1.6J, 2.0.1 and 2.1 at the RPC level."""

from __future__ import annotations

import enum
from datetime import datetime

from ocpp.exceptions import FormatViolationError

from voltlane.core.clock import parse_iso


class Version(enum.StrEnum):
    """WebSocket subprotocols, newest first: the server prefers the newest a station offers."""

    V21 = "ocpp2.1"
    V201 = "ocpp2.0.1"
    V16 = "ocpp1.6"

    @property
    def library(self) -> str:
        """The version name the ``ocpp`` package uses for its schemas."""
        return {"ocpp2.1": "2.1", "ocpp2.0.1": "2.0.1", "ocpp1.6": "1.6"}[self.value]


SUBPROTOCOLS = [v.value for v in Version]

# Actions a station initiates, per version (everything else is CSMS-initiated).
STATION_ACTIONS: dict[Version, frozenset[str]] = {
    Version.V16: frozenset(
        {
            "Authorize",
            "BootNotification",
            "DataTransfer",
            "DiagnosticsStatusNotification",
            "FirmwareStatusNotification",
            "Heartbeat",
            "MeterValues",
            "StartTransaction",
            "StatusNotification",
            "StopTransaction",
            "LogStatusNotification",
            "SecurityEventNotification",
            "SignCertificate",
            "SignedFirmwareStatusNotification",
        }
    ),
    Version.V201: frozenset(
        {
            "Authorize",
            "BootNotification",
            "ClearedChargingLimit",
            "DataTransfer",
            "FirmwareStatusNotification",
            "Get15118EVCertificate",
            "GetCertificateStatus",
            "Heartbeat",
            "LogStatusNotification",
            "MeterValues",
            "NotifyChargingLimit",
            "NotifyCustomerInformation",
            "NotifyDisplayMessages",
            "NotifyEVChargingNeeds",
            "NotifyEVChargingSchedule",
            "NotifyEvent",
            "NotifyMonitoringReport",
            "NotifyReport",
            "PublishFirmwareStatusNotification",
            "ReportChargingProfiles",
            "ReservationStatusUpdate",
            "SecurityEventNotification",
            "SignCertificate",
            "StatusNotification",
            "TransactionEvent",
        }
    ),
}
STATION_ACTIONS[Version.V21] = STATION_ACTIONS[Version.V201] | frozenset(
    {
        "BatterySwap",
        "ClosePeriodicEventStream",
        "GetCertificateChainStatus",
        "NotifyDERAlarm",
        "NotifyDERStartStop",
        "NotifyPeriodicEventStream",
        "NotifyPriorityCharging",
        "NotifySettlement",
        "OpenPeriodicEventStream",
        "PullDynamicScheduleUpdate",
        "ReportDERControl",
        "VatNumberValidation",
    }
)

# 1.6 spells two error codes differently from 2.x (and the ocpp package uses 2.x names).
_V16_CODES = {
    "FormatViolation": "FormationViolation",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
    "RpcFrameworkError": "FormationViolation",
    "MessageTypeNotSupported": "ProtocolError",
}


def error_code(version: Version, code: str) -> str:
    """The CALLERROR code as ``version`` names it."""
    return _V16_CODES.get(code, code) if version is Version.V16 else code


def timestamp(value: object, field: str) -> datetime:
    """A protocol timestamp as aware UTC; a malformed one is a format violation."""
    if not isinstance(value, str):
        raise FormatViolationError(details={"cause": f"{field} must be a date-time string"})
    try:
        return parse_iso(value)
    except ValueError as exc:
        raise FormatViolationError(
            details={"cause": f"{field} is not an RFC 3339 date-time: {value!r}"}
        ) from exc
