"""A location's OCPI last_updated follows what partners can see of it (migration t0017)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import add_location, add_station
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingStation, Connector, Evse, Location, RegistrationStatus
from voltlane.station.repository import StationRepository
from voltlane.tenancy import TenantInfo

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
Change = Callable[[AsyncSession, uuid.UUID], Coroutine[Any, Any, object]]


async def _site(database: Database, brand: TenantInfo) -> tuple[uuid.UUID, uuid.UUID]:
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session, "Hafen")
        station = await add_station(db_session, location, f"ST-{uuid.uuid4().hex[:8]}")
        return location.id, station.id


async def _bumped(
    database: Database,
    brand: TenantInfo,
    location_id: uuid.UUID,
    station_pk: uuid.UUID,
    change: Change,
) -> bool:
    async with database.tenant_transaction(brand.key) as db_session:
        await db_session.execute(
            update(Location).where(Location.id == location_id).values(ocpi_last_updated=LONG_AGO)
        )
    async with database.tenant_transaction(brand.key) as db_session:
        await change(db_session, station_pk)
    async with database.tenant_transaction(brand.key) as db_session:
        at = await db_session.scalar(
            select(Location.ocpi_last_updated).where(Location.id == location_id)
        )
    assert at is not None
    return at > LONG_AGO


async def test_a_status_change_bumps_the_location_and_a_repeated_status_does_not(
    database: Database, cpo: TenantInfo
) -> None:
    location_id, station_pk = await _site(database, cpo)
    t1, t2 = datetime(2026, 3, 1, 8, tzinfo=UTC), datetime(2026, 3, 1, 9, tzinfo=UTC)

    def status(value: str, at: datetime) -> Change:
        async def change(db_session: AsyncSession, pk: uuid.UUID) -> object:
            return await StationRepository(db_session).update_connector_status(
                pk, 1, 1, status=value, at=at, error_code=None
            )

        return change

    assert await _bumped(database, cpo, location_id, station_pk, status("Charging", t1))
    assert not await _bumped(database, cpo, location_id, station_pk, status("Charging", t2))


async def test_location_evse_connector_and_station_edits_bump_it(
    database: Database, cpo: TenantInfo
) -> None:
    location_id, station_pk = await _site(database, cpo)

    async def rename(db_session: AsyncSession, pk: uuid.UUID) -> object:
        return await db_session.execute(
            update(Location).where(Location.id == location_id).values(name="Hafen Nord")
        )

    async def emi3(db_session: AsyncSession, pk: uuid.UUID) -> object:
        return await db_session.execute(
            update(Evse).where(Evse.charging_station_id == pk).values(emi3_id="DE*VLT*E1")
        )

    async def power(db_session: AsyncSession, pk: uuid.UUID) -> object:
        return await db_session.execute(update(Connector).values(max_electric_power=11000))

    async def reject(db_session: AsyncSession, pk: uuid.UUID) -> object:
        return await db_session.execute(
            update(ChargingStation)
            .where(ChargingStation.id == pk)
            .values(registration_status=RegistrationStatus.REJECTED)
        )

    async def firmware(db_session: AsyncSession, pk: uuid.UUID) -> object:
        return await db_session.execute(
            update(ChargingStation).where(ChargingStation.id == pk).values(firmware_version="2")
        )

    for change in (rename, emi3, power, reject):
        assert await _bumped(database, cpo, location_id, station_pk, change), change.__name__
    assert not await _bumped(database, cpo, location_id, station_pk, firmware)


async def _stamps(database: Database, brand: TenantInfo, *ids: uuid.UUID) -> list[bool]:
    async with database.tenant_transaction(brand.key) as db_session:
        rows = dict(
            (
                await db_session.execute(
                    select(Location.id, Location.ocpi_last_updated).where(Location.id.in_(ids))
                )
            ).all()
        )
    return [rows[i] > LONG_AGO for i in ids]


async def _age(database: Database, brand: TenantInfo, *ids: uuid.UUID) -> None:
    async with database.tenant_transaction(brand.key) as db_session:
        await db_session.execute(
            update(Location).where(Location.id.in_(ids)).values(ocpi_last_updated=LONG_AGO)
        )


async def test_a_moved_station_bumps_both_locations_and_parts_added_or_removed_bump_theirs(
    database: Database, cpo: TenantInfo
) -> None:
    # Each change touches the locations of the rows that changed, found by key (t0028).
    first, station_pk = await _site(database, cpo)
    async with database.tenant_transaction(cpo.key) as db_session:
        second = (await add_location(db_session, "Markt")).id
        other_site = (await add_location(db_session, "Bahnhof")).id
        await add_station(db_session, await db_session.get_one(Location, other_site), "ST-OTHER")
    await _age(database, cpo, first, second, other_site)
    async with database.tenant_transaction(cpo.key) as db_session:
        await db_session.execute(
            update(ChargingStation)
            .where(ChargingStation.id == station_pk)
            .values(location_id=second)
        )
    assert await _stamps(database, cpo, first, second, other_site) == [True, True, False]

    await _age(database, cpo, first, second, other_site)
    async with database.tenant_transaction(cpo.key) as db_session:
        evse_pks = select(Evse.id).where(Evse.charging_station_id == station_pk)
        await db_session.execute(delete(Connector).where(Connector.evse_pk.in_(evse_pks)))
    assert await _stamps(database, cpo, first, second, other_site) == [False, True, False]

    await _age(database, cpo, first, second, other_site)
    async with database.tenant_transaction(cpo.key) as db_session:
        await add_station(db_session, await db_session.get_one(Location, first), "ST-NEW")
    assert await _stamps(database, cpo, first, second, other_site) == [True, False, False]
