"""Typed commands -> the OCPP action and payload of a station's protocol version.

The only place that knows how 1.6 and 2.x spell each remote command; payloads are checked
against the version's JSON schema before anything is stored or sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ocpp.v16.enums
import ocpp.v21.enums
import ocpp.v201.enums
from ocpp.exceptions import OCPPError
from ocpp.messages import Call, _validate_payload

from voltlane.core.clock import iso_utc
from voltlane.ocpp.protocol import STATION_ACTIONS, Version
from voltlane.station import typed_commands as tc
from voltlane.station.ports import UnsupportedCommandError

Payload = dict[str, Any]


def _clean(payload: Payload) -> Payload:
    return {k: v for k, v in payload.items() if v is not None}


def _when(value: datetime | None) -> str | None:
    return iso_utc(value) if value is not None else None


def _v16(command: object) -> tuple[str, Payload]:  # noqa: PLR0912 - one case per command
    match command:
        case tc.RemoteStart():
            payload: Payload = {"idTag": command.id_token[:20], "connectorId": command.evse_id}
            if command.charging_profile is not None:
                payload["chargingProfile"] = command.charging_profile
            return "RemoteStartTransaction", _clean(payload)
        case tc.RemoteStop():
            if not command.transaction_id.isdigit():
                raise UnsupportedCommandError("OCPP 1.6 transaction ids are integers")
            return "RemoteStopTransaction", {"transactionId": int(command.transaction_id)}
        case tc.Reset():
            kind = "Hard" if command.kind in ("hard", "immediate") else "Soft"
            return "Reset", {"type": kind}
        case tc.UnlockConnector():
            return "UnlockConnector", {"connectorId": command.evse_id}
        case tc.ChangeAvailability():
            return "ChangeAvailability", {
                "connectorId": command.evse_id or 0,
                "type": "Operative" if command.operative else "Inoperative",
            }
        case tc.GetConfiguration():
            return "GetConfiguration", {"key": list(command.keys)} if command.keys else {}
        case tc.ChangeConfiguration():
            return "ChangeConfiguration", {"key": command.key, "value": command.value}
        case tc.TriggerMessage():
            return "TriggerMessage", _clean(
                {"requestedMessage": command.message, "connectorId": command.evse_id}
            )
        case tc.ClearCache():
            return "ClearCache", {}
        case tc.SendLocalList():
            entries = [
                {
                    "idTag": e.id_token[:20],
                    "idTagInfo": _clean({"status": e.status, "expiryDate": _when(e.expires_at)}),
                }
                for e in command.entries
            ]
            return "SendLocalList", {
                "listVersion": command.version,
                "updateType": command.update_type,
                "localAuthorizationList": entries,
            }
        case tc.GetLocalListVersion():
            return "GetLocalListVersion", {}
        case tc.ReserveNow():
            return "ReserveNow", {
                "connectorId": command.evse_id or 0,
                "expiryDate": iso_utc(command.expires_at),
                "idTag": command.id_token[:20],
                "reservationId": command.reservation_id,
            }
        case tc.CancelReservation():
            return "CancelReservation", {"reservationId": command.reservation_id}
        case tc.UpdateFirmware():
            return "UpdateFirmware", _clean(
                {
                    "location": command.location,
                    "retrieveDate": iso_utc(command.retrieve_at),
                    "retries": command.retries,
                    "retryInterval": command.retry_interval,
                }
            )
        case tc.GetLog() if command.log_type == "DiagnosticsLog":
            return "GetDiagnostics", _clean(
                {
                    "location": command.location,
                    "startTime": _when(command.start),
                    "stopTime": _when(command.stop),
                }
            )
        case tc.GetLog():
            return "GetLog", {
                "logType": command.log_type,
                "requestId": command.request_id,
                "log": _clean(
                    {
                        "remoteLocation": command.location,
                        "oldestTimestamp": _when(command.start),
                        "latestTimestamp": _when(command.stop),
                    }
                ),
            }
        case tc.SetChargingProfile():
            return "SetChargingProfile", {
                "connectorId": command.evse_id,
                "csChargingProfiles": _clean(
                    {
                        "chargingProfileId": command.profile_id,
                        "transactionId": int(command.transaction_id)
                        if command.transaction_id and command.transaction_id.isdigit()
                        else None,
                        "stackLevel": command.stack_level,
                        "chargingProfilePurpose": command.purpose.replace(
                            "ChargingStationMaxProfile", "ChargePointMaxProfile"
                        ),
                        "chargingProfileKind": command.kind,
                        "recurrencyKind": command.recurrency,
                        "chargingSchedule": _clean(
                            {
                                "duration": command.duration,
                                "startSchedule": _when(command.start_schedule),
                                "chargingRateUnit": command.rate_unit,
                                "chargingSchedulePeriod": [
                                    _clean(
                                        {
                                            "startPeriod": p.start_period,
                                            "limit": p.limit,
                                            "numberPhases": p.number_phases,
                                        }
                                    )
                                    for p in command.periods
                                ],
                                "minChargingRate": command.min_charging_rate,
                            }
                        ),
                    }
                ),
            }
        case tc.ClearChargingProfile():
            purpose = command.purpose
            if purpose == "ChargingStationMaxProfile":
                purpose = "ChargePointMaxProfile"
            return "ClearChargingProfile", _clean(
                {
                    "id": command.profile_id,
                    "connectorId": command.evse_id,
                    "chargingProfilePurpose": purpose,
                    "stackLevel": command.stack_level,
                }
            )
        case tc.GetCompositeSchedule():
            return "GetCompositeSchedule", _clean(
                {
                    "connectorId": command.evse_id,
                    "duration": command.duration,
                    "chargingRateUnit": command.rate_unit,
                }
            )
        case tc.SetBasicAuthPassword():
            # OCPP 1.6 security extension: the Basic-auth password is AuthorizationKey.
            return "ChangeConfiguration", {"key": "AuthorizationKey", "value": command.password}
    raise UnsupportedCommandError(f"{type(command).__name__} is not available on OCPP 1.6")


def _variable(ref: tc.VariableRef, *, with_value: bool) -> Payload:
    entry: Payload = {
        "component": _clean(
            {
                "name": ref.component,
                "instance": ref.instance,
                "evse": {"id": ref.evse_id} if ref.evse_id is not None else None,
            }
        ),
        "variable": {"name": ref.variable},
    }
    if ref.attribute is not None:
        entry["attributeType"] = ref.attribute
    if with_value:
        if ref.value is None:
            raise UnsupportedCommandError(f"SetVariables needs a value for {ref.variable}")
        entry["attributeValue"] = ref.value
    return entry


def _evse(evse_id: int | None, connector_id: int | None = None) -> Payload | None:
    if evse_id is None:
        return None
    return _clean({"id": evse_id, "connectorId": connector_id})


def _period(period: tc.SchedulePeriod, version: Version) -> Payload:
    payload = _clean(
        {
            "startPeriod": period.start_period,
            "limit": period.limit,
            "numberPhases": period.number_phases,
        }
    )
    if version is Version.V21 and period.discharge_limit:
        # 2.1 spells a discharge limit negative; ChargingOnly (the default mode) would
        # forbid discharging, so the period says the car may charge and feed back within
        # the limits (an EMS or the car chooses where; no setpoint is given).
        payload["dischargeLimit"] = -period.discharge_limit
        payload["operationMode"] = "ExternalLimits"
    return payload


def _v2(  # noqa: PLR0912 - one case per command
    command: object, version: Version
) -> tuple[str, Payload]:
    match command:
        case tc.RemoteStart():
            return "RequestStartTransaction", _clean(
                {
                    "idToken": {"idToken": command.id_token, "type": command.id_token_type},
                    "remoteStartId": command.remote_start_id,
                    "evseId": command.evse_id,
                    "chargingProfile": command.charging_profile,
                }
            )
        case tc.RemoteStop():
            return "RequestStopTransaction", {"transactionId": command.transaction_id}
        case tc.Reset():
            kind = "Immediate" if command.kind in ("hard", "immediate") else "OnIdle"
            return "Reset", _clean({"type": kind, "evseId": command.evse_id})
        case tc.UnlockConnector():
            return "UnlockConnector", {
                "evseId": command.evse_id,
                "connectorId": command.connector_id,
            }
        case tc.ChangeAvailability():
            return "ChangeAvailability", _clean(
                {
                    "operationalStatus": "Operative" if command.operative else "Inoperative",
                    "evse": _evse(command.evse_id, command.connector_id),
                }
            )
        case tc.GetVariables():
            return "GetVariables", {
                "getVariableData": [_variable(v, with_value=False) for v in command.variables]
            }
        case tc.SetVariables():
            return "SetVariables", {
                "setVariableData": [_variable(v, with_value=True) for v in command.variables]
            }
        case tc.GetBaseReport():
            return "GetBaseReport", {
                "requestId": command.request_id,
                "reportBase": command.report_base,
            }
        case tc.TriggerMessage():
            return "TriggerMessage", _clean(
                {
                    "requestedMessage": command.message,
                    "evse": _evse(command.evse_id, command.connector_id),
                }
            )
        case tc.ClearCache():
            return "ClearCache", {}
        case tc.SendLocalList():
            entries = [
                {
                    "idToken": {"idToken": e.id_token, "type": e.id_token_type},
                    "idTokenInfo": _clean(
                        {"status": e.status, "cacheExpiryDateTime": _when(e.expires_at)}
                    ),
                }
                for e in command.entries
            ]
            payload: Payload = {"versionNumber": command.version, "updateType": command.update_type}
            if entries:
                payload["localAuthorizationList"] = entries
            return "SendLocalList", payload
        case tc.GetLocalListVersion():
            return "GetLocalListVersion", {}
        case tc.ReserveNow():
            return "ReserveNow", _clean(
                {
                    "id": command.reservation_id,
                    "expiryDateTime": iso_utc(command.expires_at),
                    "idToken": {"idToken": command.id_token, "type": command.id_token_type},
                    "evseId": command.evse_id,
                }
            )
        case tc.CancelReservation():
            return "CancelReservation", {"reservationId": command.reservation_id}
        case tc.UpdateFirmware():
            return "UpdateFirmware", _clean(
                {
                    "requestId": command.request_id,
                    "retries": command.retries,
                    "retryInterval": command.retry_interval,
                    "firmware": {
                        "location": command.location,
                        "retrieveDateTime": iso_utc(command.retrieve_at),
                    },
                }
            )
        case tc.GetLog():
            return "GetLog", {
                "logType": command.log_type,
                "requestId": command.request_id,
                "log": _clean(
                    {
                        "remoteLocation": command.location,
                        "oldestTimestamp": _when(command.start),
                        "latestTimestamp": _when(command.stop),
                    }
                ),
            }
        case tc.SetChargingProfile():
            return "SetChargingProfile", {
                "evseId": command.evse_id,
                "chargingProfile": _clean(
                    {
                        "id": command.profile_id,
                        "stackLevel": command.stack_level,
                        "chargingProfilePurpose": command.purpose,
                        "chargingProfileKind": command.kind,
                        "recurrencyKind": command.recurrency,
                        "transactionId": command.transaction_id,
                        "chargingSchedule": [
                            _clean(
                                {
                                    "id": command.profile_id,
                                    "duration": command.duration,
                                    "startSchedule": _when(command.start_schedule),
                                    "chargingRateUnit": command.rate_unit,
                                    "chargingSchedulePeriod": [
                                        _period(p, version) for p in command.periods
                                    ],
                                    "minChargingRate": command.min_charging_rate,
                                }
                            )
                        ],
                    }
                ),
            }
        case tc.ClearChargingProfile():
            criteria = _clean(
                {
                    "evseId": command.evse_id,
                    "chargingProfilePurpose": command.purpose,
                    "stackLevel": command.stack_level,
                }
            )
            return "ClearChargingProfile", _clean(
                {
                    "chargingProfileId": command.profile_id,
                    "chargingProfileCriteria": criteria or None,
                }
            )
        case tc.GetCompositeSchedule():
            return "GetCompositeSchedule", _clean(
                {
                    "evseId": command.evse_id,
                    "duration": command.duration,
                    "chargingRateUnit": command.rate_unit,
                }
            )
        case tc.SetBasicAuthPassword():
            return "SetVariables", {
                "setVariableData": [
                    {
                        "component": {"name": "SecurityCtrlr"},
                        "variable": {"name": "BasicAuthPassword"},
                        "attributeValue": command.password,
                    }
                ]
            }
    raise UnsupportedCommandError(f"{type(command).__name__} is not available on OCPP 2.x")


class OcppTranslator:
    """``station.ports.CommandTranslator`` for the versions this gateway speaks."""

    def translate(self, protocol: str, command: object) -> tuple[str, Payload]:
        version = _version(protocol)
        action, payload = _v16(command) if version is Version.V16 else _v2(command, version)
        self.validate(protocol, action, payload)
        return action, payload

    def redact(self, action: str, payload: Payload) -> Payload | None:
        return redact(action, payload)

    def validate(self, protocol: str, action: str, payload: Payload) -> None:
        version = _version(protocol)
        if action not in CSMS_ACTIONS[version]:
            raise UnsupportedCommandError(
                f"{action} is not an action the platform sends on OCPP {version.library}"
            )
        try:
            _validate_payload(Call("validate", action, payload), version.library)
        except OCPPError as exc:
            details = exc.details if isinstance(exc.details, dict) else {}
            cause = details.get("cause") or exc.description
            raise UnsupportedCommandError(
                f"{action} is not a valid OCPP {version.library} call: {cause}"
            ) from exc


def _csms_actions(version: Version) -> frozenset[str]:
    enum_type = {
        Version.V16: ocpp.v16.enums.Action,
        Version.V201: ocpp.v201.enums.Action,
        Version.V21: ocpp.v21.enums.Action,
    }[version]
    return frozenset(a.value for a in enum_type) - STATION_ACTIONS[version]


# What the platform may send to a station of each version (the schema files it validates
# against are looked up by these names only).
CSMS_ACTIONS = {v: _csms_actions(v) for v in Version}


def _version(protocol: str) -> Version:
    try:
        return Version(protocol)
    except ValueError as exc:
        raise UnsupportedCommandError(
            "the station has not connected yet, so its OCPP version is unknown"
        ) from exc


REDACTED = "[redacted]"
_SECRET_CONFIGURATION_KEYS = frozenset({"AuthorizationKey"})
_SECRET_VARIABLES = frozenset({("securityctrlr", "basicauthpassword")})


def redact(action: str, payload: Payload) -> Payload | None:
    """``payload`` with its secrets replaced, or None when it holds none.

    Secrets are what a station authenticates with (its Basic-auth password); they must not
    be kept in the command history or the frame log.
    """
    key = payload.get("key")
    # 1.6 configuration keys are case-insensitive.
    if (
        action == "ChangeConfiguration"
        and isinstance(key, str)
        and key.lower() in {k.lower() for k in _SECRET_CONFIGURATION_KEYS}
    ):
        return {**payload, "value": REDACTED}
    if action == "SetVariables":
        entries = payload.get("setVariableData", [])
        secret = [
            isinstance(e, dict)
            and (
                str((e.get("component") or {}).get("name", "")).lower(),
                str((e.get("variable") or {}).get("name", "")).lower(),
            )
            in _SECRET_VARIABLES
            for e in entries
        ]
        if any(secret):
            return {
                **payload,
                "setVariableData": [
                    {**e, "attributeValue": REDACTED} if hidden else e
                    for e, hidden in zip(entries, secret, strict=True)
                ],
            }
    return None
