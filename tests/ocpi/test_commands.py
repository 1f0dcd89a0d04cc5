"""Commands, receiver interface: an eMSP's commands are answered at once, carried to a
real OCPP charger through the command path, and their results POSTed to the eMSP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from websockets.asyncio.client import connect

from tests.conftest import MakeBrand
from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.emi3_support import roamable
from tests.ocpi.h6_support import Registered, registered_partner, rfid_token
from tests.ocpp.conftest import PASSWORD, add_ocpp_station, basic, gateway, url
from voltlane.core.db import Database
from voltlane.core.notify import NotificationHub
from voltlane.models.tenant import ChargingSession, ChargingStation, Evse, OcpiCommand
from voltlane.ocpi.command_tasks import run_command, run_command_job
from voltlane.ocpi.commands import reservation_number
from voltlane.ocpi.pushes import deliver
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings
from voltlane.station.commands import RESULTS_CHANNEL, DatabaseStationCommands
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext

__all__ = ["gateway"]


class EmspCharger(ChargePoint):  # type: ignore[misc]
    """A 1.6 charger that starts, stops and reserves when asked (a second reservation
    finds the EVSE occupied) and fails to unlock."""

    reservations: list[int]

    @on("RemoteStartTransaction")
    async def on_start(self, id_tag: str, **kwargs: Any) -> Any:
        return call_result.RemoteStartTransaction(status="Accepted")

    @on("RemoteStopTransaction")
    async def on_stop(self, transaction_id: int, **kwargs: Any) -> Any:
        return call_result.RemoteStopTransaction(status="Accepted")

    @on("ReserveNow")
    async def on_reserve(self, reservation_id: int, **kwargs: Any) -> Any:
        self.reservations.append(reservation_id)
        return call_result.ReserveNow(status="Occupied" if self.reservations[1:] else "Accepted")

    @on("CancelReservation")
    async def on_cancel(self, reservation_id: int, **kwargs: Any) -> Any:
        known = reservation_id in self.reservations
        return call_result.CancelReservation(status="Accepted" if known else "Rejected")

    @on("UnlockConnector")
    async def on_unlock(self, connector_id: int, **kwargs: Any) -> Any:
        return call_result.UnlockConnector(status="UnlockFailed")


@pytest.fixture
async def station_commands(
    database: Database, database_url: str, settings: Settings
) -> AsyncIterator[DatabaseStationCommands]:
    hub = NotificationHub(database_url)
    await hub.start([RESULTS_CHANNEL])
    yield DatabaseStationCommands(database, hub, secret_key=settings.secret_key)
    await hub.stop()


@contextlib.asynccontextmanager
async def charger(gateway: Gateway, brand: TenantInfo, station_id: str) -> AsyncIterator[Any]:
    ws = await connect(
        url(gateway, brand.key, station_id),
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers={"Authorization": basic(station_id, PASSWORD)},
        compression=None,
    )
    cp = EmspCharger(station_id, ws, response_timeout=10)
    cp.reservations = []
    task = asyncio.create_task(cp.start())
    await cp.call(
        call.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22"),
        suppress=False,
    )
    try:
        yield cp
    finally:
        await ws.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _ids(database: Database, brand: TenantInfo, station_id: str) -> tuple[str, str]:
    """The OCPI location id and EVSE uid of the station's first EVSE."""
    async with database.tenant_session(brand.key) as db_session:
        row = (
            await db_session.execute(
                select(ChargingStation.location_id, Evse.id)
                .join(Evse, Evse.charging_station_id == ChargingStation.id)
                .where(ChargingStation.station_id == station_id)
            )
        ).one()
    return str(row[0]), str(row[1])


async def _commands(database: Database, brand: TenantInfo) -> list[OcpiCommand]:
    async with database.tenant_session(brand.key) as db_session:
        return list(
            (await db_session.scalars(select(OcpiCommand).order_by(OcpiCommand.created_at))).all()
        )


async def _emsp_and_station(
    database: Database,
    settings: Settings,
    brand: TenantInfo,
    httpserver: HTTPServer,
    station_id: str,
    result_path: str,
) -> tuple[Registered, str, str]:
    """A registered eMSP whose result URL answers OCPI success, and a station of the
    brand: (eMSP, location id, EVSE uid)."""
    emsp = await registered_partner(
        database,
        settings,
        brand,
        endpoints=[{"identifier": "commands", "role": "SENDER", "url": httpserver.url_for("/cmd")}],
    )
    await add_ocpp_station(database, brand, station_id)
    await roamable(database, brand)
    httpserver.expect_request(result_path, method="POST").respond_with_json(
        {"status_code": 1000, "timestamp": "2026-11-25T10:00:00Z"}
    )
    location_id, evse_uid = await _ids(database, brand, station_id)
    return emsp, location_id, evse_uid


async def test_start_session_reaches_the_charger_and_its_session_is_the_emsps(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    station_commands: DatabaseStationCommands,
    httpserver: HTTPServer,
) -> None:
    emsp, location_id, evse_uid = await _emsp_and_station(
        database, settings, cpo, httpserver, "CMD-1", "/cmd/START_SESSION/1"
    )
    async with charger(gateway, cpo, "CMD-1") as cp, ocpi_for(cpo, emsp.token) as client:
        answer = await client.post(
            "/ocpi/2.2.1/commands/START_SESSION",
            json={
                "response_url": httpserver.url_for("/cmd/START_SESSION/1"),
                "token": rfid_token("AABB01", whitelist="NEVER"),
                "location_id": location_id,
                "evse_uid": evse_uid,
                "authorization_reference": "EMSP-AUTH-7",
            },
        )
        assert data_of(answer) == {"result": "ACCEPTED", "timeout": 60}
        (command,) = await _commands(database, cpo)
        result = await run_command(database, station_commands, cpo.key, command.id)
        again = await run_command(database, station_commands, cpo.key, command.id)
        started = await cp.call(
            call.StartTransaction(
                connector_id=1, id_tag="AABB01", meter_start=0, timestamp="2026-11-25T10:00:00Z"
            ),
            suppress=False,
        )
    report = await deliver(database, cpo, emsp.partner_id, settings.secret_key)
    assert result == "ACCEPTED"
    assert again is None
    assert started.id_tag_info == {"status": "Accepted"}
    assert (report.sent, report.failed) == (1, 0)
    assert [json.loads(r.data) for r, _ in httpserver.log] == [{"result": "ACCEPTED"}]
    (command,) = await _commands(database, cpo)
    assert (command.response, command.result) == ("ACCEPTED", "ACCEPTED")
    assert command.station_command_id is not None
    async with database.tenant_session(cpo.key) as db_session:
        session = await db_session.scalar(select(ChargingSession))
    assert session is not None
    assert session.authorization_reference == "EMSP-AUTH-7"
    assert session.roaming_token_id is not None


async def test_stop_and_unlock_report_what_the_charger_answered(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    station_commands: DatabaseStationCommands,
    httpserver: HTTPServer,
) -> None:
    emsp, location_id, evse_uid = await _emsp_and_station(
        database, settings, cpo, httpserver, "CMD-2", "/cmd/x"
    )
    other = await registered_partner(database, settings, cpo, country_code="BE", party_id="OTH")
    response_url = httpserver.url_for("/cmd/x")
    async with charger(gateway, cpo, "CMD-2") as cp:
        async with ocpi_for(cpo, emsp.token) as client:
            await client.post(
                "/ocpi/2.2.1/commands/START_SESSION",
                json={
                    "response_url": response_url,
                    "token": rfid_token("CC01"),
                    "location_id": location_id,
                },
            )
        await cp.call(
            call.StartTransaction(
                connector_id=1, id_tag="CC01", meter_start=0, timestamp="2026-11-25T10:00:00Z"
            ),
            suppress=False,
        )
        async with database.tenant_session(cpo.key) as db_session:
            session_id = str(await db_session.scalar(select(ChargingSession.id)))
        async with ocpi_for(cpo, other.token) as client:
            foreign = await client.post(
                "/ocpi/2.2.1/commands/STOP_SESSION",
                json={"response_url": response_url, "session_id": session_id},
            )
        async with ocpi_for(cpo, emsp.token) as client:
            stop = await client.post(
                "/ocpi/2.2.1/commands/STOP_SESSION",
                json={"response_url": response_url, "session_id": session_id},
            )
            unlock = await client.post(
                "/ocpi/2.2.1/commands/UNLOCK_CONNECTOR",
                json={
                    "response_url": response_url,
                    "location_id": location_id,
                    "evse_uid": evse_uid,
                    "connector_id": "1",
                },
            )
        commands = await _commands(database, cpo)
        results = [
            await run_command(database, station_commands, cpo.key, c.id)
            for c in commands
            if c.command != "START_SESSION" and c.response == "ACCEPTED"
        ]
    assert data_of(foreign) == {
        "result": "UNKNOWN_SESSION",
        "timeout": 60,
        "message": [{"language": "en", "text": f"Unknown session {session_id}."}],
    }
    assert data_of(stop)["result"] == "ACCEPTED"
    assert data_of(unlock)["result"] == "ACCEPTED"
    assert results == ["ACCEPTED", "FAILED"]


async def test_bad_commands_are_refused_before_anything_is_sent(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    make_brand: MakeBrand,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
) -> None:
    emsp = await registered_partner(database, settings, cpo)
    await add_ocpp_station(database, cpo, "CMD-3")
    await roamable(database, cpo)
    location_id, evse_uid = await _ids(database, cpo, "CMD-3")
    other_brand = await make_brand()
    await add_ocpp_station(database, other_brand, "CMD-OTHER")
    await roamable(database, other_brand)
    foreign_location, _ = await _ids(database, other_brand, "CMD-OTHER")
    response_url = httpserver.url_for("/cmd/y")
    start = {"response_url": response_url, "token": rfid_token("DD01"), "location_id": location_id}
    async with ocpi_for(cpo, emsp.token) as client:
        unknown_command = await client.post("/ocpi/2.2.1/commands/REBOOT", json=start)
        no_url = await client.post(
            "/ocpi/2.2.1/commands/START_SESSION",
            json={k: v for k, v in start.items() if k != "response_url"},
        )
        bad_token = await client.post(
            "/ocpi/2.2.1/commands/START_SESSION",
            json={**start, "token": rfid_token("DD01", whitelist="MAYBE")},
        )
        unknown_location = await client.post(
            "/ocpi/2.2.1/commands/START_SESSION", json={**start, "location_id": str(uuid.uuid4())}
        )
        other_brands_location = await client.post(
            "/ocpi/2.2.1/commands/START_SESSION", json={**start, "location_id": foreign_location}
        )
        not_their_token = await client.post(
            "/ocpi/2.2.1/commands/START_SESSION",
            json={**start, "token": rfid_token("DD01", country_code="FR", party_id="XYZ")},
        )
        unlock_without_connector = await client.post(
            "/ocpi/2.2.1/commands/UNLOCK_CONNECTOR",
            json={"response_url": response_url, "location_id": location_id, "evse_uid": evse_uid},
        )
    assert unknown_command.json()["status_code"] == 2001
    assert no_url.json()["status_message"] == "response_url is required"
    assert bad_token.json()["status_message"] == (
        "token.whitelist must be one of ALLOWED, ALLOWED_OFFLINE, ALWAYS, NEVER"
    )
    assert unknown_location.json()["status_code"] == 2003
    assert other_brands_location.json()["status_code"] == 2003
    assert data_of(not_their_token)["result"] == "REJECTED"
    assert unlock_without_connector.json()["status_message"] == "connector_id is required"
    commands = await _commands(database, cpo)
    assert [(c.command, c.response) for c in commands] == [("START_SESSION", "REJECTED")]
    assert httpserver.log == []


async def test_a_reservation_is_made_replaced_and_cancelled_by_the_job(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    httpserver: HTTPServer,
) -> None:
    emsp, location_id, evse_uid = await _emsp_and_station(
        database, settings, cpo, httpserver, "CMD-4", "/cmd/r"
    )
    reserve = {
        "response_url": httpserver.url_for("/cmd/r"),
        "token": rfid_token("EE01"),
        "expiry_date": "2026-11-25T11:00:00Z",
        "reservation_id": "R-1",
        "location_id": location_id,
        "evse_uid": evse_uid,
    }
    jobs = JobContext(database=database, settings=settings)
    async with charger(gateway, cpo, "CMD-4") as cp, ocpi_for(cpo, emsp.token) as client:
        answers = [
            await client.post("/ocpi/2.2.1/commands/RESERVE_NOW", json=reserve),
            await client.post("/ocpi/2.2.1/commands/RESERVE_NOW", json=reserve),
            await client.post(
                "/ocpi/2.2.1/commands/CANCEL_RESERVATION",
                json={"response_url": reserve["response_url"], "reservation_id": "r-1"},
            ),
            await client.post(
                "/ocpi/2.2.1/commands/CANCEL_RESERVATION",
                json={"response_url": reserve["response_url"], "reservation_id": "R-2"},
            ),
        ]
        for command in await _commands(database, cpo):
            if command.response == "ACCEPTED":
                await run_command_job(jobs, tenant=cpo.key, command_id=str(command.id))
    number = reservation_number(emsp.partner_id, "R-1")
    assert [data_of(a)["result"] for a in answers] == [
        "ACCEPTED",
        "ACCEPTED",
        "ACCEPTED",
        "REJECTED",
    ]
    assert cp.reservations == [number, number]
    assert [(c.command, c.result) for c in await _commands(database, cpo)] == [
        ("RESERVE_NOW", "ACCEPTED"),
        ("RESERVE_NOW", "EVSE_OCCUPIED"),
        ("CANCEL_RESERVATION", "ACCEPTED"),
        ("CANCEL_RESERVATION", None),
    ]
