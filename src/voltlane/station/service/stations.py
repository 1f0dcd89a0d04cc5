"""Use cases of charging stations: create, change, approve, credentials, listing."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.errors import ConflictError
from voltlane.core.text import N_
from voltlane.identity.passwords import hash_station_password
from voltlane.models.tenant import (
    ChargingStation,
    CommandStatus,
    Evse,
    Location,
    RegistrationStatus,
    StationCommand,
    StationEvent,
)
from voltlane.station.commands import NODE_STALE_AFTER
from voltlane.station.errors import (
    DuplicateStationError,
    InvalidStationError,
    StationNotFoundError,
)
from voltlane.station.frames import FrameView, frame_page
from voltlane.station.ports import location_changes
from voltlane.station.repository import (
    StationRepository,
    brand_connected_ids,
    connected_station_ids,
    last_frame_at,
    latest_command,
    latest_report,
    station_connected_at,
    station_events_of,
    station_list,
)
from voltlane.station.schemas import (
    ConfigurationEntry,
    Connectivity,
    FrameFilter,
    NetworkCounts,
    Page,
    ReportedConfiguration,
    StationCreate,
    StationFilter,
    StationListItem,
    StationUpdate,
    changes,
)
from voltlane.station.service.checks import check_new_emi3_ids, check_station, new_connector
from voltlane.station.service.locations import location_for

# OCPP security profiles 1/2 use HTTP Basic; the spec asks for at least 16 characters.
STATION_PASSWORD_BYTES = 24  # 32 URL-safe characters
MIN_STATION_PASSWORD = 16
MAX_STATION_PASSWORD = 40  # OCPP 2.0.1 BasicAuthPassword is passwordString[40]


def generate_station_password() -> str:
    return secrets.token_urlsafe(STATION_PASSWORD_BYTES)


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
    check_station(data)
    if await StationRepository(db_session).station_by_identity(data.station_id) is not None:
        raise DuplicateStationError(
            N_("Station %(station)s already exists.", station=data.station_id), field="station_id"
        )
    await check_new_emi3_ids(db_session, [e.emi3_id for e in data.evses if e.emi3_id])
    if data.security_profile == 3:
        password = None  # profile 3 authenticates by client certificate only
    elif password is None:
        password = generate_station_password()
    elif not MIN_STATION_PASSWORD <= len(password) <= MAX_STATION_PASSWORD:
        raise InvalidStationError(
            N_(
                "Station password: %(low)d to %(high)d characters.",
                low=MIN_STATION_PASSWORD,
                high=MAX_STATION_PASSWORD,
            ),
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
        evse = Evse(
            charging_station_id=station.id,
            evse_id=evse_number,
            emi3_id=evse_data.emi3_id,
            physical_reference=evse_data.physical_reference,
        )
        db_session.add(evse)
        await db_session.flush()
        for connector_number, connector in enumerate(evse_data.connectors, start=1):
            db_session.add(new_connector(evse.id, connector_number, connector))
    await db_session.flush()
    await location_changes().locations_changed(db_session, [location.id])
    return station, password


async def register_station(
    db_session: AsyncSession,
    data: StationCreate,
    *,
    location_id: uuid.UUID,
    password: str | None = None,
) -> tuple[ChargingStation, str | None]:
    """Add a station at a location (see :func:`create_station`); the station is returned
    with its EVSEs and connectors loaded, with its Basic-auth password (profiles 1-2)."""
    location = await location_for(db_session, location_id)
    station, password = await create_station(db_session, location, data, password=password)
    return await get_station(db_session, station.id), password


async def get_station(db_session: AsyncSession, station_pk: uuid.UUID) -> ChargingStation:
    """A station with its EVSEs and connectors; StationNotFoundError when the brand has none."""
    station = await StationRepository(db_session).station(station_pk)
    if station is None:
        raise StationNotFoundError(f"No station {station_pk}.")
    return station


async def get_station_row(db_session: AsyncSession, station_pk: uuid.UUID) -> ChargingStation:
    """A station without its EVSEs (what the command path needs); StationNotFoundError when
    the brand has none such."""
    station = await StationRepository(db_session).station_row(station_pk)
    if station is None:
        raise StationNotFoundError(f"No station {station_pk}.")
    return station


async def list_station_page(
    db_session: AsyncSession,
    *,
    location_id: uuid.UUID | None = None,
    registration_status: RegistrationStatus | None = None,
    limit: int,
    offset: int,
) -> Page[ChargingStation]:
    """Stations by station id with their EVSEs and connectors, optionally filtered."""
    rows, total = await StationRepository(db_session).stations_page(
        location_id=location_id,
        registration_status=registration_status,
        limit=limit,
        offset=offset,
    )
    return Page(rows, total)


async def station_for_update(db_session: AsyncSession, station_pk: uuid.UUID) -> ChargingStation:
    station = await db_session.get(ChargingStation, station_pk, with_for_update=True)
    if station is None:
        raise StationNotFoundError(f"No station {station_pk}.")
    return station


def _new_password(station: ChargingStation, password: str) -> None:
    station.password_hash = hash_station_password(password)
    station.password_changed_at = utcnow()


async def update_station(
    db_session: AsyncSession, station_pk: uuid.UUID, update: StationUpdate
) -> tuple[ChargingStation, str | None]:
    """Change a station's site, identity details or security profile.

    Moving to profile 3 drops the Basic-auth password (a certificate proves the station);
    moving from 3 to 1 or 2 generates one, returned once.
    """
    station = await station_for_update(db_session, station_pk)
    moved_from = station.location_id
    values = changes(update)
    password: str | None = None
    if isinstance(update.location_id, uuid.UUID):
        await location_for(db_session, update.location_id)
    if isinstance(update.security_profile, int):
        if update.security_profile not in (1, 2, 3):
            raise InvalidStationError(
                N_("Security profile must be 1, 2 or 3."), field="security_profile"
            )
        if update.security_profile == 3:
            station.password_hash = None
        elif station.password_hash is None:
            password = generate_station_password()
            _new_password(station, password)
    for field, value in values.items():
        setattr(station, field, value)
    await db_session.flush()
    if station.location_id != moved_from:
        await location_changes().locations_changed(db_session, [moved_from, station.location_id])
    return await get_station(db_session, station_pk), password


async def approve_station(
    db_session: AsyncSession, station_pk: uuid.UUID, *, location_id: uuid.UUID
) -> ChargingStation:
    """Accept an auto-commissioned station waiting as Pending and place it at a location;
    its next BootNotification is answered Accepted."""
    station = await station_for_update(db_session, station_pk)
    if station.registration_status is RegistrationStatus.ACCEPTED:
        raise ConflictError(
            N_(
                "Station %(station)s is Accepted, not waiting for approval.",
                station=station.station_id,
            )
        )
    if station.registration_status is not RegistrationStatus.PENDING:
        raise ConflictError(
            N_(
                "Station %(station)s is Rejected, not waiting for approval.",
                station=station.station_id,
            )
        )
    await location_for(db_session, location_id)
    station.location_id = location_id
    station.registration_status = RegistrationStatus.ACCEPTED
    await db_session.flush()
    await location_changes().locations_changed(db_session, [location_id])
    return await get_station(db_session, station_pk)


async def set_station_password(
    db_session: AsyncSession, station_pk: uuid.UUID, password: str | None = None
) -> tuple[ChargingStation, str]:
    """Store a new Basic-auth password (the given one, or a generated one) as an argon2id
    hash and return it once. This changes the stored credential only: a station that still
    uses the old one is refused at its next connection."""
    station = await station_for_update(db_session, station_pk)
    if station.security_profile == 3:
        raise ConflictError(
            N_("Security profile 3 stations authenticate by client certificate, not a password."),
            field="security_profile",
        )
    if password is None:
        password = generate_station_password()
    elif not MIN_STATION_PASSWORD <= len(password) <= MAX_STATION_PASSWORD:
        raise InvalidStationError(
            N_(
                "Station password: %(low)d to %(high)d characters.",
                low=MIN_STATION_PASSWORD,
                high=MAX_STATION_PASSWORD,
            ),
            field="password",
        )
    _new_password(station, password)
    await db_session.flush()
    return station, password


async def network_counts(db_session: AsyncSession) -> NetworkCounts:
    """How many locations, stations, EVSEs and connectors the brand has."""
    return await StationRepository(db_session).counts()


async def find_station(db_session: AsyncSession, station_id: str) -> ChargingStation | None:
    return await StationRepository(db_session).station_by_identity(station_id)


async def station_commands(
    db_session: AsyncSession, station_pk: uuid.UUID, *, limit: int, offset: int
) -> Page[StationCommand]:
    """The commands sent to a station, newest first."""
    await get_station(db_session, station_pk)
    rows, total = await StationRepository(db_session).commands(
        station_pk, limit=limit, offset=offset
    )
    return Page(rows, total)


async def connected_stations(
    platform_session: AsyncSession, tenant_key: str, station_ids: list[str]
) -> set[str]:
    """Which of ``station_ids`` are connected to a live gateway node right now."""
    return await connected_station_ids(
        platform_session, tenant_key, station_ids, since=utcnow() - NODE_STALE_AFTER
    )


# -- the operator portal's views ---------------------------------------------------------
# Kinds of station events an operator follows on the station page.
HEALTH_EVENT_KINDS = ("firmware", "diagnostics", "log", "security")
MAX_REPORT_MESSAGES = 200


async def search_stations(
    db_session: AsyncSession,
    platform_session: AsyncSession,
    tenant_key: str,
    filters: StationFilter,
    *,
    limit: int,
    offset: int,
) -> list[StationListItem]:
    """Stations of the brand by station id, narrowed by ``filters`` (connectivity from the
    gateway nodes' presence records), each marked online or not."""
    since = utcnow() - NODE_STALE_AFTER
    connected = await brand_connected_ids(platform_session, tenant_key, since=since)
    rows = await station_list(
        db_session,
        filters,
        only=connected if filters.connected is True else None,
        excluding=connected if filters.connected is False else None,
        limit=limit,
        offset=offset,
    )
    online = set(connected)
    return [replace(row, online=row.station_id in online) for row in rows]


async def station_connectivity(
    db_session: AsyncSession, platform_session: AsyncSession, tenant_key: str, station_id: str
) -> Connectivity:
    """Whether ``station_id`` is connected now (and since when), and when it last spoke."""
    connected_at = await station_connected_at(
        platform_session, tenant_key, station_id, since=utcnow() - NODE_STALE_AFTER
    )
    return Connectivity(
        online=connected_at is not None,
        connected_at=connected_at,
        last_seen_at=await last_frame_at(db_session, station_id),
    )


async def station_health_events(
    db_session: AsyncSession, station_pk: uuid.UUID, *, limit: int
) -> list[StationEvent]:
    """The station's newest firmware, diagnostics, log and security events, newest first."""
    return await station_events_of(db_session, station_pk, HEALTH_EVENT_KINDS, limit=limit)


async def reported_configuration(
    db_session: AsyncSession, station: ChargingStation
) -> ReportedConfiguration | None:
    """What the station last reported of its configuration: the newest accepted
    GetConfiguration answer on OCPP 1.6, the newest NotifyReport on 2.x; None if neither."""
    if station.protocol == "ocpp1.6":
        command = await latest_command(
            db_session, station.id, "GetConfiguration", CommandStatus.ACCEPTED
        )
        if command is None or command.response is None:
            return None
        keys = command.response.get("configurationKey") or []
        return ReportedConfiguration(
            source="GetConfiguration",
            at=command.completed_at or command.created_at,
            entries=tuple(
                ConfigurationEntry(
                    component=None,
                    name=str(k.get("key", "")),
                    value=k.get("value"),
                    readonly=k.get("readonly"),
                )
                for k in keys
            ),
        )
    messages = await latest_report(db_session, station.id, limit=MAX_REPORT_MESSAGES)
    if not messages:
        return None
    return ReportedConfiguration(
        source="NotifyReport",
        at=messages[-1].at,
        entries=tuple(entry for m in messages for entry in _report_entries(m.payload)),
    )


def _report_entries(payload: dict[str, Any]) -> list[ConfigurationEntry]:
    """One entry per reported variable attribute of a NotifyReport (the Actual one first)."""
    entries = []
    for data in payload.get("reportData") or []:
        component = data.get("component") or {}
        variable = data.get("variable") or {}
        name = str(variable.get("name", ""))
        if variable.get("instance"):
            name += f" ({variable['instance']})"
        label = str(component.get("name", ""))
        if component.get("instance"):
            label += f" ({component['instance']})"
        if (component.get("evse") or {}).get("id") is not None:
            label += f" · EVSE {component['evse']['id']}"
        for attribute in data.get("variableAttribute") or [{}]:
            kind = attribute.get("type")
            entries.append(
                ConfigurationEntry(
                    component=label,
                    name=name if kind in (None, "Actual") else f"{name} [{kind}]",
                    value=attribute.get("value"),
                    readonly=(
                        attribute["mutability"] == "ReadOnly" if "mutability" in attribute else None
                    ),
                )
            )
    return entries


async def message_log(
    db_session: AsyncSession, station_id: str, filters: FrameFilter, *, limit: int, offset: int
) -> list[FrameView]:
    """One page of the station's OCPP frames, newest first, narrowed by ``filters``."""
    return await frame_page(db_session, station_id, filters, limit=limit, offset=offset)


def station_ocpp_url(
    *,
    scheme: str,
    host: str,
    port: int,
    tenant_key: str,
    station_id: str,
) -> str:
    """Where a station connects: ``<scheme>://<host>:<port>/ocpp/<brand key>/<station id>``
    with the station id percent-encoded as a URL path segment."""
    return f"{scheme}://{host}:{port}/ocpp/{tenant_key}/{quote(station_id, safe='*:+@')}"
