"""The independent eMSP peer starts and stops a charge with commands at a real OCPP 1.6
charger: our CommandResponses, the CommandResults we POST to its response_url, and the
Session it then reads and is pushed are all checked against the spec."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.ocpi.conftest import OcpiClientFactory
from tests.ocpi.emi3_support import roamable
from tests.ocpi.peer import Pushed, connect, new_peer
from tests.ocpi.spec_rules import validate_envelope
from tests.ocpi.test_commands import charger, station_commands
from tests.ocpp.conftest import add_ocpp_station, gateway
from voltlane.core.db import Database
from voltlane.models.tenant import OcpiCommand
from voltlane.ocpi.cdr_tasks import push_sessions_brand
from voltlane.ocpi.command_tasks import run_command
from voltlane.ocpi.pushes import deliver
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings
from voltlane.station.commands import DatabaseStationCommands
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext

__all__ = ["gateway", "station_commands"]

TOKEN = {
    "country_code": "NL",
    "party_id": "EXA",
    "uid": "04CAFE",
    "type": "APP_USER",
    "contract_id": "NL-EXA-C04CAFE",
    "issuer": "EXA Mobility",
    "valid": True,
    "whitelist": "ALLOWED",
    "last_updated": "2026-03-01T08:00:00Z",
}


async def _command_ids(database: Database, brand: TenantInfo) -> list[Any]:
    async with database.tenant_session(brand.key) as db_session:
        return list(
            await db_session.scalars(select(OcpiCommand.id).order_by(OcpiCommand.created_at))
        )


async def test_the_peer_starts_and_stops_a_charge_by_commands_checked_against_the_spec(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    station_commands: DatabaseStationCommands,
    httpserver: HTTPServer,
) -> None:
    peer = new_peer(httpserver, "exa", "EXA")
    connected = await connect(database, ocpi_for, cpo, peer)
    await add_ocpp_station(database, cpo, "PEER-CMD-1")
    await roamable(database, cpo)
    commands = connected.endpoints["commands", "RECEIVER"]
    started_url = peer.url("2.2.1/commands/START_SESSION/1")
    stopped_url = peer.url("2.2.1/commands/STOP_SESSION/2")

    async with ocpi_for(cpo, connected.token) as client:
        # The peer finds the charger as any eMSP would: in our locations.
        (page,) = await peer.pull(
            client, connected.endpoints["locations", "SENDER"], "Location", limit=10
        )
        (location_id,) = page.ids
        location = await peer.get(
            client,
            f"{connected.endpoints['locations', 'SENDER']}/{location_id}",
            "Location",
            many=False,
        )
    (evse,) = location["evses"]
    assert "REMOTE_START_STOP_CAPABLE" in evse["capabilities"]

    async with charger(gateway, cpo, "PEER-CMD-1") as cp:
        async with ocpi_for(cpo, connected.token) as client:
            start = await client.post(
                f"{commands}/START_SESSION",
                json={
                    "response_url": started_url,
                    "token": TOKEN,
                    "location_id": location_id,
                    "evse_uid": evse["uid"],
                    "authorization_reference": "EXA-AUTH-1",
                },
            )
        (started,) = await _command_ids(database, cpo)
        assert await run_command(database, station_commands, cpo.key, started) == "ACCEPTED"
        await cp.call(
            call.StartTransaction(
                connector_id=1, id_tag="04CAFE", meter_start=0, timestamp="2026-11-25T03:00:00Z"
            ),
            suppress=False,
        )
        async with ocpi_for(cpo, connected.token) as client:
            (sessions,) = await peer.pull(
                client,
                connected.endpoints["sessions", "SENDER"],
                "Session",
                limit=10,
                date_from="2026-01-01T00:00:00Z",
            )
            (session_id,) = sessions.ids
            stop = await client.post(
                f"{commands}/STOP_SESSION",
                json={"response_url": stopped_url, "session_id": session_id},
            )
        _, stopped = await _command_ids(database, cpo)
        assert await run_command(database, station_commands, cpo.key, stopped) == "ACCEPTED"

    for answer in (start, stop):
        assert answer.status_code == 200
        assert validate_envelope(answer.json(), "CommandResponse") == []
        assert answer.json()["data"] == {"result": "ACCEPTED", "timeout": 60}
    await push_sessions_brand(JobContext(database=database, settings=settings), tenant=cpo.key)
    report = await deliver(database, cpo, connected.partner_id, settings.secret_key)
    assert (report.failed, report.waiting) == (0, 0)
    assert peer.violations == []
    results = [p for p in peer.pushes if p.module == "commands"]
    assert results == [
        Pushed("POST", "commands", ("START_SESSION", "1"), {"result": "ACCEPTED"}),
        Pushed("POST", "commands", ("STOP_SESSION", "2"), {"result": "ACCEPTED"}),
    ]
    (session,) = [p.body for p in peer.pushes if p.module == "sessions"]
    assert (session["id"], session["authorization_reference"]) == (session_id, "EXA-AUTH-1")
    assert session["cdr_token"] == {
        key: TOKEN[key] for key in ("country_code", "party_id", "uid", "type", "contract_id")
    }
