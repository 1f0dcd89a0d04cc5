"""Allocations reach real OCPP 1.6 and 2.0.1 chargers as charging profiles, over the command
path, and each answer is read the way the rebalancing loop relies on."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect

from tests.ocpp.conftest import PASSWORD, add_ocpp_station, basic, gateway, url
from tests.ocpp.test_commands import commands
from voltlane.core.db import Database
from voltlane.models.tenant import StationCommand
from voltlane.ocpp.server import Gateway
from voltlane.ocpp.translate import OcppTranslator
from voltlane.smart_charging import profiles
from voltlane.smart_charging.profiles import ProfileOutcome
from voltlane.station.commands import DatabaseStationCommands
from voltlane.tenancy import TenantInfo

__all__ = ["commands", "gateway"]


# -- chargers that keep the profiles they are sent -------------------------------------------
class Profiles:
    """What a test charger answers to SetChargingProfile, and what it was sent (as the ocpp
    library hands it over: snake_case keys)."""

    def __init__(self) -> None:
        self.answer = "Accepted"
        self.answers: dict[str, str] = {}  # by purpose (1.6 spelling), else ``answer``
        self.hold: asyncio.Event | None = None  # while set and not released: no answer
        self.received: list[tuple[str, dict[str, Any]]] = []

    def set(self, profile: dict[str, Any]) -> str:
        """Record a SetChargingProfile and choose its answer."""
        self.received.append(("SetChargingProfile", profile))
        inner = profile.get("cs_charging_profiles") or profile["charging_profile"]
        return self.answers.get(inner["charging_profile_purpose"], self.answer)


class ProfileStation16(Cp16):  # type: ignore[misc]
    profiles: Profiles

    @on("SetChargingProfile")
    async def on_set(self, **payload: Any) -> Any:
        status = self.profiles.set(payload)
        if self.profiles.hold is not None:
            await self.profiles.hold.wait()
        return result16.SetChargingProfile(status=status)

    @on("ClearChargingProfile")
    async def on_clear(self, **payload: Any) -> Any:
        self.profiles.received.append(("ClearChargingProfile", payload))
        return result16.ClearChargingProfile(status="Accepted")


class ProfileStation201(Cp201):  # type: ignore[misc]
    profiles: Profiles

    @on("SetChargingProfile")
    async def on_set(self, **payload: Any) -> Any:
        status = self.profiles.set(payload)
        if self.profiles.hold is not None:
            await self.profiles.hold.wait()
        return result201.SetChargingProfile(status=status)

    @on("ClearChargingProfile")
    async def on_clear(self, **payload: Any) -> Any:
        self.profiles.received.append(("ClearChargingProfile", payload))
        return result201.ClearChargingProfile(status="Accepted")


# Chargers that know nothing of smart charging: the library answers NotImplemented.
class PlainStation16(Cp16):  # type: ignore[misc]
    profiles: Profiles


class PlainStation201(Cp201):  # type: ignore[misc]
    profiles: Profiles


STATIONS: dict[tuple[str, bool], type[Any]] = {
    ("ocpp1.6", True): ProfileStation16,
    ("ocpp2.0.1", True): ProfileStation201,
    ("ocpp1.6", False): PlainStation16,
    ("ocpp2.0.1", False): PlainStation201,
}


@dataclass
class Station:
    cp: Any
    ws: ClientConnection
    task: asyncio.Task[None]
    profiles: Profiles
    protocol: str

    async def close(self) -> None:
        await self.ws.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task

    async def start(self, evse_id: int, token: str, transaction: str) -> str:
        """Start a transaction on ``evse_id``: the id the platform knows it by."""
        if self.protocol == "ocpp1.6":
            started = await self.cp.call(
                call16.StartTransaction(
                    connector_id=evse_id,
                    id_tag=token,
                    meter_start=1000,
                    timestamp="2026-11-24T10:00:05Z",
                )
            )
            return str(started.transaction_id)
        await self.cp.call(
            call201.TransactionEvent(
                event_type="Started",
                timestamp="2026-11-24T10:00:05Z",
                trigger_reason="Authorized",
                seq_no=0,
                transaction_info={"transaction_id": transaction, "charging_state": "Charging"},
                evse={"id": evse_id, "connector_id": 1},
                id_token={"id_token": token, "type": "ISO14443"},
            )
        )
        return transaction

    async def stop(self, transaction: str) -> None:
        if self.protocol == "ocpp1.6":
            await self.cp.call(
                call16.StopTransaction(
                    transaction_id=int(transaction),
                    meter_stop=2000,
                    timestamp="2026-11-24T10:30:05Z",
                    reason="EVDisconnected",
                )
            )
            return
        await self.cp.call(
            call201.TransactionEvent(
                event_type="Ended",
                timestamp="2026-11-24T10:30:05Z",
                trigger_reason="EVCommunicationLost",
                seq_no=1,
                transaction_info={
                    "transaction_id": transaction,
                    "stopped_reason": "EVDisconnected",
                },
            )
        )

    def sent(self, action: str = "SetChargingProfile") -> list[dict[str, Any]]:
        return [payload for name, payload in self.profiles.received if name == action]


OpenStation = Callable[..., Awaitable[Station]]


@pytest.fixture
async def open_station(gateway: Gateway) -> AsyncIterator[OpenStation]:
    """Connect and boot a charger: ``await open_station(brand, "CP1", "ocpp1.6")``;
    ``smart=False`` gives one without charging profile handlers."""
    opened: list[Station] = []

    async def open_(
        brand: TenantInfo, station_id: str, protocol: str, *, smart: bool = True
    ) -> Station:
        ws = await connect(
            url(gateway, brand.key, station_id),
            subprotocols=[protocol],  # type: ignore[list-item]
            additional_headers={"Authorization": basic(station_id, PASSWORD)},
            compression=None,
        )
        cp = STATIONS[(protocol, smart)](station_id, ws, response_timeout=10)
        cp.profiles = Profiles()
        task = asyncio.create_task(cp.start())
        station = Station(cp, ws, task, cp.profiles, protocol)
        opened.append(station)
        if protocol == "ocpp1.6":
            await cp.call(
                call16.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22")
            )
        else:
            await cp.call(
                call201.BootNotification(
                    charging_station={"model": "AC22", "vendor_name": "Acme"}, reason="PowerUp"
                )
            )
        return station

    yield open_
    for station in opened:
        await station.close()


# -- the payloads, as each protocol spells them ----------------------------------------------
def test_a_tx_profile_in_each_protocol() -> None:
    command = profiles.tx_profile(2, "4711", Decimal("13.37"), 3)
    translator = OcppTranslator()

    assert translator.translate("ocpp1.6", command) == (
        "SetChargingProfile",
        {
            "connectorId": 2,
            "csChargingProfiles": {
                "chargingProfileId": 7_200_002,
                "transactionId": 4711,
                "stackLevel": 1,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [
                        {"startPeriod": 0, "limit": 13.3, "numberPhases": 3}
                    ],
                },
            },
        },
    )
    assert translator.translate("ocpp2.0.1", profiles.tx_profile(1, "tx-9", 16, 1)) == (
        "SetChargingProfile",
        {
            "evseId": 1,
            "chargingProfile": {
                "id": 7_200_001,
                "stackLevel": 1,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "transactionId": "tx-9",
                "chargingSchedule": [
                    {
                        "id": 7_200_001,
                        "chargingRateUnit": "A",
                        "chargingSchedulePeriod": [
                            {"startPeriod": 0, "limit": 16.0, "numberPhases": 1}
                        ],
                    }
                ],
            },
        },
    )


def test_the_defaults_the_station_maximum_and_the_clear() -> None:
    translator = OcppTranslator()
    default = translator.translate("ocpp1.6", profiles.tx_default_profile(1, 6, 3))[1]
    station_max = translator.translate("ocpp2.0.1", profiles.station_max_profile(10, 3))[1]
    cleared16 = translator.translate("ocpp1.6", profiles.clear_tx_profile(3))
    cleared201 = translator.translate("ocpp2.0.1", profiles.clear_tx_profile(3))

    assert default["csChargingProfiles"]["chargingProfileId"] == 7_100_001
    assert default["csChargingProfiles"]["chargingProfilePurpose"] == "TxDefaultProfile"
    assert "transactionId" not in default["csChargingProfiles"]
    assert default["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 6.0, "numberPhases": 3}
    ]
    assert station_max["evseId"] == 0
    assert station_max["chargingProfile"]["id"] == 7_000_000
    assert station_max["chargingProfile"]["chargingProfilePurpose"] == "ChargingStationMaxProfile"
    assert station_max["chargingProfile"]["chargingProfileKind"] == "Absolute"
    assert "startSchedule" in station_max["chargingProfile"]["chargingSchedule"][0]
    assert cleared16 == ("ClearChargingProfile", {"id": 7_200_003})
    assert cleared201 == ("ClearChargingProfile", {"chargingProfileId": 7_200_003})


def test_limits_are_rounded_down_to_tenths() -> None:
    assert [profiles.amperes(v) for v in (Decimal("6.09"), Decimal("31.999"), 0, 32)] == [
        6.0,
        31.9,
        0.0,
        32.0,
    ]


# -- over the wire ---------------------------------------------------------------------------
@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_a_charger_receives_its_tx_profile_with_limit_and_transaction(
    database: Database,
    make_brand: Callable[..., Awaitable[TenantInfo]],
    open_station: OpenStation,
    commands: DatabaseStationCommands,
    protocol: str,
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "SC-1", evses=2)
    station = await open_station(brand, "SC-1", protocol)

    sent = await profiles.send_profile(
        commands, brand.key, "SC-1", protocol, profiles.tx_profile(2, "77", Decimal("10.5"), 3)
    )

    assert sent.outcome is ProfileOutcome.ACCEPTED
    [received] = station.sent()
    if protocol == "ocpp1.6":
        assert received["connector_id"] == 2
        profile = received["cs_charging_profiles"]
        assert (profile["transaction_id"], profile["charging_profile_id"]) == (77, 7_200_002)
        schedule = profile["charging_schedule"]
    else:
        assert received["evse_id"] == 2
        profile = received["charging_profile"]
        assert (profile["transaction_id"], profile["id"]) == ("77", 7_200_002)
        [schedule] = profile["charging_schedule"]
    assert (profile["charging_profile_purpose"], profile["stack_level"]) == ("TxProfile", 1)
    assert schedule["charging_rate_unit"] == "A"
    # A tenth of an ampere reaches 1.6 stations too (the gateway writes the payload as
    # given, not the Decimal copy its 1.6 validation makes).
    assert schedule["charging_schedule_period"] == [
        {"start_period": 0, "limit": 10.5, "number_phases": 3}
    ]
    async with database.tenant_session(brand.key) as db_session:
        command = await db_session.get_one(StationCommand, sent.command_id)
    assert (command.action, command.requested_by, command.response) == (
        "SetChargingProfile",
        "smart_charging",
        {"status": "Accepted"},
    )


@pytest.mark.parametrize(
    ("protocol", "smart", "answer", "outcome"),
    [
        ("ocpp1.6", True, "Rejected", ProfileOutcome.REJECTED),
        ("ocpp1.6", True, "NotSupported", ProfileOutcome.NOT_SUPPORTED),
        ("ocpp1.6", False, None, ProfileOutcome.NOT_SUPPORTED),
        ("ocpp2.0.1", True, "Rejected", ProfileOutcome.REJECTED),
        ("ocpp2.0.1", False, None, ProfileOutcome.NOT_SUPPORTED),
    ],
)
async def test_refusals_are_told_apart(
    database: Database,
    make_brand: Callable[..., Awaitable[TenantInfo]],
    open_station: OpenStation,
    commands: DatabaseStationCommands,
    protocol: str,
    smart: bool,
    answer: str | None,
    outcome: ProfileOutcome,
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "SC-2")
    station = await open_station(brand, "SC-2", protocol, smart=smart)
    if answer is not None:
        station.profiles.answer = answer

    sent = await profiles.send_profile(
        commands, brand.key, "SC-2", protocol, profiles.tx_default_profile(1, 6, 3)
    )

    assert sent.outcome is outcome
    assert sent.outcome.refused
    assert sent.command_id is not None


async def test_a_station_that_is_not_connected_is_offline(
    database: Database,
    make_brand: Callable[..., Awaitable[TenantInfo]],
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "SC-3")

    never_connected = await profiles.send_profile(
        commands, brand.key, "SC-3", None, profiles.tx_default_profile(1, 6, 3)
    )
    gone = await profiles.send_profile(
        commands, brand.key, "SC-3", "ocpp1.6", profiles.tx_default_profile(1, 6, 3)
    )

    assert never_connected == profiles.Sent(ProfileOutcome.OFFLINE, None)
    assert gone.outcome is ProfileOutcome.OFFLINE
    assert not gone.outcome.refused
    async with database.tenant_session(brand.key) as db_session:
        actions = list(await db_session.scalars(select(StationCommand.action)))
    assert actions == ["SetChargingProfile"]
