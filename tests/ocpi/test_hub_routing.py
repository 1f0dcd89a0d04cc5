"""Message routing through a hub (transport_and_format "Message Routing", mod_hub_client_info):
the independent peer registers as the hub NL*HUB (role HUB alone) for the eMSP parties
DE*ABC and NL*XYZ, which it reports through HubClientInfo, and speaks for each of them by
the OCPI-from headers. Tokens are kept under their party, real-time authorization, command
results, sessions and CDRs go TO the party they concern, a pull names its party and sees
only that party's objects, responses turn the headers around, and a party the hub does not
serve (or that a direct eMSP is not) is refused with HTTP 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ocpp.v16 import call as call16
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update

from tests.ocpi.conftest import OcpiClientFactory
from tests.ocpi.emi3_support import roamable
from tests.ocpi.h6_support import registered_partner, rfid_token
from tests.ocpi.hub_peer import HubPeer, Routed, client_info, new_hub, party_token
from tests.ocpi.peer import Connected, connect
from tests.ocpi.roaming_support import (
    T0,
    Partner,
    add_roaming_token,
    add_site,
    add_tariff,
    charge,
    rate,
)
from tests.ocpi.test_peer_journey import jobs
from tests.ocpi.test_realtime_auth import _location_of, roaming
from tests.ocpp.conftest import add_ocpp_station, gateway, open_charger
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import OcpiCommand, OcpiToken
from voltlane.ocpi.cdr_tasks import push_cdrs_brand, push_sessions_brand
from voltlane.ocpi.command_tasks import fail_overdue_commands
from voltlane.ocpi.pushes import deliver
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext

__all__ = ["gateway", "jobs", "open_charger", "roaming"]

ABC = ("DE", "ABC")
XYZ = ("NL", "XYZ")
PLANNED = ("BE", "PLN")
HUB = ("NL", "HUB")
CPO = ("DE", "VLT")


def headers_of(response: Any) -> tuple[str | None, ...]:
    """The routing headers of a response: to country, to party, from country, from party."""
    return tuple(
        response.headers.get(f"OCPI-{side}-{name}")
        for side in ("to", "from")
        for name in ("country-code", "party-id")
    )


async def hub_with_parties(
    database: Database, ocpi_for: OcpiClientFactory, cpo: TenantInfo, httpserver: HTTPServer
) -> tuple[Connected, HubPeer]:
    """The hub registered with the brand; DE*ABC and NL*XYZ CONNECTED, BE*PLN PLANNED."""
    hub = new_hub(httpserver, ABC, XYZ)
    connected = await connect(database, ocpi_for, cpo, hub)
    base = connected.endpoints["hubclientinfo", "RECEIVER"]
    async with ocpi_for(cpo, connected.token) as client:
        for party, status in ((ABC, "CONNECTED"), (XYZ, "CONNECTED"), (PLANNED, "PLANNED")):
            put = await client.put(f"{base}/{party[0]}/{party[1]}", json=client_info(party, status))
            assert put.status_code == 201
    return connected, hub


async def ocpp_site(database: Database, cpo: TenantInfo, station_id: str) -> str:
    """A station real chargers can connect as, its EVSE published; its location's id."""
    await add_ocpp_station(database, cpo, station_id)
    await roamable(database, cpo)
    return await _location_of(database, cpo, station_id)


async def boot16(open_charger: Any, cpo: TenantInfo, station_id: str) -> Any:
    """A real OCPP 1.6 charger of the station, booted."""
    charger = await open_charger(cpo, station_id, "ocpp1.6")
    await charger.cp.call(
        call16.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22"),
        suppress=False,
    )
    return charger


async def test_a_hub_pushes_tokens_for_each_party_and_a_party_sees_only_its_own(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
) -> None:
    connected, hub = await hub_with_parties(database, ocpi_for, cpo, httpserver)
    tokens = connected.endpoints["tokens", "RECEIVER"]
    answers: dict[str, tuple[int, int, str | None]] = {}
    echoed: dict[str, tuple[str | None, ...]] = {}
    async with ocpi_for(cpo, connected.token) as client:

        async def put(name: str, party: tuple[str, str], uid: str, speaker: Any) -> None:
            hub.speaking_for = speaker
            response = await client.put(
                f"{tokens}/{party[0]}/{party[1]}/{uid}",
                json=party_token(party, uid),
                headers=hub.headers(),
            )
            body = response.json()
            answers[name] = (response.status_code, body["status_code"], body.get("status_message"))
            echoed[name] = headers_of(response)

        await put("abc", ABC, "ABC001", ABC)
        await put("xyz", XYZ, "XYZ001", XYZ)
        # A Broadcast Push: the hub itself in OCPI-from, the party in the URL.
        await put("broadcast", ABC, "ABC002", None)
        await put("xyz for abc", ABC, "ABC003", XYZ)
        await put("planned", PLANNED, "PLN001", PLANNED)
        await put("never reported", ("FR", "ZZZ"), "ZZZ001", ("FR", "ZZZ"))
        hub.speaking_for = XYZ
        other_party = await client.get(f"{tokens}/DE/ABC/ABC001", headers=hub.headers())
        hub.speaking_for = ABC
        own = await client.get(f"{tokens}/DE/ABC/ABC001", headers=hub.headers())
        misaddressed = await client.put(
            f"{tokens}/DE/ABC/ABC004",
            json=party_token(ABC, "ABC004"),
            headers={**hub.headers(), "OCPI-to-party-id": "OTH"},
        )
    assert answers == {
        "abc": (201, 1000, None),
        "xyz": (201, 1000, None),
        "broadcast": (201, 1000, None),
        "xyz for abc": (404, 2000, "DE/ABC is not a party of this connection."),
        "planned": (404, 2000, "BE*PLN is not a party of this connection."),
        "never reported": (404, 2000, "FR*ZZZ is not a party of this connection."),
    }
    # Responses turn the routing headers around: TO the party, FROM this CPO.
    assert echoed["abc"] == (*ABC, *CPO)
    assert echoed["xyz"] == (*XYZ, *CPO)
    assert echoed["broadcast"] == (*HUB, *CPO)
    assert (other_party.status_code, other_party.json()["status_code"]) == (404, 2000)
    assert own.json()["data"] == party_token(ABC, "ABC001")
    assert headers_of(own) == (*ABC, *CPO)
    assert (misaddressed.status_code, misaddressed.json()["status_message"]) == (
        404,
        "OCPI-to DE*OTH is not this CPO.",
    )
    async with database.tenant_session(cpo.key) as db_session:
        stored = (
            await db_session.execute(
                select(
                    OcpiToken.partner_id, OcpiToken.country_code, OcpiToken.party_id, OcpiToken.uid
                ).order_by(OcpiToken.uid)
            )
        ).all()
    assert [tuple(row) for row in stored] == [
        (connected.partner_id, "DE", "ABC", "ABC001"),
        (connected.partner_id, "DE", "ABC", "ABC002"),
        (connected.partner_id, "NL", "XYZ", "XYZ001"),
    ]
    assert hub.violations == []


async def test_a_direct_emsp_cannot_speak_for_another_party_by_headers(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_partner(database, settings, cpo)  # NL*EMS
    url = "/ocpi/2.2.1/tokens/NL/EMS/012345678"

    def routed(party: tuple[str, str]) -> dict[str, str]:
        return {
            "OCPI-from-country-code": party[0],
            "OCPI-from-party-id": party[1],
            "OCPI-to-country-code": "DE",
            "OCPI-to-party-id": "VLT",
        }

    async with ocpi_for(cpo, emsp.token) as client:
        as_xyz = await client.put(url, json=rfid_token(), headers=routed(XYZ))
        xyz_url = await client.put(
            "/ocpi/2.2.1/tokens/NL/XYZ/012345678",
            json=rfid_token(party_id="XYZ"),
            headers=routed(("NL", "EMS")),
        )
        sessions = await client.get(
            "/ocpi/2.2.1/sessions?date_from=2020-01-01T00:00:00Z", headers=routed(XYZ)
        )
        as_itself = await client.put(url, json=rfid_token(), headers=routed(("NL", "EMS")))
    assert (as_xyz.status_code, as_xyz.json()["status_message"]) == (
        404,
        "NL*XYZ is not a party of this connection.",
    )
    assert (xyz_url.status_code, xyz_url.json()["status_message"]) == (
        404,
        "NL/XYZ is not a party of this connection.",
    )
    assert (sessions.status_code, sessions.json()["status_code"]) == (404, 2000)
    assert (as_itself.status_code, as_itself.json()["status_code"]) == (201, 1000)
    assert headers_of(as_itself) == ("NL", "EMS", *CPO)
    async with database.tenant_session(cpo.key) as db_session:
        stored = (await db_session.scalars(select(OcpiToken.uid))).all()
    assert stored == ["012345678"]


async def test_authorization_and_command_results_go_to_the_tokens_party(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
    open_charger: Any,
    roaming: Any,
) -> None:
    connected, hub = await hub_with_parties(database, ocpi_for, cpo, httpserver)
    location_id = await ocpp_site(database, cpo, "HUB-RT-1")
    tokens = connected.endpoints["tokens", "RECEIVER"]
    hub.issued = {
        "ABC001": party_token(ABC, "ABC001"),
        # Never pushed: asked of the hub by an Open Routing Request.
        "XYZ777": party_token(XYZ, "XYZ777"),
        # The hub answers for a party it never reported: not taken.
        "ZZZ001": party_token(("FR", "ZZZ"), "ZZZ001"),
    }
    async with ocpi_for(cpo, connected.token) as client:
        hub.speaking_for = ABC
        await client.put(
            f"{tokens}/DE/ABC/ABC001", json=hub.issued["ABC001"], headers=hub.headers()
        )
        command = {
            "response_url": hub.url("2.2.1/commands/START_SESSION/1"),
            "token": hub.issued["ABC001"],
            "location_id": location_id,
        }
        started = await client.post(
            connected.endpoints["commands", "RECEIVER"] + "/START_SESSION",
            json=command,
            headers=hub.headers(),
        )
        hub.speaking_for = XYZ
        as_xyz = await client.post(
            connected.endpoints["commands", "RECEIVER"] + "/START_SESSION",
            json={**command, "response_url": hub.url("2.2.1/commands/START_SESSION/2")},
            headers=hub.headers(),
        )
    assert started.json()["data"]["result"] == "ACCEPTED"
    assert headers_of(started) == (*ABC, *CPO)
    assert as_xyz.json()["data"] == {
        "result": "REJECTED",
        "timeout": 60,
        "message": [{"language": "en", "text": "The token is not one of this eMSP's."}],
    }
    # The hub is asked about each card a real charger reads.
    charger = await boot16(open_charger, cpo, "HUB-RT-1")
    statuses = []
    # ABC001 was started by command (not asked again); the others are asked.
    for uid in ("ABC001", "XYZ777", "ZZZ001"):
        reply = await charger.cp.call(call16.Authorize(id_tag=uid), suppress=False)
        statuses.append(reply.id_tag_info["status"])
    # The command's result is owed to DE*ABC, which sent it.
    async with database.tenant_transaction(cpo.key) as db_session:
        await db_session.execute(
            update(OcpiCommand).values(created_at=utcnow() - timedelta(hours=1))
        )
        owed = await fail_overdue_commands(db_session, cpo.key)
    report = await deliver(database, cpo, connected.partner_id, settings.secret_key)
    assert statuses == ["Accepted", "Accepted", "Invalid"]
    assert (owed, report.failed, report.waiting) == (1, 0, 0)
    assert [r for r in hub.routed if r.path.startswith(("tokens", "commands"))] == [
        Routed("POST", "tokens/XYZ777/authorize", None),
        Routed("POST", "tokens/ZZZ001/authorize", None),
        Routed("POST", "commands/START_SESSION/1", ABC),
    ]
    async with database.tenant_session(cpo.key) as db_session:
        stored = (
            await db_session.execute(
                select(OcpiToken.country_code, OcpiToken.party_id, OcpiToken.uid).order_by(
                    OcpiToken.uid
                )
            )
        ).all()
    assert [tuple(row) for row in stored] == [("DE", "ABC", "ABC001"), ("NL", "XYZ", "XYZ777")]
    assert hub.violations == []


async def test_a_pushed_token_is_asked_of_the_hub_to_its_party(
    database: Database,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
    open_charger: Any,
    roaming: Any,
) -> None:
    connected, hub = await hub_with_parties(database, ocpi_for, cpo, httpserver)
    await ocpp_site(database, cpo, "HUB-RT-2")
    hub.issued = {"XYZ001": party_token(XYZ, "XYZ001")}
    async with ocpi_for(cpo, connected.token) as client:
        hub.speaking_for = XYZ
        await client.put(
            f"{connected.endpoints['tokens', 'RECEIVER']}/NL/XYZ/XYZ001",
            json=hub.issued["XYZ001"],
            headers=hub.headers(),
        )
    charger = await boot16(open_charger, cpo, "HUB-RT-2")
    reply = await charger.cp.call(call16.Authorize(id_tag="XYZ001"), suppress=False)
    assert reply.id_tag_info == {"status": "Accepted"}
    (asked,) = [r for r in hub.routed if r.path.startswith("tokens")]
    assert asked == Routed("POST", "tokens/XYZ001/authorize", XYZ)
    assert hub.violations == []


async def test_sessions_and_cdrs_go_to_their_party_and_a_pull_sees_one_partys_only(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
    jobs: JobContext,
) -> None:
    connected, hub = await hub_with_parties(database, ocpi_for, cpo, httpserver)
    site = await add_site(database, cpo, "HUB-CDR-1")
    await add_tariff(database, cpo, "PUBLIC-049", "0.49")
    charged = {}
    for party, uid, start in ((ABC, "ABC001", T0), (XYZ, "XYZ001", T0 + timedelta(hours=2))):
        as_party = Partner(connected.partner_id, connected.token, *party)
        token_id = await add_roaming_token(database, cpo, as_party, uid)
        session = await charge(
            database, cpo, site, id_tag=uid, roaming_token_id=token_id, start=start
        )
        charged[party] = (str(session), str(await rate(database, cpo, session)))

    async def push_round(xyz_status: str) -> list[tuple[str, str, Any]]:
        """NL*XYZ reported in ``xyz_status``, then the reconciliation and the delivery:
        what reached the hub's sessions and cdrs receivers in this round."""
        async with ocpi_for(cpo, connected.token) as client:
            await client.put(
                f"{connected.endpoints['hubclientinfo', 'RECEIVER']}/NL/XYZ",
                json=client_info(XYZ, xyz_status),
            )
        before = len(hub.routed)
        await push_sessions_brand(jobs, tenant=cpo.key)
        await push_cdrs_brand(jobs, tenant=cpo.key)
        report = await deliver(database, cpo, connected.partner_id, settings.secret_key)
        assert (report.failed, report.waiting) == (0, 0)
        return [
            (r.method, r.path, r.to)
            for r in hub.routed[before:]
            if r.path.startswith(("sessions", "cdrs"))
        ]

    # An OFFLINE party is not pushed to (mod_hub_client_info); once CONNECTED it is.
    offline = await push_round("OFFLINE")
    connected_again = await push_round("CONNECTED")
    assert offline == [
        ("PUT", f"sessions/DE/VLT/{charged[ABC][0]}", ABC),
        ("POST", "cdrs", ABC),
    ]
    assert connected_again == [
        ("PUT", f"sessions/DE/VLT/{charged[XYZ][0]}", XYZ),
        ("POST", "cdrs", XYZ),
    ]
    pushed = [
        (r.method, r.path, r.to) for r in hub.routed if r.path.startswith(("sessions", "cdrs"))
    ]
    assert sorted(pushed, key=str) == sorted(
        [
            ("PUT", f"sessions/DE/VLT/{charged[ABC][0]}", ABC),
            ("PUT", f"sessions/DE/VLT/{charged[XYZ][0]}", XYZ),
            ("POST", "cdrs", ABC),
            ("POST", "cdrs", XYZ),
        ],
        key=str,
    )
    # The location the brand added went to the hub itself (a Broadcast Push).
    assert {r.to for r in hub.routed if r.path.startswith("locations")} == {HUB}
    cdr_owners = {
        (p.body["cdr_token"]["country_code"], p.body["cdr_token"]["party_id"]): p.body["id"]
        for p in hub.pushes
        if p.module == "cdrs"
    }
    assert cdr_owners == {ABC: charged[ABC][1], XYZ: charged[XYZ][1]}

    pulled: dict[Any, tuple[list[str], list[str]]] = {}
    async with ocpi_for(cpo, connected.token) as client:
        for speaker in (ABC, XYZ, None):
            hub.speaking_for = speaker
            sessions = await hub.pull(
                client,
                connected.endpoints["sessions", "SENDER"],
                "Session",
                limit=10,
                date_from="2020-01-01T00:00:00Z",
            )
            cdrs = await hub.pull(client, connected.endpoints["cdrs", "SENDER"], "CDR", limit=10)
            pulled[speaker] = (
                [i for page in sessions for i in page.ids],
                [i for page in cdrs for i in page.ids],
            )
    assert pulled[ABC] == ([charged[ABC][0]], [charged[ABC][1]])
    assert pulled[XYZ] == ([charged[XYZ][0]], [charged[XYZ][1]])
    # The hub itself (no party named) reads all its parties' objects.
    assert pulled[None] == (
        [charged[ABC][0], charged[XYZ][0]],
        [charged[ABC][1], charged[XYZ][1]],
    )
    # Every response was checked by the peer: TO the party that asked, FROM this CPO.
    assert hub.violations == []


async def test_a_party_cannot_stop_or_steer_another_partys_session_through_the_hub(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory, httpserver: HTTPServer
) -> None:
    connected, hub = await hub_with_parties(database, ocpi_for, cpo, httpserver)
    site = await add_site(database, cpo, "HUB-STOP-1")
    token_id = await add_roaming_token(
        database, cpo, Partner(connected.partner_id, connected.token, *ABC), "ABC001"
    )
    session_id = str(
        await charge(database, cpo, site, id_tag="ABC001", roaming_token_id=token_id, stop=False)
    )
    commands = connected.endpoints["commands", "RECEIVER"]
    stop = {"response_url": hub.url("2.2.1/commands/STOP_SESSION/1"), "session_id": session_id}
    preferences = f"{connected.endpoints['sessions', 'SENDER']}/{session_id}/charging_preferences"
    answers = {}
    async with ocpi_for(cpo, connected.token) as client:
        for speaker in (XYZ, ABC):
            hub.speaking_for = speaker
            stopped = await client.post(
                f"{commands}/STOP_SESSION", json=stop, headers=hub.headers()
            )
            steered = await client.put(
                preferences, json={"profile_type": "FAST"}, headers=hub.headers()
            )
            answers[speaker] = (
                stopped.json()["data"]["result"],
                steered.status_code,
                steered.json().get("data"),
            )
    assert answers == {
        XYZ: ("UNKNOWN_SESSION", 404, None),
        ABC: ("ACCEPTED", 200, "NOT_POSSIBLE"),
    }
    assert hub.violations == []


async def test_a_hub_that_lists_its_parties_as_roles_speaks_for_them_and_gets_broadcasts(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
) -> None:
    hub = new_hub(httpserver, ABC, XYZ)
    hub.parties_as_roles = True
    connected = await connect(database, ocpi_for, cpo, hub)
    async with ocpi_for(cpo, connected.token) as client:
        hub.speaking_for = XYZ
        put = await client.put(
            f"{connected.endpoints['tokens', 'RECEIVER']}/NL/XYZ/XYZ001",
            json=party_token(XYZ, "XYZ001"),
            headers=hub.headers(),
        )
    await add_site(database, cpo, "HUB-ROLES-1")
    report = await deliver(database, cpo, connected.partner_id, settings.secret_key)
    assert (put.status_code, headers_of(put)) == (201, (*XYZ, *CPO))
    assert (report.sent, report.failed) == (1, 0)
    assert [(r.method, r.to) for r in hub.routed if r.path.startswith("locations")] == [
        ("PUT", HUB)
    ]
    assert hub.violations == []
