"""EVSEs that can roam: an EVSE without an eMI3 id is not published to partners (a CDR must
name it by that id), so OCPI tests give the brand's EVSEs one after making them."""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import ac_evse
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingStation, Evse, Location
from voltlane.station import service as stations
from voltlane.station.schemas import StationCreate
from voltlane.tenancy import TenantInfo


def emi3_id(party: tuple[str, str], station_id: str, evse_id: int) -> str:
    """The eMI3 EVSE id the tests give: ``DE*VLT*E<station id's letters and digits>*<n>``."""
    outlet = re.sub("[^A-Z0-9]", "", station_id.upper())
    return f"{party[0]}*{party[1]}*E{outlet}*{evse_id}"


async def name_evses(db_session: AsyncSession, brand: TenantInfo) -> None:
    """Give every EVSE of the brand without an eMI3 id one (see :func:`emi3_id`)."""
    party = brand.ocpi_party or ("DE", "VLT")
    rows = await db_session.execute(
        select(Evse, ChargingStation.station_id)
        .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
        .where(Evse.emi3_id.is_(None))
    )
    for evse, station_id in rows:
        evse.emi3_id = emi3_id(party, station_id, evse.evse_id)
    await db_session.flush()


async def roamable(database: Database, brand: TenantInfo) -> None:
    """:func:`name_evses` in a transaction of its own."""
    async with database.tenant_transaction(brand.key) as db_session:
        await name_evses(db_session, brand)


async def add_roaming_station(
    db_session: AsyncSession,
    brand: TenantInfo,
    location: Location,
    station_id: str,
    *,
    evses: int = 1,
) -> ChargingStation:
    """A station (as ``tests.factories.add_station``) whose EVSEs have eMI3 ids from the
    start, so the location is pushed once with them."""
    party = brand.ocpi_party or ("DE", "VLT")
    station, _password = await stations.create_station(
        db_session,
        location,
        StationCreate(
            station_id=station_id,
            evses=tuple(
                dataclasses.replace(evse, emi3_id=emi3_id(party, station_id, number))
                for number, evse in enumerate(ac_evse(evses), start=1)
            ),
        ),
    )
    return station
