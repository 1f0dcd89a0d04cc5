"""What the station finder tests build: locations at known places with EVSEs of known
standards, power and live status, and brands with or without map tiles."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import brand_spec
from voltlane.core.db import Database
from voltlane.models.tenant import (
    Connector,
    ConnectorFormat,
    ConnectorStandard,
    Evse,
    Location,
    PowerType,
)
from voltlane.settings import Settings
from voltlane.station import service as stations
from voltlane.station.schemas import ConnectorCreate, EvseCreate, LocationCreate, StationCreate
from voltlane.tenancy import TenantInfo
from voltlane.tenancy import service as tenancy
from voltlane.tenancy.spec import DriverApp

T2 = ConnectorStandard.IEC_62196_T2
CCS = ConnectorStandard.IEC_62196_T2_COMBO
CHADEMO = ConnectorStandard.CHADEMO
# Hamburg's town hall square: where the phone is in these tests.
PHONE = (Decimal("53.5511"), Decimal("9.9937"))
EARTH_RADIUS_M = 6_371_008.8

# (standard, watts, OCPP status) of each EVSE's single connector
Plug = tuple[ConnectorStandard, int, str]


def haversine_m(a: tuple[Decimal, Decimal], b: tuple[Decimal, Decimal]) -> float:
    """An independent great-circle distance in metres, to check the database's."""
    lat1, lon1, lat2, lon2 = (math.radians(float(v)) for v in (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def connector(standard: ConnectorStandard, watts: int) -> ConnectorCreate:
    dc = standard in (CCS, CHADEMO)
    return ConnectorCreate(
        standard=standard,
        format=ConnectorFormat.CABLE if dc else ConnectorFormat.SOCKET,
        power_type=PowerType.DC if dc else PowerType.AC_3_PHASE,
        max_voltage=920 if dc else 400,
        max_amperage=500 if dc else 32,
        max_electric_power=watts,
    )


async def add_place(
    db_session: AsyncSession,
    name: str,
    lat: str,
    lon: str,
    plugs: Sequence[Plug] = ((T2, 22000, "Available"),),
    *,
    city: str = "Hamburg",
    postal_code: str = "20095",
    address: str = "Rathausmarkt 1",
    timezone: str = "Europe/Berlin",
    hours: dict[str, Any] | None = None,
    publish: bool = True,
    station_id: str | None = None,
    emi3_prefix: str | None = None,
) -> Location:
    """A location with one station whose EVSEs have one connector each (``plugs``), each
    connector reporting the given status."""
    location = await stations.add_location(
        db_session,
        LocationCreate(
            name=name,
            address=address,
            city=city,
            country="DEU",
            latitude=Decimal(lat),
            longitude=Decimal(lon),
            timezone=timezone,
            postal_code=postal_code,
            opening_hours=hours,
        ),
        publish=publish,
    )
    evses = tuple(
        EvseCreate(
            connectors=(connector(standard, watts),),
            emi3_id=f"{emi3_prefix}*{n}" if emi3_prefix else None,
        )
        for n, (standard, watts, _) in enumerate(plugs, start=1)
    )
    station, _ = await stations.create_station(
        db_session,
        location,
        StationCreate(station_id=station_id or f"ST-{uuid.uuid4().hex[:8]}", evses=evses),
    )
    for n, (_, _, status) in enumerate(plugs, start=1):
        evse_pk = await db_session.scalar(
            select(Evse.id).where(Evse.charging_station_id == station.id, Evse.evse_id == n)
        )
        await db_session.execute(
            update(Connector).where(Connector.evse_pk == evse_pk).values(status=status)
        )
    return location


async def make_brand_with_app(
    database: Database, settings: Settings, app: DriverApp | None = None, **kwargs: Any
) -> TenantInfo:
    """A brand provisioned for real, with the tenant file's ``[app]`` section ``app``."""
    spec = brand_spec(**kwargs)
    if app is not None:
        spec = msgspec.structs.replace(spec, app=app)
    async with database.platform_transaction() as db_session:
        info, _ = await tenancy.register_tenant(db_session, spec)
    return await tenancy.provision_tenant(database, settings.migrations_dir, info.id)
