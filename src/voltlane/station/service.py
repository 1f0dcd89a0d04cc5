"""Use cases of the station domain."""

from __future__ import annotations

import re
import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity.passwords import hash_station_password
from voltlane.models.tenant import ChargingStation, Connector, Evse, Location
from voltlane.station.errors import DuplicateStationError, InvalidStationError
from voltlane.station.repository import StationRepository
from voltlane.station.schemas import (
    LocationCard,
    LocationCreate,
    NetworkCounts,
    StationCreate,
    StationRow,
)

STATION_ID_RE = re.compile(r"^[A-Za-z0-9*_.:+|@-]{1,48}$")
# OCPP security profiles 1/2 use HTTP Basic; the spec asks for at least 16 characters.
STATION_PASSWORD_BYTES = 24  # 32 URL-safe characters
MIN_STATION_PASSWORD = 16
MAX_STATION_PASSWORD = 40  # OCPP 2.0.1 BasicAuthPassword is passwordString[40]


def generate_station_password() -> str:
    return secrets.token_urlsafe(STATION_PASSWORD_BYTES)


async def create_location(db_session: AsyncSession, data: LocationCreate) -> Location:
    """Add a site; coordinates and timezone are checked before anything is written."""
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidStationError(
            f"{data.timezone!r} is not an IANA timezone.", field="timezone"
        ) from exc
    if not -90 <= data.latitude <= 90:
        raise InvalidStationError("Latitude must be between -90 and 90.", field="latitude")
    if not -180 <= data.longitude <= 180:
        raise InvalidStationError("Longitude must be between -180 and 180.", field="longitude")
    if not re.fullmatch(r"[A-Z]{3}", data.country):
        raise InvalidStationError("Country must be an ISO 3166-1 alpha-3 code.", field="country")
    location = Location(
        name=data.name,
        address=data.address,
        city=data.city,
        postal_code=data.postal_code,
        country=data.country,
        latitude=data.latitude,
        longitude=data.longitude,
        timezone=data.timezone,
        opening_hours=data.opening_hours or {"twentyfourseven": True},
    )
    db_session.add(location)
    await db_session.flush()
    return location


async def create_station(
    db_session: AsyncSession,
    location: Location,
    data: StationCreate,
    *,
    password: str | None = None,
) -> tuple[ChargingStation, str | None]:
    """Add a station with its EVSEs (numbered from 1) and connectors.

    Returns the station and, for security profiles 1 and 2, its Basic-auth password (the
    given one, or a generated one): shown once, stored only as an argon2id hash.
    """
    if not STATION_ID_RE.fullmatch(data.station_id):
        raise InvalidStationError(
            "Station id: 1-48 characters of letters, digits and *_.:+|@-.", field="station_id"
        )
    if data.security_profile not in (1, 2, 3):
        raise InvalidStationError("Security profile must be 1, 2 or 3.", field="security_profile")
    if not data.evses:
        raise InvalidStationError("A station needs at least one EVSE.", field="evses")
    if await StationRepository(db_session).station_by_identity(data.station_id) is not None:
        raise DuplicateStationError(
            f"Station {data.station_id} already exists.", field="station_id"
        )
    if data.security_profile == 3:
        password = None  # profile 3 authenticates by client certificate only
    elif password is None:
        password = generate_station_password()
    elif not MIN_STATION_PASSWORD <= len(password) <= MAX_STATION_PASSWORD:
        raise InvalidStationError(
            f"Station password: {MIN_STATION_PASSWORD} to {MAX_STATION_PASSWORD} characters.",
            field="password",
        )
    station = ChargingStation(
        location_id=location.id,
        station_id=data.station_id,
        vendor=data.vendor,
        model=data.model,
        serial_number=data.serial_number,
        security_profile=data.security_profile,
        password_hash=hash_station_password(password) if password else None,
    )
    db_session.add(station)
    await db_session.flush()
    for evse_number, evse_data in enumerate(data.evses, start=1):
        if not evse_data.connectors:
            raise InvalidStationError(f"EVSE {evse_number} needs a connector.", field="evses")
        evse = Evse(
            charging_station_id=station.id,
            evse_id=evse_number,
            emi3_id=evse_data.emi3_id,
            physical_reference=evse_data.physical_reference,
        )
        db_session.add(evse)
        await db_session.flush()
        for connector_number, c in enumerate(evse_data.connectors, start=1):
            db_session.add(
                Connector(
                    evse_pk=evse.id,
                    connector_id=connector_number,
                    standard=c.standard,
                    format=c.format,
                    power_type=c.power_type,
                    max_voltage=c.max_voltage,
                    max_amperage=c.max_amperage,
                    max_electric_power=c.max_electric_power,
                )
            )
    await db_session.flush()
    return station, password


async def network_counts(db_session: AsyncSession) -> NetworkCounts:
    """How many locations, stations, EVSEs and connectors the brand has."""
    return await StationRepository(db_session).counts()


async def list_stations(db_session: AsyncSession, *, limit: int, offset: int) -> list[StationRow]:
    """Stations with their site and EVSE/connector totals, by station id."""
    return await StationRepository(db_session).stations(limit=limit, offset=offset)


async def list_published_locations(
    db_session: AsyncSession, *, limit: int, offset: int
) -> list[LocationCard]:
    """Published locations with at least one connector, by name (the driver's list)."""
    return await StationRepository(db_session).published_locations(limit=limit, offset=offset)


async def find_location(db_session: AsyncSession, name: str) -> Location | None:
    return await StationRepository(db_session).location_by_name(name)


async def find_station(db_session: AsyncSession, station_id: str) -> ChargingStation | None:
    return await StationRepository(db_session).station_by_identity(station_id)
