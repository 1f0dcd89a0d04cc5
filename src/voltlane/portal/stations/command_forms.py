"""The remote commands an operator sends from a station's page: one ``CommandForm`` each,
which builds the typed command the gateway translates into the station's OCPP version."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voltlane.portal.stations.forms import Field
from voltlane.station import typed_commands as tc
from voltlane.web.i18n import N_


@dataclass(frozen=True, slots=True)
class CommandForm:
    name: str  # its URL segment
    label: str  # an English msgid
    fields: tuple[Field, ...]
    build: Callable[[dict[str, Any]], object]
    versions: tuple[str, ...] = ("ocpp1.6", "ocpp2.0.1", "ocpp2.1")  # that can express it


ONLY_16 = ("ocpp1.6",)
ONLY_2X = ("ocpp2.0.1", "ocpp2.1")
EVSE = Field("evse_id", N_("EVSE"), "int", minimum=1, hint=N_("Leave empty for the station"))
CONNECTOR = Field("connector_id", N_("Connector"), "int", minimum=1)
TRIGGERS = tuple(
    (m, m)
    for m in (
        "BootNotification",
        "Heartbeat",
        "StatusNotification",
        "MeterValues",
        "FirmwareStatusNotification",
        "DiagnosticsStatusNotification",
        "LogStatusNotification",
        "SignChargingStationCertificate",
    )
)


def _keys(text: str | None) -> tuple[str, ...]:
    return tuple(k.strip() for k in (text or "").split(",") if k.strip())


COMMAND_FORMS: tuple[CommandForm, ...] = (
    CommandForm(
        "reset",
        N_("Reset"),
        (
            Field(
                "kind",
                N_("Kind"),
                "choice",
                required=True,
                options=(
                    ("soft", N_("Soft (1.6) / when idle")),
                    ("hard", N_("Hard (1.6) / immediately")),
                    ("on_idle", N_("When idle (2.x)")),
                    ("immediate", N_("Immediately (2.x)")),
                ),
                default="soft",
            ),
            EVSE,
        ),
        lambda v: tc.Reset(kind=v["kind"], evse_id=v["evse_id"]),
    ),
    CommandForm(
        "unlock-connector",
        N_("Unlock a connector"),
        (
            Field("evse_id", N_("EVSE"), "int", required=True, minimum=1),
            Field("connector_id", N_("Connector"), "int", required=True, minimum=1, default="1"),
        ),
        lambda v: tc.UnlockConnector(evse_id=v["evse_id"], connector_id=v["connector_id"]),
    ),
    CommandForm(
        "change-availability",
        N_("Change availability"),
        (
            Field(
                "operative",
                N_("Availability"),
                "choice",
                required=True,
                options=(("operative", N_("Operative")), ("inoperative", N_("Inoperative"))),
                default="operative",
            ),
            EVSE,
            CONNECTOR,
        ),
        lambda v: tc.ChangeAvailability(
            operative=v["operative"] == "operative",
            evse_id=v["evse_id"],
            connector_id=v["connector_id"],
        ),
    ),
    CommandForm(
        "trigger-message",
        N_("Trigger a message"),
        (
            Field(
                "message",
                N_("Message"),
                "choice",
                required=True,
                options=TRIGGERS,
                default="StatusNotification",
            ),
            EVSE,
            CONNECTOR,
        ),
        lambda v: tc.TriggerMessage(
            message=v["message"], evse_id=v["evse_id"], connector_id=v["connector_id"]
        ),
    ),
    CommandForm(
        "remote-start",
        N_("Start a charging session"),
        (
            Field("id_token", N_("Id token"), required=True, max_length=36),
            Field("evse_id", N_("EVSE"), "int", minimum=1),
        ),
        lambda v: tc.RemoteStart(id_token=v["id_token"], evse_id=v["evse_id"]),
    ),
    CommandForm(
        "remote-stop",
        N_("Stop a charging session"),
        (Field("transaction_id", N_("Transaction id"), required=True, max_length=36),),
        lambda v: tc.RemoteStop(transaction_id=v["transaction_id"]),
    ),
    CommandForm(
        "get-configuration",
        N_("Read configuration (OCPP 1.6)"),
        (
            Field(
                "keys",
                N_("Keys"),
                max_length=500,
                hint=N_("Comma-separated; leave empty for every key"),
            ),
        ),
        lambda v: tc.GetConfiguration(keys=_keys(v["keys"])),
        ONLY_16,
    ),
    CommandForm(
        "change-configuration",
        N_("Change configuration (OCPP 1.6)"),
        (
            Field("key", N_("Key"), required=True),
            Field("value", N_("Value"), required=True, max_length=500),
        ),
        lambda v: tc.ChangeConfiguration(key=v["key"], value=v["value"]),
        ONLY_16,
    ),
    CommandForm(
        "get-base-report",
        N_("Ask for a device model report (OCPP 2.x)"),
        (
            Field(
                "report_base",
                N_("Report"),
                "choice",
                required=True,
                options=(
                    ("ConfigurationInventory", N_("Configuration inventory")),
                    ("FullInventory", N_("Full inventory")),
                    ("SummaryInventory", N_("Summary inventory")),
                ),
                default="ConfigurationInventory",
            ),
            Field("request_id", N_("Request id"), "int", required=True, default="1"),
        ),
        lambda v: tc.GetBaseReport(request_id=v["request_id"], report_base=v["report_base"]),
        ONLY_2X,
    ),
    CommandForm(
        "get-variables",
        N_("Read a variable (OCPP 2.x)"),
        (
            Field("component", N_("Component"), required=True),
            Field("variable", N_("Variable"), required=True),
            Field("evse_id", N_("EVSE"), "int", minimum=1),
        ),
        lambda v: tc.GetVariables(
            (tc.VariableRef(v["component"], v["variable"], evse_id=v["evse_id"]),)
        ),
        ONLY_2X,
    ),
    CommandForm(
        "set-variables",
        N_("Set a variable (OCPP 2.x)"),
        (
            Field("component", N_("Component"), required=True),
            Field("variable", N_("Variable"), required=True),
            Field("value", N_("Value"), required=True, max_length=500),
            Field("evse_id", N_("EVSE"), "int", minimum=1),
        ),
        lambda v: tc.SetVariables(
            (tc.VariableRef(v["component"], v["variable"], v["value"], evse_id=v["evse_id"]),)
        ),
        ONLY_2X,
    ),
    CommandForm("clear-cache", N_("Clear the authorization cache"), (), lambda v: tc.ClearCache()),
    CommandForm(
        "get-local-list-version",
        N_("Read the local list version"),
        (),
        lambda v: tc.GetLocalListVersion(),
    ),
    CommandForm(
        "update-firmware",
        N_("Install firmware"),
        (
            Field("location", N_("Firmware URL"), required=True, max_length=512),
            Field(
                "retrieve_at",
                N_("Download from"),
                "datetime",
                required=True,
                hint=N_("In the brand's timezone"),
            ),
        ),
        lambda v: tc.UpdateFirmware(location=v["location"], retrieve_at=v["retrieve_at"]),
    ),
    CommandForm(
        "get-log",
        N_("Upload a log"),
        (
            Field("location", N_("Upload URL"), required=True, max_length=512),
            Field(
                "log_type",
                N_("Log"),
                "choice",
                required=True,
                options=(
                    ("DiagnosticsLog", N_("Diagnostics")),
                    ("SecurityLog", N_("Security")),
                ),
                default="DiagnosticsLog",
            ),
        ),
        lambda v: tc.GetLog(location=v["location"], log_type=v["log_type"]),
    ),
    CommandForm(
        "reserve-now",
        N_("Reserve an EVSE"),
        (
            Field("reservation_id", N_("Reservation id"), "int", required=True),
            Field("id_token", N_("Id token"), required=True, max_length=36),
            Field(
                "expires_at",
                N_("Reserved until"),
                "datetime",
                required=True,
                hint=N_("In the brand's timezone"),
            ),
            Field("evse_id", N_("EVSE"), "int", minimum=1, hint=N_("Leave empty for any EVSE")),
        ),
        lambda v: tc.ReserveNow(
            reservation_id=v["reservation_id"],
            expires_at=v["expires_at"],
            id_token=v["id_token"],
            evse_id=v["evse_id"],
        ),
    ),
    CommandForm(
        "cancel-reservation",
        N_("Cancel a reservation"),
        (Field("reservation_id", N_("Reservation id"), "int", required=True),),
        lambda v: tc.CancelReservation(reservation_id=v["reservation_id"]),
    ),
    CommandForm(
        "get-composite-schedule",
        N_("Read the charging schedule"),
        (
            Field("evse_id", N_("EVSE"), "int", required=True, hint=N_("0 for the station")),
            Field("duration", N_("Duration (s)"), "int", required=True, default="3600"),
            Field(
                "rate_unit",
                N_("Unit"),
                "choice",
                required=True,
                options=(("W", N_("Watts")), ("A", N_("Amperes"))),
                default="W",
            ),
        ),
        lambda v: tc.GetCompositeSchedule(
            evse_id=v["evse_id"], duration=v["duration"], rate_unit=v["rate_unit"]
        ),
    ),
    CommandForm(
        "clear-charging-profile",
        N_("Remove charging profiles"),
        (
            Field("profile_id", N_("Profile id"), "int", hint=N_("Leave empty for every profile")),
            Field("evse_id", N_("EVSE"), "int", hint=N_("0 for the station")),
        ),
        lambda v: tc.ClearChargingProfile(profile_id=v["profile_id"], evse_id=v["evse_id"]),
    ),
)
COMMANDS_BY_NAME = {form.name: form for form in COMMAND_FORMS}
