"""Charging stations: commissioning, approval, Basic-auth passwords, EVSEs and connectors."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.common import DEFAULT_LIMIT, NO_STORE, Limit, Offset, audit, given
from voltlane.api.evses import EvseCreate, EvseRead
from voltlane.models.tenant import ChargingStation, RegistrationStatus
from voltlane.station import schemas as domain
from voltlane.station import service as stations
from voltlane.web.context import current_tenant, web_state
from voltlane.web.station_urls import ocpp_url

StationId = Annotated[
    str,
    Meta(
        pattern=stations.STATION_ID_RE.pattern,
        description="The station's identity in its OCPP URL (1-48 of A-Z a-z 0-9 *_.:+|@-)",
    ),
]
SecurityProfile = Annotated[int, Meta(ge=1, le=3, description="OCPP security profile")]
Detail = Annotated[str, Meta(min_length=1, max_length=50)]
StationPassword = Annotated[
    str,
    Meta(
        min_length=stations.MIN_STATION_PASSWORD,
        max_length=stations.MAX_STATION_PASSWORD,
        description="HTTP Basic password (16-40 characters)",
    ),
]


# -- bodies -------------------------------------------------------------------------------
class StationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    location_id: uuid.UUID
    station_id: StationId
    evses: Annotated[list[EvseCreate], Meta(min_length=1, max_length=64)]
    security_profile: SecurityProfile = 2
    vendor: Detail | None = None
    model: Detail | None = None
    serial_number: Detail | None = None
    password: (
        Annotated[StationPassword, Meta(description="Profiles 1-2; generated when left out")] | None
    ) = None


class StationUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields left out keep their value."""

    location_id: uuid.UUID | UnsetType = UNSET
    vendor: Detail | UnsetType | None = UNSET
    model: Detail | UnsetType | None = UNSET
    serial_number: Detail | UnsetType | None = UNSET
    security_profile: SecurityProfile | UnsetType = UNSET


class StationApproval(msgspec.Struct, forbid_unknown_fields=True):
    location_id: uuid.UUID


class PasswordSet(msgspec.Struct, forbid_unknown_fields=True):
    password: StationPassword


# -- read models --------------------------------------------------------------------------
class StationRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    station_id: str
    location_id: uuid.UUID | None
    vendor: str | None
    model: str | None
    serial_number: str | None
    firmware_version: str | None
    protocol: str | None
    security_profile: int
    registration_status: RegistrationStatus
    connected: bool
    last_boot_at: datetime | None
    password_changed_at: datetime | None
    ocpp_url: str
    evses: list[EvseRead]
    created_at: datetime
    updated_at: datetime


class StationWithPassword(StationRead, kw_only=True):
    password: Annotated[
        str | None, Meta(description="The Basic-auth password when one was just set; shown once")
    ]


class StationPage(msgspec.Struct):
    items: list[StationRead]
    total: int


class PasswordRead(msgspec.Struct):
    password: Annotated[str, Meta(description="Shown once; stored only as an argon2id hash")]
    password_changed_at: datetime | None


# -- presenting a station -----------------------------------------------------------------
async def present(
    request: Request[Any, Any, Any], rows: list[ChargingStation]
) -> list[StationRead]:
    """Stations as the API shows them, with whether each is connected right now."""
    async with web_state(request).database.platform_session() as platform:
        online = await stations.connected_stations(
            platform, current_tenant(request).key, [s.station_id for s in rows]
        )
    return [
        StationRead(
            id=s.id,
            station_id=s.station_id,
            location_id=s.location_id,
            vendor=s.vendor,
            model=s.model,
            serial_number=s.serial_number,
            firmware_version=s.firmware_version,
            protocol=s.protocol,
            security_profile=s.security_profile,
            registration_status=s.registration_status,
            connected=s.station_id in online,
            last_boot_at=s.last_boot_at,
            password_changed_at=s.password_changed_at,
            ocpp_url=ocpp_url(request, s),
            evses=[EvseRead.of(e) for e in s.evses],
            created_at=s.created_at,
            updated_at=s.updated_at,
        )
        for s in rows
    ]


async def _with_password(
    request: Request[Any, Any, Any], station: ChargingStation, password: str | None
) -> StationWithPassword:
    [read] = await present(request, [station])
    return StationWithPassword(**msgspec.structs.asdict(read), password=password)


class StationController(Controller):
    path = "/stations"
    tags = ["Stations"]

    @post("/", summary="Commission a station")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        data: JSONBody[StationCreate],
    ) -> Response[StationWithPassword]:
        station, password = await stations.register_station(
            db_session,
            domain.StationCreate(
                station_id=data.station_id,
                evses=tuple(e.domain() for e in data.evses),
                security_profile=data.security_profile,
                vendor=data.vendor,
                model=data.model,
                serial_number=data.serial_number,
            ),
            location_id=data.location_id,
            password=data.password,
        )
        body = await _with_password(request, station, password)
        await audit(
            db_session,
            request,
            caller,
            action="api.station.create",
            entity="charging_station",
            entity_id=station.id,
            detail={"station_id": station.station_id, "security_profile": station.security_profile},
        )
        return Response(body, status_code=201, headers=NO_STORE)

    @get("/", summary="List stations")
    async def list_(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        location_id: FromQuery[uuid.UUID | None] = None,
        registration_status: FromQuery[RegistrationStatus | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> StationPage:
        page = await stations.list_station_page(
            db_session,
            location_id=location_id,
            registration_status=registration_status,
            limit=limit,
            offset=offset,
        )
        return StationPage(await present(request, page.items), page.total)

    @get("/{charging_station_id:uuid}", summary="Get a station with its EVSEs and connectors")
    async def get_one(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        charging_station_id: FromPath[uuid.UUID],
    ) -> StationRead:
        station = await stations.get_station(db_session, charging_station_id)
        [read] = await present(request, [station])
        return read

    @patch("/{charging_station_id:uuid}", summary="Change a station")
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        charging_station_id: FromPath[uuid.UUID],
        data: JSONBody[StationUpdate],
    ) -> Response[StationWithPassword]:
        update = domain.StationUpdate(**given(data))
        station, password = await stations.update_station(db_session, charging_station_id, update)
        body = await _with_password(request, station, password)
        await audit(
            db_session,
            request,
            caller,
            action="api.station.update",
            entity="charging_station",
            entity_id=station.id,
            detail={"changes": domain.changes(update)},
        )
        return Response(body, status_code=200, headers=NO_STORE)

    @post(
        "/{charging_station_id:uuid}/approve",
        status_code=200,
        summary="Accept a Pending auto-commissioned station at a location",
    )
    async def approve(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        charging_station_id: FromPath[uuid.UUID],
        data: JSONBody[StationApproval],
    ) -> StationRead:
        station = await stations.approve_station(
            db_session, charging_station_id, location_id=data.location_id
        )
        [read] = await present(request, [station])
        await audit(
            db_session,
            request,
            caller,
            action="api.station.approve",
            entity="charging_station",
            entity_id=station.id,
            detail={"location_id": data.location_id},
        )
        return read

    @put(
        "/{charging_station_id:uuid}/password",
        summary="Set the stored Basic-auth password (given, or generated when the body is empty)",
    )
    async def set_password(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        charging_station_id: FromPath[uuid.UUID],
        data: JSONBody[PasswordSet | None] = None,
    ) -> Response[PasswordRead]:
        station, password = await stations.set_station_password(
            db_session, charging_station_id, data.password if data is not None else None
        )
        body = PasswordRead(password=password, password_changed_at=station.password_changed_at)
        await audit(
            db_session,
            request,
            caller,
            action="api.station.password_set",
            entity="charging_station",
            entity_id=station.id,
            detail={"generated": data is None},
        )
        return Response(body, status_code=200, headers=NO_STORE)
