"""Real-time authorization against the independent eMSP peer: a real OCPP 1.6 charger
presents the peer's drivers' cards, we ask the peer (its tokens sender interface), and
the peer checks each of our requests against the spec."""

from __future__ import annotations

from typing import Any

from ocpp.v16 import call
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.ocpi.conftest import OcpiClientFactory
from tests.ocpi.emi3_support import roamable
from tests.ocpi.peer import Pushed, connect, new_peer
from tests.ocpi.test_realtime_auth import roaming
from tests.ocpp.conftest import add_ocpp_station, gateway, open_charger
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingStation
from voltlane.tenancy import TenantInfo

__all__ = ["gateway", "open_charger", "roaming"]


def driver_token(uid: str) -> dict[str, Any]:
    return {
        "country_code": "NL",
        "party_id": "EXA",
        "uid": uid,
        "type": "RFID",
        "contract_id": f"NL-EXA-C{uid}",
        "issuer": "EXA Mobility",
        "valid": True,
        # Never decided from the whitelist: every use is asked of the eMSP.
        "whitelist": "NEVER",
        "last_updated": "2026-03-01T08:00:00Z",
    }


async def test_we_ask_the_peer_about_its_tokens_as_the_spec_says_and_follow_its_answer(
    database: Database,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
    open_charger: Any,
    roaming: Any,
) -> None:
    peer = new_peer(httpserver, "exa", "EXA")
    connected = await connect(database, ocpi_for, cpo, peer)
    await add_ocpp_station(database, cpo, "PEER-RT-1")
    await roamable(database, cpo)
    async with database.tenant_session(cpo.key) as db_session:
        location_id = str(
            await db_session.scalar(
                select(ChargingStation.location_id).where(ChargingStation.station_id == "PEER-RT-1")
            )
        )
    token = driver_token("04BEEF")
    peer.issued["04BEEF"] = token
    async with ocpi_for(cpo, connected.token) as client:
        put = await client.put(
            f"{connected.endpoints['tokens', 'RECEIVER']}/NL/EXA/04BEEF", json=token
        )
    assert put.status_code == 201

    charger = await open_charger(cpo, "PEER-RT-1", "ocpp1.6")
    await charger.cp.call(
        call.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22"),
        suppress=False,
    )
    known = await charger.cp.call(call.Authorize(id_tag="04BEEF"), suppress=False)
    # A card neither pushed nor known to the peer: asked, answered 2004, refused.
    unknown = await charger.cp.call(call.Authorize(id_tag="04DEAD"), suppress=False)
    started = await charger.cp.call(
        call.StartTransaction(
            connector_id=1, id_tag="04BEEF", meter_start=0, timestamp="2026-11-25T03:00:00Z"
        ),
        suppress=False,
    )

    assert (known.id_tag_info["status"], unknown.id_tag_info["status"]) == ("Accepted", "Invalid")
    assert started.id_tag_info["status"] == "Accepted"
    assert peer.violations == []
    asked = [p for p in peer.pushes if p.module == "tokens"]
    assert asked == [
        Pushed("POST", "tokens", ("04BEEF", "authorize"), {"location_id": location_id}),
        Pushed("POST", "tokens", ("04DEAD", "authorize"), {"location_id": location_id}),
    ]
    async with ocpi_for(cpo, connected.token) as client:
        (page,) = await peer.pull(
            client,
            connected.endpoints["sessions", "SENDER"],
            "Session",
            limit=10,
            date_from="2026-01-01T00:00:00Z",
        )
    assert peer.violations == []
    (session,) = page.objects
    # The peer's reference for the one authorization it allowed reached the session.
    assert session["authorization_reference"] == "EXA-AUTH-0"
    assert session["cdr_token"] == {
        key: token[key] for key in ("country_code", "party_id", "uid", "type", "contract_id")
    }
