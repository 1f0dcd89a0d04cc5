"""The independent eMSP peer limits its driver's session at a real OCPP 1.6 charger in a
site: it finds our chargingprofiles receiver in our version details, sets, reads and
clears a profile, and takes the results on its response_urls and our ActiveChargingProfile
update on its sender interface, each checked against the spec's field rules."""

from __future__ import annotations

from decimal import Decimal

from pytest_httpserver import HTTPServer

from tests.ocpi.conftest import OcpiClientFactory
from tests.ocpi.peer import EMSP_MODULES, EmspPeer, connect
from tests.ocpi.roaming_support import Partner
from tests.ocpi.spec_rules import validate_envelope
from tests.ocpi.test_chargingprofiles import charging, depot, requests_of
from tests.ocpi.test_commands import station_commands
from tests.ocpp.conftest import add_ocpp_station, gateway
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.ocpi.chargingprofile_tasks import queue_active_profile_pushes, run_charging_profile
from voltlane.ocpi.pushes import deliver
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings
from voltlane.smart_charging import sites
from voltlane.smart_charging.loop import rebalance
from voltlane.station.commands import DatabaseStationCommands
from voltlane.tenancy import TenantInfo

__all__ = ["gateway", "station_commands"]


async def test_the_peer_sets_reads_and_clears_a_profile_checked_against_the_spec(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    station_commands: DatabaseStationCommands,
    httpserver: HTTPServer,
) -> None:
    peer = EmspPeer(
        httpserver,
        accepted={"scsp-token-b"},
        party_id="SCS",
        modules=(*EMSP_MODULES, ("chargingprofiles", "SENDER")),
        root="scsp",
    ).serve()
    connected = await connect(database, ocpi_for, cpo, peer)
    receiver = connected.endpoints["chargingprofiles", "RECEIVER"]
    await add_ocpp_station(database, cpo, "PEER-CP-1")
    site_id = await depot(database, cpo, "PEER-CP-1")
    partner = Partner(connected.partner_id, connected.token, "NL", "SCS")
    answers = []
    async with charging(database, gateway, cpo, partner, "PEER-CP-1") as (cp, session_id):
        await rebalance(database, station_commands, cpo.key, site_id)
        url = f"{receiver}/{session_id}"

        async def run_last() -> None:
            last = (await requests_of(database, cpo))[-1]
            await run_charging_profile(database, station_commands, cpo.key, last.id)

        async with ocpi_for(cpo, connected.token) as client:
            answers.append(
                await client.put(
                    url,
                    json={
                        "charging_profile": {
                            "charging_rate_unit": "A",
                            "charging_profile_period": [{"start_period": 0, "limit": 12.5}],
                        },
                        "response_url": peer.url("2.2.1/chargingprofiles/set/1"),
                    },
                )
            )
            await run_last()
            # A building load leaves the car 6 A: the peer is told on its sender interface.
            async with database.tenant_transaction(cpo.key) as db_session:
                await sites.record_reading(
                    db_session,
                    site_id,
                    kind="building_load",
                    per_phase_a=[Decimal(26)] * 3,
                    measured_at=utcnow(),
                )
            await rebalance(database, station_commands, cpo.key, site_id)
            async with database.tenant_transaction(cpo.key) as db_session:
                await queue_active_profile_pushes(db_session, cpo.key)
            answers.append(
                await client.get(
                    url,
                    params={
                        "duration": "900",
                        "response_url": peer.url("2.2.1/chargingprofiles/get/2"),
                    },
                )
            )
            await run_last()
            answers.append(
                await client.delete(
                    url, params={"response_url": peer.url("2.2.1/chargingprofiles/clear/3")}
                )
            )
            await run_last()
    report = await deliver(database, cpo, connected.partner_id, settings.secret_key)
    for answer in answers:
        assert validate_envelope(answer.json(), "ChargingProfileResponse") == []
        assert answer.json()["data"] == {"result": "ACCEPTED", "timeout": 60}
    assert report.failed == 0
    assert peer.violations == []
    pushed = [p for p in peer.pushes if p.module == "chargingprofiles"]
    assert [(p.method, p.path, p.body.get("result")) for p in pushed] == [
        ("POST", ("set", "1"), "ACCEPTED"),
        ("PUT", (str(session_id),), None),
        ("POST", ("get", "2"), "ACCEPTED"),
        ("POST", ("clear", "3"), "ACCEPTED"),
    ]
    assert pushed[1].body["charging_profile"]["charging_profile_period"] == [
        {"start_period": 0, "limit": 6.0}
    ]
    assert pushed[2].body["profile"]["charging_profile"]["charging_profile_period"][0] == {
        "start_period": 0,
        "limit": 16.0,
    }
    # The limits the charger was sent: its share, the peer's 12.5 A, the building's 6 A,
    # then its share of what is left once the peer's profile is cleared (still 6 A).
    tx = [
        p["cs_charging_profiles"]["charging_schedule"]["charging_schedule_period"][0]["limit"]
        for name, p in cp.received
        if name == "SetChargingProfile"
        and p["cs_charging_profiles"]["charging_profile_purpose"] == "TxProfile"
    ]
    assert tx == [32.0, 12.5, 6.0]
