"""The demo's simulated cars against a real gateway: they report their needs, accept the
TxProfiles a rebalancing pass sends them and charge at the limit they were given."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from tests.ocpp.conftest import PASSWORD, add_ocpp_station, add_token, gateway, url
from tests.ocpp.test_commands import commands
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingSession, ChargingStation, Evse, MeterSample
from voltlane.ocpp.server import Gateway
from voltlane.ocpp.simulator import Car, CarPlan, demo_plans
from voltlane.smart_charging import sites
from voltlane.smart_charging.loop import rebalance
from voltlane.smart_charging.profiles import ProfileOutcome
from voltlane.smart_charging.sites import SiteInput
from voltlane.station.commands import DatabaseStationCommands
from voltlane.tenancy import TenantInfo

__all__ = ["commands", "gateway"]


async def _site_over(database: Database, brand: TenantInfo, *station_ids: str) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        site = await sites.create_site(
            db_session, SiteInput(name="Testfeld", capacity_a=Decimal(32), safe_limit_a=Decimal(16))
        )
        evses = await db_session.scalars(
            select(Evse.id)
            .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
            .where(ChargingStation.station_id.in_(station_ids))
        )
        for evse_pk in evses:
            await sites.assign_evse(db_session, site.id, evse_pk)
        return site.id


async def test_two_simulated_cars_share_the_site_at_the_limits_they_accepted(
    database: Database,
    make_brand,
    gateway: Gateway,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    plans = []
    for station_id, protocol, card in (
        ("SIM-201", "ocpp2.0.1", "CARD-1"),
        ("SIM-21", "ocpp2.1", "CARD-2"),
    ):
        await add_ocpp_station(database, brand, station_id)
        await add_token(database, brand, card)
        plans.append(
            CarPlan(
                station_id=station_id,
                protocol=protocol,
                ocpp_url=url(gateway, brand.key, station_id),
                password=PASSWORD,
                id_token=card,
                departure_in=timedelta(hours=2),
            )
        )
    site = await _site_over(database, brand, "SIM-201", "SIM-21")
    cars = [Car(plan) for plan in plans]
    async with cars[0].connected(), cars[1].connected():
        for car in cars:
            await car.plug_in()
        done = await rebalance(database, commands, brand.key, site)
        limits = [car.cp.profiles.limit_a for car in cars]
        # Ten seconds of the first car: it draws what its profile allows.
        drawn = await cars[0].report(10)

    assert done is not None
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.execute(select(ChargingSession.transaction_id, ChargingSession.id))
        sessions = {row[0]: row[1] for row in rows.all()}
        power = list(
            await db_session.scalars(
                select(MeterSample.value).where(MeterSample.measurand == "Power.Active.Import")
            )
        )
    ids = [sessions[car.transaction_id] for car in cars]
    assert [car.needs_status for car in cars] == ["Accepted", "Accepted"]
    # 20 kWh within two hours needs 14.5 A on three phases: both fit, and share 32 A.
    assert done.limits == {ids[0]: Decimal(16), ids[1]: Decimal(16)}
    assert done.outcomes == {ids[0]: ProfileOutcome.ACCEPTED, ids[1]: ProfileOutcome.ACCEPTED}
    assert limits == [16.0, 16.0]
    # Started at 0 W, then 16 A x 230 V x 3 phases.
    assert drawn == 11_040
    assert sorted(power) == [Decimal(0), Decimal(0), Decimal(11_040)]


def test_demo_plans_take_the_2x_simulators_of_the_brand_with_its_cards() -> None:
    station = {"security_profile": 1, "password": "pw"}
    manifest = {
        "brands": [
            {
                "slug": "voltaria",
                "stations": [
                    {
                        **station,
                        "station_id": "VLT-SIM-16",
                        "protocol": "ocpp1.6",
                        "ocpp_url": "u16",
                    },
                    {**station, "station_id": "VLT-BER-001", "protocol": None, "ocpp_url": "u"},
                    {
                        **station,
                        "station_id": "VLT-SIM-201",
                        "protocol": "ocpp2.0.1",
                        "ocpp_url": "u201",
                    },
                    {
                        **station,
                        "station_id": "VLT-SIM-21",
                        "protocol": "ocpp2.1",
                        "ocpp_url": "u21",
                    },
                ],
            }
        ]
    }

    plans = demo_plans(manifest, "voltaria", ["VLTDEMO0001", "VLTDEMO0002"])

    assert [(p.station_id, p.protocol, p.ocpp_url, p.id_token) for p in plans] == [
        ("VLT-SIM-201", "ocpp2.0.1", "u201", "VLTDEMO0001"),
        ("VLT-SIM-21", "ocpp2.1", "u21", "VLTDEMO0002"),
    ]
