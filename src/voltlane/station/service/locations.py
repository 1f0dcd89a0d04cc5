"""Use cases of locations: the sites stations stand at."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import NotFoundError
from voltlane.core.text import N_
from voltlane.models.tenant import Location
from voltlane.station.errors import InvalidStationError
from voltlane.station.ports import location_changes
from voltlane.station.repository import StationRepository
from voltlane.station.schemas import LocationCreate, LocationUpdate, Page, changes
from voltlane.station.service.checks import (
    check_coordinate,
    check_country,
    check_location_text,
    check_timezone,
)


async def create_location(
    db_session: AsyncSession, data: LocationCreate, *, publish: bool = True
) -> Location:
    """Add a site, published to drivers (and roaming partners) or not; coordinates,
    timezone, country and lengths are checked before writing."""
    check_timezone(data.timezone)
    check_coordinate(data.latitude, "latitude", 90)
    check_coordinate(data.longitude, "longitude", 180)
    check_country(data.country)
    check_location_text(
        {
            "name": data.name,
            "address": data.address,
            "city": data.city,
            "postal_code": data.postal_code,
        }
    )
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
        publish=publish,
    )
    db_session.add(location)
    await db_session.flush()
    await location_changes().locations_changed(db_session, [location.id])
    return location


async def add_location(
    db_session: AsyncSession, data: LocationCreate, *, publish: bool = True
) -> Location:
    """Add a site (see :func:`create_location`), published to drivers or not."""
    return await create_location(db_session, data, publish=publish)


async def get_location(db_session: AsyncSession, location_id: uuid.UUID) -> Location:
    """The brand's location ``location_id``; NotFoundError when the brand has none such."""
    location = await StationRepository(db_session).location(location_id)
    if location is None:
        raise NotFoundError(f"No location {location_id}.")
    return location


async def list_locations(db_session: AsyncSession, *, limit: int, offset: int) -> Page[Location]:
    """Locations by name, with the brand's total."""
    rows, total = await StationRepository(db_session).locations(limit=limit, offset=offset)
    return Page(rows, total)


async def update_location(
    db_session: AsyncSession, location_id: uuid.UUID, update: LocationUpdate
) -> Location:
    """Change the given fields of a location, checked like :func:`create_location`."""
    location = await get_location(db_session, location_id)
    values = changes(update)
    if isinstance(update.timezone, str):
        check_timezone(update.timezone)
    if isinstance(update.latitude, Decimal):
        check_coordinate(update.latitude, "latitude", 90)
    if isinstance(update.longitude, Decimal):
        check_coordinate(update.longitude, "longitude", 180)
    if isinstance(update.country, str):
        check_country(update.country)
    check_location_text(values)
    was_published = location.publish
    for field, value in values.items():
        setattr(location, field, value)
    await db_session.flush()
    await db_session.refresh(location)  # updated_at is set by the database
    if values:
        withdrawn = [location.id] if was_published and not location.publish else []
        await location_changes().locations_changed(db_session, [location.id], withdrawn=withdrawn)
    return location


async def location_for(db_session: AsyncSession, location_id: uuid.UUID) -> Location:
    """A location named in a request body: unknown is a field error, not a missing page."""
    location = await StationRepository(db_session).location(location_id)
    if location is None:
        raise InvalidStationError(
            N_("No location %(location)s.", location=str(location_id)), field="location_id"
        )
    return location


async def find_location(db_session: AsyncSession, name: str) -> Location | None:
    return await StationRepository(db_session).location_by_name(name)
