"""The forms of the stations section: fields checked on the server, the onboarding wizard.

A form is a tuple of ``Field``s; ``read_form`` turns what the browser sent into typed values
plus an error per field (English msgids, translated where they are shown).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from voltlane.models.tenant import ConnectorFormat, ConnectorStandard, PowerType
from voltlane.portal.numbers import parse_localized
from voltlane.station.schemas import ConnectorCreate, EvseCreate, LocationCreate, StationCreate
from voltlane.web.i18n import N_
from voltlane.web.labels import LABELS

Kind = Literal["int", "text", "choice", "decimal", "datetime", "uuid"]
MAX_TEXT = 512


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: str  # an English msgid
    kind: Kind = "text"
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()  # (value, English label) for a choice
    default: str = ""
    minimum: int = 0
    max_length: int = 50
    hint: str | None = None
    # A decimal's bounds (inclusive) and the message outside them; its decimals kept.
    between: tuple[int, int] | None = None
    out_of_range: str | None = None
    places: int | None = None


@dataclass(slots=True)
class FormInput:
    """What a form sent: the raw text to show again, the typed values, an error per field
    and one for what belongs to no field."""

    raw: dict[str, str]
    values: dict[str, Any]
    errors: dict[str, str]
    form_error: str | None = None

    @property
    def refused(self) -> bool:
        return bool(self.errors or self.form_error)


def _typed(field: Field, text: str, zone: ZoneInfo, locale: str) -> Any:
    """``text`` as the field's type; ValueError carries the message shown beside it."""
    if field.kind == "int":
        if not text.isdigit() or int(text) < field.minimum or len(text) > 9:
            raise ValueError(N_("Enter a whole number of at least %(minimum)s."))
        return int(text)
    if field.kind == "decimal":
        return _decimal(field, text, locale)
    if field.kind == "choice":
        if text not in {value for value, _ in field.options}:
            raise ValueError(N_("Choose one of the options."))
        return text
    if field.kind == "datetime":
        try:
            local = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(N_("Enter a date and time.")) from exc
        return local.replace(tzinfo=zone) if local.tzinfo is None else local
    if field.kind == "uuid":
        try:
            return uuid.UUID(text)
        except ValueError as exc:
            raise ValueError(N_("Choose one of the options.")) from exc
    if len(text) > field.max_length:
        raise ValueError(N_("At most %(max_length)s characters."))
    return text


def _decimal(field: Field, text: str, locale: str) -> Decimal:
    """A decimal written with the page's decimal separator ("52,5200" in German) or with a
    point, as maps print coordinates; within the field's bounds."""
    try:
        number = parse_localized(text, locale, point=True)
    except ValueError as exc:
        raise ValueError(N_("Enter a number.")) from exc
    if field.between is not None and not field.between[0] <= number <= field.between[1]:
        raise ValueError(field.out_of_range or N_("Enter a number."))
    if field.places is not None:
        # More digits than the column keeps (7: about a centimetre) are rounded here, not
        # silently by the database.
        number = number.quantize(Decimal(1).scaleb(-field.places), ROUND_HALF_EVEN)
    return number


def read_form(
    fields: tuple[Field, ...],
    form: Mapping[str, Any],
    *,
    zone: ZoneInfo | None = None,
    locale: str = "en",
) -> FormInput:
    """Check every field of ``form``, decimals written as in ``locale``; a blank optional
    field is None."""
    raw: dict[str, str] = {}
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for field in fields:
        text = str(form.get(field.name) or "").strip()[:MAX_TEXT]
        raw[field.name] = text
        if not text:
            if field.required:
                errors[field.name] = N_("This field is required.")
            values[field.name] = None
            continue
        try:
            values[field.name] = _typed(field, text, zone or ZoneInfo("UTC"), locale)
        except ValueError as exc:
            errors[field.name] = str(exc)
    return FormInput(raw, values, errors)


# -- locations and stations (the onboarding wizard) ---------------------------------------
LOCATION_FIELDS = (
    Field("name", N_("Name"), required=True, max_length=255),
    Field("address", N_("Street and number"), required=True, max_length=45),
    Field("postal_code", N_("Postal code"), max_length=10),
    Field("city", N_("City"), required=True, max_length=45),
    Field(
        "country",
        N_("Country"),
        required=True,
        max_length=3,
        hint=N_("ISO 3166-1 alpha-3 code, e.g. DEU"),
    ),
    Field(
        "latitude",
        N_("Latitude"),
        "decimal",
        required=True,
        hint=N_("e.g. 53.5461"),
        between=(-90, 90),
        out_of_range=N_("Enter a latitude from -90 to 90."),
        places=7,
    ),
    Field(
        "longitude",
        N_("Longitude"),
        "decimal",
        required=True,
        hint=N_("e.g. 9.9661"),
        between=(-180, 180),
        out_of_range=N_("Enter a longitude from -180 to 180."),
        places=7,
    ),
    Field(
        "timezone",
        N_("Timezone"),
        required=True,
        max_length=64,
        hint=N_("IANA name, e.g. Europe/Berlin"),
    ),
)


def location_create(values: dict[str, Any]) -> LocationCreate:
    return LocationCreate(
        name=values["name"],
        address=values["address"],
        city=values["city"],
        country=str(values["country"]).upper(),
        latitude=values["latitude"],
        longitude=values["longitude"],
        timezone=values["timezone"],
        postal_code=values["postal_code"],
    )


SECURITY_PROFILES = (
    ("1", N_("1 — HTTP Basic password, no TLS")),
    ("2", N_("2 — TLS with HTTP Basic password")),
    ("3", N_("3 — TLS with client certificate")),
)
STATION_FIELDS = (
    Field(
        "station_id",
        N_("Station id"),
        required=True,
        max_length=48,
        hint=N_("Its identity in the OCPP URL: letters, digits and *_.:+|@-"),
    ),
    Field(
        "security_profile",
        N_("Security profile"),
        "choice",
        required=True,
        options=SECURITY_PROFILES,
        default="2",
    ),
    Field("vendor", N_("Vendor")),
    Field("model", N_("Model")),
    Field("serial_number", N_("Serial number")),
)
# Changing a station: its site, identity details and security profile.
EDIT_FIELDS = (
    Field("location_id", N_("Location"), "uuid", required=True),
    *STATION_FIELDS[1:],
)
MAX_EVSES = 8
MAX_CONNECTORS = 4


def _options(enum_type: Any, kind: str) -> tuple[tuple[str, str], ...]:
    """(value, msgid) of every member, in the words of ``LABELS[kind]``."""
    return tuple((member.value, LABELS[kind].get(member, member.value)) for member in enum_type)


@dataclass(frozen=True, slots=True)
class Layout:
    """How many EVSEs the new station has and how many connectors each."""

    evses: int = 1
    connectors: int = 1

    @classmethod
    def read(cls, evses: str | None, connectors: str | None) -> Layout:
        def bounded(text: str | None, top: int) -> int:
            return min(max(int(text), 1), top) if text and text.isdigit() else 1

        return cls(bounded(evses, MAX_EVSES), bounded(connectors, MAX_CONNECTORS))

    def connector_fields(self) -> list[tuple[int, int, tuple[Field, ...]]]:
        """(EVSE number, connector number, its fields) for every connector of the layout."""
        return [
            (evse, connector, _connector_fields(f"evse{evse}_c{connector}_"))
            for evse in range(1, self.evses + 1)
            for connector in range(1, self.connectors + 1)
        ]

    def fields(self) -> tuple[Field, ...]:
        return STATION_FIELDS + self.connector_only_fields()

    def evse_create(self, values: dict[str, Any], evse: int) -> EvseCreate:
        """EVSE ``evse`` of the layout with its connectors, from checked values."""
        connectors = []
        for connector in range(1, self.connectors + 1):
            prefix = f"evse{evse}_c{connector}_"
            connectors.append(
                ConnectorCreate(
                    standard=ConnectorStandard(values[prefix + "standard"]),
                    format=ConnectorFormat(values[prefix + "format"]),
                    power_type=PowerType(values[prefix + "power_type"]),
                    max_voltage=values[prefix + "max_voltage"],
                    max_amperage=values[prefix + "max_amperage"],
                    max_electric_power=values[prefix + "max_electric_power"],
                )
            )
        return EvseCreate(connectors=tuple(connectors))

    def station_create(self, values: dict[str, Any]) -> StationCreate:
        return StationCreate(
            station_id=values["station_id"],
            evses=tuple(self.evse_create(values, n) for n in range(1, self.evses + 1)),
            security_profile=int(values["security_profile"]),
            vendor=values["vendor"],
            model=values["model"],
            serial_number=values["serial_number"],
        )

    def connector_only_fields(self) -> tuple[Field, ...]:
        return tuple(f for _, _, fs in self.connector_fields() for f in fs)


def _connector_fields(prefix: str) -> tuple[Field, ...]:
    return (
        Field(
            prefix + "standard",
            N_("Standard"),
            "choice",
            required=True,
            options=_options(ConnectorStandard, "connector_standard"),
            default=ConnectorStandard.IEC_62196_T2.value,
        ),
        Field(
            prefix + "format",
            N_("Format"),
            "choice",
            required=True,
            options=_options(ConnectorFormat, "connector_format"),
            default=ConnectorFormat.SOCKET.value,
        ),
        Field(
            prefix + "power_type",
            N_("Power type"),
            "choice",
            required=True,
            options=_options(PowerType, "power_type"),
            default=PowerType.AC_3_PHASE.value,
        ),
        Field(prefix + "max_voltage", N_("Max voltage (V)"), "int", required=True, minimum=1),
        Field(prefix + "max_amperage", N_("Max current (A)"), "int", required=True, minimum=1),
        Field(prefix + "max_electric_power", N_("Max power (W)"), "int", minimum=1),
    )
