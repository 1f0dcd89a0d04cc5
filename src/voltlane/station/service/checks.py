"""Checks shared by the station use cases: everything verified before a row is written."""

from __future__ import annotations

import re
import unicodedata
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import ConflictError
from voltlane.core.text import N_
from voltlane.models.tenant import Connector
from voltlane.station.errors import InvalidStationError
from voltlane.station.repository import StationRepository
from voltlane.station.schemas import ConnectorCreate, StationCreate

STATION_ID_RE = re.compile(r"^[A-Za-z0-9*_.:+|@-]{1,48}$")
COUNTRY_RE = re.compile(r"[A-Z]{3}")
# OCPI 2.2.1 Location field lengths.
LOCATION_LENGTHS = {"name": 255, "address": 45, "city": 45, "postal_code": 10}
_PRINTABLE_ONLY = N_(
    "Use printable characters only: no tabs, line breaks or other control characters."
)


def check_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidStationError(
            N_("%(zone)s is not an IANA timezone.", zone=repr(value)), field="timezone"
        ) from exc


def check_coordinate(value: Decimal, field: str, bound: int) -> None:
    if not -bound <= value <= bound:
        message = (
            N_("Latitude must be between -%(bound)d and %(bound)d.", bound=bound)
            if field == "latitude"
            else N_("Longitude must be between -%(bound)d and %(bound)d.", bound=bound)
        )
        raise InvalidStationError(message, field=field)


def check_country(value: str) -> None:
    if not COUNTRY_RE.fullmatch(value):
        raise InvalidStationError(
            N_("Country must be an ISO 3166-1 alpha-3 code."), field="country"
        )


def has_control_characters(value: str) -> bool:
    """Whether ``value`` holds a tab, line break or other control character (Unicode Cc,
    or a lone surrogate): OCPI's string type is printable text only."""
    return any(unicodedata.category(char) in ("Cc", "Cs") for char in value)


def check_location_text(values: dict[str, object]) -> None:
    for field, limit in LOCATION_LENGTHS.items():
        value = values.get(field)
        if isinstance(value, str) and not 0 < len(value.strip()) <= limit:
            raise InvalidStationError(f"{field} must be 1 to {limit} characters.", field=field)
        if isinstance(value, str) and has_control_characters(value):
            raise InvalidStationError(_PRINTABLE_ONLY, field=field)


def check_connector_ratings(values: dict[str, object]) -> None:
    for field in ("max_voltage", "max_amperage", "max_electric_power"):
        value = values.get(field)
        if isinstance(value, int) and value <= 0:
            raise InvalidStationError(f"{field} must be greater than 0.", field=field)


def check_station(data: StationCreate) -> None:
    """Everything about a new station and its EVSEs that can be checked before writing."""
    if not STATION_ID_RE.fullmatch(data.station_id):
        raise InvalidStationError(
            N_("Station id: 1-48 characters of letters, digits and *_.:+|@-."), field="station_id"
        )
    if data.security_profile not in (1, 2, 3):
        raise InvalidStationError(
            N_("Security profile must be 1, 2 or 3."), field="security_profile"
        )
    if not data.evses:
        raise InvalidStationError(N_("A station needs at least one EVSE."), field="evses")
    for field, value in (
        ("vendor", data.vendor),
        ("model", data.model),
        ("serial_number", data.serial_number),
    ):
        if value is not None and len(value) > 50:
            raise InvalidStationError(f"{field} must be at most 50 characters.", field=field)
    for number, evse in enumerate(data.evses, start=1):
        if not evse.connectors:
            raise InvalidStationError(
                N_("EVSE %(evse)d needs a connector.", evse=number), field="evses"
            )
        if evse.emi3_id is not None and not 0 < len(evse.emi3_id) <= 48:
            raise InvalidStationError("EVSE id must be 1 to 48 characters.", field="emi3_id")
        if evse.physical_reference is not None and len(evse.physical_reference) > 16:
            raise InvalidStationError(
                "Physical reference must be at most 16 characters.", field="physical_reference"
            )
        for connector in evse.connectors:
            check_connector_ratings(
                {
                    "max_voltage": connector.max_voltage,
                    "max_amperage": connector.max_amperage,
                    "max_electric_power": connector.max_electric_power,
                }
            )


async def check_new_emi3_ids(db_session: AsyncSession, emi3_ids: list[str]) -> None:
    if len(set(emi3_ids)) != len(emi3_ids):
        raise InvalidStationError(N_("Each EVSE needs its own emi3_id."), field="emi3_id")
    repo = StationRepository(db_session)
    for emi3_id in emi3_ids:
        if await repo.evse_by_emi3(emi3_id) is not None:
            raise ConflictError(N_("EVSE %(evse)s already exists.", evse=emi3_id), field="emi3_id")


def new_connector(evse_pk: uuid.UUID, number: int, data: ConnectorCreate) -> Connector:
    check_connector_ratings(
        {
            "max_voltage": data.max_voltage,
            "max_amperage": data.max_amperage,
            "max_electric_power": data.max_electric_power,
        }
    )
    return Connector(
        evse_pk=evse_pk,
        connector_id=number,
        standard=data.standard,
        format=data.format,
        power_type=data.power_type,
        max_voltage=data.max_voltage,
        max_amperage=data.max_amperage,
        max_electric_power=data.max_electric_power,
    )
