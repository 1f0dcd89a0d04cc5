"""AuthMethod COMMAND (mod_sessions/mod_cdrs AuthMethod): a session an eMSP started with
START_SESSION says so in its Session and CDR, also on an OCPP 1.6 charger, which does not
report the remoteStartId it was given."""

from __future__ import annotations

from ocpp.v16 import call
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.h6_support import rfid_token
from tests.ocpi.test_commands import _emsp_and_station, charger
from tests.ocpp.conftest import gateway
from voltlane.billing.cdrs import auth_method
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingSession, OcpiCommand
from voltlane.ocpi.commands import remote_start_id
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo

__all__ = ["gateway"]


async def test_a_16_session_started_by_start_session_is_reported_command(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    httpserver: HTTPServer,
) -> None:
    emsp, location_id, evse_uid = await _emsp_and_station(
        database, settings, cpo, httpserver, "AUTH-1", "/cmd/START_SESSION/1"
    )
    async with charger(gateway, cpo, "AUTH-1") as cp, ocpi_for(cpo, emsp.token) as client:
        answer = await client.post(
            "/ocpi/2.2.1/commands/START_SESSION",
            json={
                "response_url": httpserver.url_for("/cmd/START_SESSION/1"),
                "token": rfid_token("AABB01", whitelist="ALWAYS"),
                "location_id": location_id,
                "evse_uid": evse_uid,
            },
        )
        assert data_of(answer) == {"result": "ACCEPTED", "timeout": 60}
        await cp.call(
            call.StartTransaction(
                connector_id=1, id_tag="AABB01", meter_start=0, timestamp="2026-11-25T10:00:00Z"
            ),
            suppress=False,
        )
        sessions = data_of(
            await client.get("/ocpi/2.2.1/sessions", params={"date_from": "2026-01-01T00:00:00Z"})
        )
    async with database.tenant_session(cpo.key) as db_session:
        command = await db_session.scalar(select(OcpiCommand))
        session = await db_session.scalar(select(ChargingSession))
    assert command is not None
    assert session is not None
    assert session.remote_start_id == remote_start_id(command.id)
    assert auth_method(session) == "COMMAND"
    assert [s["auth_method"] for s in sessions] == ["COMMAND"]
