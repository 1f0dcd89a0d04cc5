"""Locations, stations, EVSEs and connectors: validated before anything is written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tests.factories import ac_evse, add_location, add_station
from voltlane.core.db import Database
from voltlane.identity.passwords import verify_station_password
from voltlane.models.tenant import ChargingStation, Connector, Evse, Location
from voltlane.station import service as stations
from voltlane.station.errors import DuplicateStationError, InvalidStationError
from voltlane.station.schemas import EvseCreate, StationCreate


async def _count(db_session, model) -> int:
    return int(await db_session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"timezone": "Europe/Nowhere"}, "timezone"),
        ({"latitude": Decimal("90.5")}, "latitude"),
        ({"longitude": Decimal("-181")}, "longitude"),
        ({"country": "DE"}, "country"),
    ],
)
async def test_invalid_locations_name_the_field(
    database: Database, make_brand, overrides: dict[str, object], field: str
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(InvalidStationError) as caught:
            await add_location(db_session, **overrides)
        assert caught.value.field == field
        assert await _count(db_session, Location) == 0


async def test_a_station_gets_numbered_evses_and_a_hashed_password(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        station, password = await stations.create_station(
            db_session, location, StationCreate(station_id="CP-1", evses=ac_evse(3))
        )
        evses = list(await db_session.scalars(select(Evse.evse_id).order_by(Evse.evse_id)))
        connectors = await _count(db_session, Connector)
    assert password is not None
    assert len(password) == 32
    assert station.password_hash is not None
    assert station.password_hash.startswith("$argon2id$")
    assert verify_station_password(station.password_hash, password)
    assert (evses, connectors) == ([1, 2, 3], 3)


async def test_profile_3_stations_have_no_password(database: Database, make_brand) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        station, password = await stations.create_station(
            db_session,
            location,
            StationCreate(station_id="TLS-1", evses=ac_evse(), security_profile=3),
            password="ignored-for-profile-three",
        )
    assert (password, station.password_hash) == (None, None)


@pytest.mark.parametrize(
    ("data", "password", "field"),
    [
        (StationCreate(station_id="bad id", evses=ac_evse()), None, "station_id"),
        (StationCreate(station_id="x" * 49, evses=ac_evse()), None, "station_id"),
        (StationCreate(station_id="CP-9", evses=()), None, "evses"),
        (StationCreate(station_id="CP-9", evses=(EvseCreate(connectors=()),)), None, "evses"),
        (
            StationCreate(station_id="CP-9", evses=ac_evse(), security_profile=4),
            None,
            "security_profile",
        ),
        (StationCreate(station_id="CP-9", evses=ac_evse()), "too-short", "password"),
    ],
)
async def test_invalid_stations_write_nothing(
    database: Database, make_brand, data: StationCreate, password: str | None, field: str
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
    with pytest.raises(InvalidStationError) as caught:
        async with database.tenant_transaction(brand.key) as db_session:
            await stations.create_station(db_session, location, data, password=password)
    assert caught.value.field == field
    async with database.tenant_session(brand.key) as db_session:
        assert (await _count(db_session, ChargingStation), await _count(db_session, Evse)) == (0, 0)


async def test_station_ids_are_unique_within_a_brand(database: Database, make_brand) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        await add_station(db_session, location, "CP-1")
        with pytest.raises(DuplicateStationError, match="Station CP-1 already exists"):
            await add_station(db_session, location, "CP-1")


async def test_the_network_counts_every_location_station_evse_and_connector(
    database: Database, make_brand
) -> None:
    # Published or not, with connectors or without: the operator's dashboard counts them all
    # (what drivers find is tests/station/test_search.py's).
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        busy = await add_location(db_session, "Busy Depot")
        await add_station(db_session, busy, "CP-1", evses=2)
        await add_station(db_session, busy, "CP-2", evses=1)
        hidden = await add_location(db_session, "Hidden Yard")
        hidden.publish = False
        await add_station(db_session, hidden, "CP-3")
        await add_location(db_session, "Empty Lot")
    async with database.tenant_session(brand.key) as db_session:
        counts = await stations.network_counts(db_session)
    assert (counts.locations, counts.stations, counts.evses, counts.connectors) == (3, 3, 4, 4)
