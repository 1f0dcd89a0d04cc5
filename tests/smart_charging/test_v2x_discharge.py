"""OCPP 2.1 V2X: a bidirectional car's TxProfile carries its share of the site's discharge
limit, sent to the ocpp package's real 2.1 ChargePoint over a real WebSocket (whose own
schema validation accepts it before the handler sees it); 2.0.1 stations never get one."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v21 import ChargePoint as Cp21
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v201 import call as call201
from sqlalchemy import select
from websockets.asyncio.client import connect

from tests.ocpp.conftest import PASSWORD, add_ocpp_station, add_token, basic, gateway, url
from tests.smart_charging.test_profiles import (
    OpenStation,
    Profiles,
    Station,
    commands,
    open_station,
)
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingAllocation, ChargingSession, ChargingStation, Evse
from voltlane.ocpp.server import Gateway
from voltlane.ocpp.translate import OcppTranslator
from voltlane.smart_charging import profiles, sites
from voltlane.smart_charging.loop import Pass, rebalance
from voltlane.smart_charging.sites import SiteInput
from voltlane.station.commands import DatabaseStationCommands
from voltlane.tenancy import TenantInfo

__all__ = ["commands", "gateway", "open_station"]

D = Decimal
MakeBrand = Callable[..., Awaitable[TenantInfo]]
# What every car here says of AC charging: 20 kWh wanted, 6..32 A.
AC = {"energy_amount": 20_000, "ev_min_current": 6, "ev_max_current": 32, "ev_max_voltage": 400}


class ProfileStation21(Cp21):  # type: ignore[misc]
    profiles: Profiles

    @on("SetChargingProfile")
    async def on_set(self, **payload: Any) -> Any:
        return result21.SetChargingProfile(status=self.profiles.set(payload))

    @on("ClearChargingProfile")
    async def on_clear(self, **payload: Any) -> Any:
        self.profiles.received.append(("ClearChargingProfile", payload))
        return result21.ClearChargingProfile(status="Accepted")


Open21 = Callable[[TenantInfo, str], Awaitable[Station]]


@pytest.fixture
async def open21(gateway: Gateway, database: Database) -> AsyncIterator[Open21]:
    """A booted 2.1 charger with one EVSE that keeps the profiles it is sent, and a card
    ``CARD-<station id>``."""
    opened: list[Station] = []

    async def open_(brand: TenantInfo, station_id: str) -> Station:
        await add_ocpp_station(database, brand, station_id)
        await add_token(database, brand, f"CARD-{station_id}")
        ws = await connect(
            url(gateway, brand.key, station_id),
            subprotocols=["ocpp2.1"],  # type: ignore[list-item]
            additional_headers={"Authorization": basic(station_id, PASSWORD)},
            compression=None,
        )
        cp = ProfileStation21(station_id, ws, response_timeout=10)
        cp.profiles = Profiles()
        station = Station(cp, ws, asyncio.create_task(cp.start()), cp.profiles, "ocpp2.1")
        opened.append(station)
        await cp.call(
            call21.BootNotification(
                charging_station={"model": "V2X11", "vendor_name": "Acme"}, reason="PowerUp"
            )
        )
        return station

    yield open_
    for station in opened:
        await station.close()


async def _site(database: Database, brand: TenantInfo, *station_ids: str) -> uuid.UUID:
    """A 32 A three-phase site that lets cars feed back 16 A, over each station's EVSE 1."""
    async with database.tenant_transaction(brand.key) as db_session:
        site = await sites.create_site(
            db_session,
            SiteInput(name="Depot", capacity_a=D(32), safe_limit_a=D(16), discharge_limit_a=D(16)),
        )
        for station_id in station_ids:
            evse_pk = await db_session.scalar(
                select(Evse.id)
                .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
                .where(ChargingStation.station_id == station_id, Evse.evse_id == 1)
            )
            assert evse_pk is not None
            await sites.assign_evse(db_session, site.id, evse_pk)
        return site.id


async def _start21(station: Station, transaction: str) -> None:
    await station.cp.call(
        call21.TransactionEvent(
            event_type="Started",
            timestamp="2026-11-24T10:00:05Z",
            trigger_reason="Authorized",
            seq_no=0,
            transaction_info={"transaction_id": transaction, "charging_state": "Charging"},
            evse={"id": 1, "connector_id": 1},
            id_token={"id_token": f"CARD-{station.cp.id}", "type": "ISO14443"},
        )
    )


async def _bidirectional(station: Station, **v2x: int) -> str:
    """The car on EVSE 1 reports ISO 15118-20 AC bidirectional needs; the CSMS's answer."""
    reply = await station.cp.call(
        call21.NotifyEVChargingNeeds(
            evse_id=1,
            charging_needs={
                "requested_energy_transfer": "AC_BPT",
                "ac_charging_parameters": AC,
                "v2x_charging_parameters": {"max_charge_power": 22_000, **v2x},
            },
        )
    )
    return str(reply.status)


def _periods(station: Station) -> list[dict[str, Any]]:
    """The schedule period of each TxProfile the station received, as its library gave it."""
    return [
        p["charging_profile"]["charging_schedule"][0]["charging_schedule_period"][0]
        for p in station.sent()
        if p["charging_profile"]["charging_profile_purpose"] == "TxProfile"
    ]


async def _rows(database: Database, brand: TenantInfo) -> list[tuple[str, Decimal, Decimal | None]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.execute(
            select(
                ChargingSession.transaction_id,
                ChargingAllocation.limit_a,
                ChargingAllocation.discharge_limit_a,
            )
            .join(ChargingSession, ChargingSession.id == ChargingAllocation.session_id)
            .order_by(ChargingAllocation.decided_at, ChargingSession.transaction_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def _pass(
    database: Database, commands: DatabaseStationCommands, brand: TenantInfo, site: uuid.UUID
) -> Pass:
    done = await rebalance(database, commands, brand.key, site)
    assert done is not None
    return done


async def test_a_bidirectional_21_car_gets_the_discharge_limit_and_a_201_car_none(
    database: Database,
    make_brand: MakeBrand,
    open21: Open21,
    open_station: OpenStation,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    v2x = await open21(brand, "V2X")
    await add_ocpp_station(database, brand, "AC")
    await add_token(database, brand, "CARD-AC")
    ac = await open_station(brand, "AC", "ocpp2.0.1")
    site = await _site(database, brand, "V2X", "AC")
    await _pass(database, commands, brand, site)  # the defaults
    await _start21(v2x, "tx-v2x")
    await ac.start(1, "CARD-AC", "tx-ac")
    # The 2.0.1 car reports the most its version can: plain AC needs.
    await ac.cp.call(
        call201.NotifyEVChargingNeeds(
            evse_id=1,
            charging_needs={
                "requested_energy_transfer": "AC_three_phase",
                "ac_charging_parameters": AC,
            },
        )
    )

    # 11,040 W over three phases at 230 V: 16 A per phase, the site's whole discharge limit.
    assert await _bidirectional(v2x, max_discharge_power=11_040) == "Accepted"
    done = await _pass(database, commands, brand, site)

    assert _periods(v2x) == [
        {
            "start_period": 0,
            "limit": 16.0,
            "number_phases": 3,
            "discharge_limit": -16.0,
            "operation_mode": "ExternalLimits",
        }
    ]
    assert _periods(ac) == [{"start_period": 0, "limit": 16.0, "number_phases": 3}]
    assert await _rows(database, brand) == [
        ("tx-ac", D("16.0"), None),
        ("tx-v2x", D("16.0"), D("16.0")),
    ]
    assert list(done.discharges.values()) == [D("16.0")]
    # Nothing changed: the next pass sends nothing.
    await _pass(database, commands, brand, site)
    assert len(_periods(v2x)) == len(_periods(ac)) == 1


async def test_two_bidirectional_cars_share_the_discharge_limit(
    database: Database,
    make_brand: MakeBrand,
    open21: Open21,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    small, large = await open21(brand, "SMALL"), await open21(brand, "LARGE")
    site = await _site(database, brand, "SMALL", "LARGE")
    await _pass(database, commands, brand, site)
    await _start21(small, "tx-small")
    await _start21(large, "tx-large")
    # 3,000 W over three phases at 230 V is 4.3 A; the other car said only AC_BPT, so its
    # EVSE's 32 A bounds it and it takes the rest of the 16 A.
    assert await _bidirectional(small, max_discharge_power=3_000) == "Accepted"
    assert await _bidirectional(large) == "Accepted"

    await _pass(database, commands, brand, site)

    assert [(p["limit"], p["discharge_limit"]) for p in _periods(small)] == [(16.0, -4.3)]
    assert [(p["limit"], p["discharge_limit"]) for p in _periods(large)] == [(16.0, -11.7)]

    # The small car stops offering: its discharge goes first; the large car's raise waits
    # for the next pass, so the two never add up to more than 16 A while the change travels.
    reply = await small.cp.call(
        call21.NotifyEVChargingNeeds(
            evse_id=1,
            charging_needs={
                "requested_energy_transfer": "AC_three_phase",
                "ac_charging_parameters": AC,
            },
        )
    )
    assert reply.status == "Accepted"
    await _pass(database, commands, brand, site)
    assert _periods(small)[1:] == [{"start_period": 0, "limit": 16.0, "number_phases": 3}]
    assert len(_periods(large)) == 1
    await _pass(database, commands, brand, site)
    assert [(p["limit"], p["discharge_limit"]) for p in _periods(large)[1:]] == [(16.0, -16.0)]
    assert await _rows(database, brand) == [
        ("tx-large", D("16.0"), D("11.7")),
        ("tx-small", D("16.0"), D("4.3")),
        ("tx-small", D("16.0"), None),
        ("tx-large", D("16.0"), D("16.0")),
    ]


def test_only_21_spells_a_discharge_limit() -> None:
    command = profiles.tx_profile(1, "tx-9", D(16), 3, discharge_limit_a=D("7.25"))
    translator = OcppTranslator()

    _, v21 = translator.translate("ocpp2.1", command)
    _, v201 = translator.translate("ocpp2.0.1", command)
    _, v16 = translator.translate(
        "ocpp1.6", profiles.tx_profile(1, "9", D(16), 3, discharge_limit_a=D(7))
    )

    assert v21["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"] == [
        {
            "startPeriod": 0,
            "limit": 16.0,
            "numberPhases": 3,
            "dischargeLimit": -7.2,
            "operationMode": "ExternalLimits",
        }
    ]
    assert v201["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16.0, "numberPhases": 3}
    ]
    assert v16["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16.0, "numberPhases": 3}
    ]
    # No discharge (None or 0): a 2.1 period stays ChargingOnly.
    _, none = translator.translate(
        "ocpp2.1", profiles.tx_profile(1, "tx-9", D(16), 3, discharge_limit_a=D(0))
    )
    assert none["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16.0, "numberPhases": 3}
    ]
