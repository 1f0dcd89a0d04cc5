"""A partner's ``min_charging_rate`` reaches the station of a session in no site as the
TxProfile schedule's ``minChargingRate``: sent over OCPI to a real OCPP 1.6 charger, and
through smart charging's API to the ``ocpp`` package's real 2.0.1 and 2.1 ChargePoints
(whose own schema validation accepts the payload before their handlers see it)."""

from __future__ import annotations

from decimal import Decimal

from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.ocpi.conftest import OcpiClientFactory
from tests.ocpi.test_chargingprofiles import (
    _partner,
    _profile_body,
    _transaction,
    charging,
    requests_of,
)
from tests.ocpi.test_commands import station_commands
from tests.ocpp.conftest import add_ocpp_station, add_token, gateway
from tests.smart_charging.test_profiles import OpenStation, commands, open_station
from tests.smart_charging.test_v2x_discharge import MakeBrand, Open21, open21
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingSession
from voltlane.ocpi.chargingprofile_tasks import run_charging_profile
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings
from voltlane.smart_charging.limit_effect import Applied, apply_limit
from voltlane.smart_charging.session_limits import ExternalLimit, set_limit
from voltlane.station.commands import DatabaseStationCommands
from voltlane.tenancy import TenantInfo

__all__ = ["commands", "gateway", "open21", "open_station", "station_commands"]

D = Decimal


async def test_a_partners_minimum_rate_reaches_a_16_charger_in_its_schedule(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    station_commands: DatabaseStationCommands,
    httpserver: HTTPServer,
) -> None:
    partner = await _partner(database, settings, cpo, httpserver, "CP-41")
    async with charging(database, gateway, cpo, partner, "CP-41") as (cp, session_id):
        async with ocpi_for(cpo, partner.token) as client:
            await client.put(
                f"/ocpi/2.2.1/chargingprofiles/{session_id}",
                json=_profile_body(
                    httpserver,
                    charging_rate_unit="A",
                    min_charging_rate=6.5,
                    charging_profile_period=[{"start_period": 0, "limit": 20}],
                ),
            )
        (row,) = await requests_of(database, cpo)
        result = await run_charging_profile(database, station_commands, cpo.key, row.id)
    assert result == {"result": "ACCEPTED"}
    assert cp.received == [
        (
            "SetChargingProfile",
            {
                "connector_id": 1,
                "cs_charging_profiles": {
                    "charging_profile_id": 7_200_001,
                    "transaction_id": int(await _transaction(database, cpo)),
                    "stack_level": 1,
                    "charging_profile_purpose": "TxProfile",
                    "charging_profile_kind": "Relative",
                    "charging_schedule": {
                        "charging_rate_unit": "A",
                        "charging_schedule_period": [{"start_period": 0, "limit": 20.0}],
                        "min_charging_rate": 6.5,
                    },
                },
            },
        )
    ]


async def _session_of(database: Database, brand: TenantInfo, transaction: str) -> ChargingSession:
    async with database.tenant_session(brand.key) as db_session:
        found = await db_session.scalar(
            select(ChargingSession).where(ChargingSession.transaction_id == transaction)
        )
    assert found is not None
    return found


async def test_a_minimum_rate_reaches_201_and_21_chargers_in_their_schedule(
    database: Database,
    make_brand: MakeBrand,
    open_station: OpenStation,
    open21: Open21,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP-201")
    await add_token(database, brand, "CARD-CP-201")
    v201 = await open_station(brand, "CP-201", "ocpp2.0.1")
    v21 = await open21(brand, "CP-21")
    limit = ExternalLimit("W", ((0, D(11_000)), (900, D("7400.5"))), min_rate=D("1380.5"))
    for station, transaction in ((v201, "tx-201"), (v21, "tx-21")):
        await station.start(1, f"CARD-{station.cp.id}", transaction)
        session = await _session_of(database, brand, transaction)
        async with database.tenant_transaction(brand.key) as db_session:
            await set_limit(db_session, session.id, limit)
        assert await apply_limit(database, commands, brand.key, session.id) is Applied.ACCEPTED

    for station, transaction in ((v201, "tx-201"), (v21, "tx-21")):
        assert station.sent() == [
            {
                "evse_id": 1,
                "charging_profile": {
                    "id": 7_200_001,
                    "stack_level": 1,
                    "charging_profile_purpose": "TxProfile",
                    "charging_profile_kind": "Relative",
                    "transaction_id": transaction,
                    "charging_schedule": [
                        {
                            "id": 7_200_001,
                            "charging_rate_unit": "W",
                            "charging_schedule_period": [
                                {"start_period": 0, "limit": 11000.0},
                                {"start_period": 900, "limit": 7400.5},
                            ],
                            "min_charging_rate": 1380.5,
                        }
                    ],
                },
            }
        ]
