"""Locations: the brand's sites, with address, coordinates, timezone and opening hours."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.common import DEFAULT_LIMIT, Limit, Offset, audit, given
from voltlane.models.tenant import Location
from voltlane.station import schemas as domain
from voltlane.station import service as stations

Name = Annotated[str, Meta(min_length=1, max_length=255)]
Line = Annotated[str, Meta(min_length=1, max_length=45)]
PostalCode = Annotated[str, Meta(min_length=1, max_length=10)]
Country = Annotated[str, Meta(pattern="^[A-Z]{3}$", description="ISO 3166-1 alpha-3")]
Timezone = Annotated[str, Meta(min_length=1, max_length=64, description="IANA timezone")]
Coordinate = Annotated[Decimal, Meta(description="Decimal degrees (WGS 84)")]
Clock = Annotated[str, Meta(pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$", description="HH:MM")]
Instant = Annotated[datetime, Meta(tz=True)]


class RegularHours(msgspec.Struct, forbid_unknown_fields=True):
    weekday: Annotated[int, Meta(ge=1, le=7, description="1 = Monday")]
    period_begin: Clock
    period_end: Clock


class ExceptionalPeriod(msgspec.Struct, forbid_unknown_fields=True):
    period_begin: Instant
    period_end: Instant


class OpeningHours(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """OCPI 2.2.1 Hours."""

    twentyfourseven: bool
    regular_hours: list[RegularHours] = []
    exceptional_openings: list[ExceptionalPeriod] = []
    exceptional_closings: list[ExceptionalPeriod] = []

    def to_dict(self) -> dict[str, Any]:
        value: dict[str, Any] = msgspec.to_builtins(self)
        return value


class LocationCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    address: Line
    city: Line
    country: Country
    latitude: Coordinate
    longitude: Coordinate
    timezone: Timezone
    postal_code: PostalCode | None = None
    opening_hours: OpeningHours | None = None
    publish: bool = True


class LocationUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields left out keep their value."""

    name: Name | UnsetType = UNSET
    address: Line | UnsetType = UNSET
    city: Line | UnsetType = UNSET
    country: Country | UnsetType = UNSET
    latitude: Coordinate | UnsetType = UNSET
    longitude: Coordinate | UnsetType = UNSET
    timezone: Timezone | UnsetType = UNSET
    postal_code: PostalCode | UnsetType | None = UNSET
    opening_hours: OpeningHours | UnsetType = UNSET
    publish: bool | UnsetType = UNSET


class LocationRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    name: str
    address: str
    city: str
    postal_code: str | None
    country: str
    latitude: str
    longitude: str
    timezone: str
    opening_hours: dict[str, Any]
    publish: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, location: Location) -> LocationRead:
        return cls(
            id=location.id,
            name=location.name,
            address=location.address,
            city=location.city,
            postal_code=location.postal_code,
            country=location.country,
            # As stored: seven decimals (about 1 cm), written as a string like OCPI does.
            latitude=f"{location.latitude:.7f}",
            longitude=f"{location.longitude:.7f}",
            timezone=location.timezone,
            opening_hours=dict(location.opening_hours),
            publish=location.publish,
            created_at=location.created_at,
            updated_at=location.updated_at,
        )


class LocationPage(msgspec.Struct):
    items: list[LocationRead]
    total: int


class LocationController(Controller):
    path = "/locations"
    tags = ["Locations"]

    @post("/", summary="Add a location")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        data: JSONBody[LocationCreate],
    ) -> LocationRead:
        location = await stations.add_location(
            db_session,
            domain.LocationCreate(
                name=data.name,
                address=data.address,
                city=data.city,
                country=data.country,
                latitude=data.latitude,
                longitude=data.longitude,
                timezone=data.timezone,
                postal_code=data.postal_code,
                opening_hours=data.opening_hours.to_dict() if data.opening_hours else None,
            ),
            publish=data.publish,
        )
        read = LocationRead.of(location)
        await audit(
            db_session,
            request,
            caller,
            action="api.location.create",
            entity="location",
            entity_id=location.id,
        )
        return read

    @get("/", summary="List locations")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> LocationPage:
        page = await stations.list_locations(db_session, limit=limit, offset=offset)
        return LocationPage([LocationRead.of(loc) for loc in page.items], page.total)

    @get("/{location_id:uuid}", summary="Get a location")
    async def get_one(
        self, db_session: NamedDependency[AsyncSession], location_id: FromPath[uuid.UUID]
    ) -> LocationRead:
        return LocationRead.of(await stations.get_location(db_session, location_id))

    @patch("/{location_id:uuid}", summary="Change a location")
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        location_id: FromPath[uuid.UUID],
        data: JSONBody[LocationUpdate],
    ) -> LocationRead:
        fields: dict[str, Any] = {
            field: value.to_dict() if isinstance(value, OpeningHours) else value
            for field, value in given(data).items()
        }
        update = domain.LocationUpdate(**fields)
        location = await stations.update_location(db_session, location_id, update)
        read = LocationRead.of(location)
        await audit(
            db_session,
            request,
            caller,
            action="api.location.update",
            entity="location",
            entity_id=location.id,
            detail={"changes": domain.changes(update)},
        )
        return read
