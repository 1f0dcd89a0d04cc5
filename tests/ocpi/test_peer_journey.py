"""An independent eMSP peer (tests/ocpi/peer.py, its rules transcribed from the spec in
tests/ocpi/spec_rules.py) goes through a whole roaming relationship with a brand over
real HTTP: it registers with token A, reads our versions and every sender module page by
page, receives our pushes, sends a token; every message is checked against the spec.
Other partners, of this brand and of another, see nothing of it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer

from tests.conftest import MakeBrand
from tests.factories import add_location
from tests.ocpi.conftest import OcpiClientFactory
from tests.ocpi.emi3_support import add_roaming_station
from tests.ocpi.peer import Connected, Page, connect, inconsistencies, new_peer
from tests.ocpi.roaming_support import (
    T0,
    Partner,
    Site,
    add_roaming_token,
    add_site,
    add_tariff,
    charge,
    rate,
    read_meter,
    stop_charge,
)
from tests.ocpi.spec_rules import validate_envelope
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.ocpi.cdr_tasks import push_cdrs_brand, push_sessions_brand
from voltlane.ocpi.pushes import deliver
from voltlane.ocpi.roaming_pushes import queue_session_pushes
from voltlane.settings import Settings
from voltlane.station import operations
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Ocpi
from voltlane.worker import JobContext

SINCE = "2026-01-01T00:00:00Z"
FINISHED_AFTER = timedelta(minutes=37, seconds=13)
OWN_AFTER = timedelta(hours=4)


async def pull_all(
    ocpi_for: OcpiClientFactory, brand: TenantInfo, connected: Connected, limit: int
) -> dict[str, list[Page]]:
    """Every sender module of ours, as the peer reads it with ``limit`` a page."""
    peer, url = connected.peer, connected.endpoints
    async with ocpi_for(brand, connected.token) as client:
        return {
            "locations": await peer.pull(
                client, url["locations", "SENDER"], "Location", limit=limit
            ),
            "tariffs": await peer.pull(client, url["tariffs", "SENDER"], "Tariff", limit=limit),
            "sessions": await peer.pull(
                client, url["sessions", "SENDER"], "Session", limit=limit, date_from=SINCE
            ),
            "cdrs": await peer.pull(client, url["cdrs", "SENDER"], "CDR", limit=limit),
        }


def ids_of(pages: list[Page]) -> list[str]:
    return [item for page in pages for item in page.ids]


def shape(pages: list[Page]) -> list[tuple[int, int | None, int | None, bool]]:
    """Per page: objects, X-Total-Count, X-Limit, whether a next Link came."""
    return [(len(p.ids), p.total, p.x_limit, p.next_url is not None) for p in pages]


@dataclass(frozen=True, slots=True)
class Network:
    site: Site  # the first location, where the sessions charge
    locations: list[str]  # in creation order
    finished: uuid.UUID  # the peer's driver's session, rated
    running: uuid.UUID  # the peer's driver's session, still charging
    own: uuid.UUID  # the brand's own driver's session
    cdr: uuid.UUID


async def build_network(
    database: Database, brand: TenantInfo, partner: Partner, tariff_code: str
) -> Network:
    """Five published locations, a public and the partner's roaming tariff, two sessions
    of the partner's driver 04AABB (one finished and rated) and one of the brand's own."""
    site = await add_site(database, brand, "JOURNEY-1")
    locations = [str(site.location_id)]
    for number in range(2, 6):
        async with database.tenant_transaction(brand.key) as db_session:
            location = await add_location(db_session, f"Platz {number}")
            await add_roaming_station(db_session, brand, location, f"JOURNEY-{number}")
            locations.append(str(location.id))
    await add_tariff(database, brand, "PUBLIC-049", "0.49")
    await add_tariff(database, brand, "PUBLIC-DC", "0.69")
    await add_tariff(
        database,
        brand,
        tariff_code,
        "0.40",
        segment=SegmentKind.ROAMING,
        segment_ref=f"{partner.country_code}*{partner.party_id}",
    )
    token_id = await add_roaming_token(database, brand, partner, "04AABB")
    finished = await charge(
        database, brand, site, id_tag="04AABB", roaming_token_id=token_id, stop=False
    )
    # 37 min 13 s: hours that need more than the spec's 4 decimals unless rounded.
    await stop_charge(database, brand, site, finished, T0 + FINISHED_AFTER, 12_000)
    running = await charge(
        database,
        brand,
        site,
        id_tag="04AABB",
        roaming_token_id=token_id,
        stop=False,
        start=T0 + timedelta(hours=2),
        authorization_reference="AUTH-2",
    )
    own = await charge(
        database,
        brand,
        site,
        id_tag="OWN-CARD",
        roaming_token_id=None,
        start=T0 + timedelta(hours=4),
    )
    cdr = await rate(database, brand, finished)
    await rate(database, brand, own)
    return Network(site, locations, finished, running, own, cdr)


@pytest.fixture
def jobs(database: Database, settings: Settings) -> JobContext:
    return JobContext(database=database, settings=settings)


async def test_an_emsp_peer_registers_pulls_every_module_receives_pushes_and_sends_a_token(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
    jobs: JobContext,
) -> None:
    peer = new_peer(httpserver, "exa", "EXA")
    connected = await connect(database, ocpi_for, cpo, peer)
    assert peer.violations == []
    assert {
        ("credentials", "SENDER"),
        ("locations", "SENDER"),
        ("tariffs", "SENDER"),
        ("sessions", "SENDER"),
        ("cdrs", "SENDER"),
        ("tokens", "RECEIVER"),
    } <= set(connected.endpoints)
    partner = Partner(connected.partner_id, connected.token, "NL", "EXA")
    network = await build_network(database, cpo, partner, "ROAM-EXA")

    pulled = await pull_all(ocpi_for, cpo, connected, limit=2)
    assert peer.violations == []
    assert shape(pulled["locations"]) == [
        (2, 5, 1000, True),
        (2, 5, 1000, True),
        (1, 5, 1000, False),
    ]
    assert ids_of(pulled["locations"]) == network.locations
    assert shape(pulled["tariffs"]) == [(2, 3, 1000, True), (1, 3, 1000, False)]
    assert sorted(ids_of(pulled["tariffs"])) == ["PUBLIC-049", "PUBLIC-DC", "ROAM-EXA"]
    # Its driver's two sessions and one CDR; never the brand's own driver's.
    assert shape(pulled["sessions"]) == [(2, 2, 1000, False)]
    assert sorted(ids_of(pulled["sessions"])) == sorted(
        [str(network.finished), str(network.running)]
    )
    assert shape(pulled["cdrs"]) == [(1, 1, 1000, False)]
    assert ids_of(pulled["cdrs"]) == [str(network.cdr)]
    # What the objects say of each other holds: tariffs, locations, EVSEs, connectors.
    objects = {
        module: [o for page in pages for o in page.objects] for module, pages in pulled.items()
    }
    assert inconsistencies(**objects) == []
    # A window of last_updated: each page within it, each next Link keeping it.
    first_update = min(o["last_updated"] for p in pulled["locations"] for o in p.objects)
    async with ocpi_for(cpo, connected.token) as client:
        window = await peer.pull(
            client,
            connected.endpoints["locations", "SENDER"],
            "Location",
            limit=2,
            date_from=first_update,
            date_to="2099-01-01T00:00:00Z",
        )
        before = await peer.pull(
            client, connected.endpoints["locations", "SENDER"], "Location", limit=2, date_to=SINCE
        )
    assert ids_of(window) == network.locations
    assert shape(before) == [(0, 0, 1000, False)]
    # A page of one follows the Link through both sessions.
    single = await pull_all(ocpi_for, cpo, connected, limit=1)
    assert shape(single["sessions"]) == [(1, 2, 1000, True), (1, 2, 1000, False)]
    assert sorted(ids_of(single["sessions"])) == sorted(ids_of(pulled["sessions"]))
    assert peer.violations == []

    # Our pushes reach its receivers: every location (put when created), both sessions and
    # the CDR, each checked by the peer against the spec.
    await push_sessions_brand(jobs, tenant=cpo.key)
    await push_cdrs_brand(jobs, tenant=cpo.key)
    report = await deliver(database, cpo, connected.partner_id, settings.secret_key)
    assert (report.failed, report.waiting) == (0, 0)
    assert peer.violations == []
    pushed = {(p.method, p.module, p.path) for p in peer.pushes}
    assert {p for p in pushed if p[1] != "locations"} == {
        ("PUT", "sessions", ("DE", "VLT", str(network.finished))),
        ("PUT", "sessions", ("DE", "VLT", str(network.running))),
        ("POST", "cdrs", ()),
    }
    assert {p[2][2] for p in pushed if p[1] == "locations"} == set(network.locations)
    assert {p[0] for p in pushed if p[1] == "locations"} <= {"PUT", "PATCH"}
    statuses = {p.path[2]: p.body["status"] for p in peer.pushes if p.module == "sessions"}
    assert statuses == {str(network.finished): "COMPLETED", str(network.running): "ACTIVE"}
    # 37 min 13 s is 0.620278 h: numbers carry 4 decimals (types.asciidoc), as does the
    # peak of 6 kWh in the last 7 min 13 s (49.8845 kW).
    (cdr,) = [p.body for p in peer.pushes if p.module == "cdrs"]
    assert (cdr["id"], cdr["total_time"], cdr["total_energy"]) == (str(network.cdr), 0.6203, 12)
    assert cdr["charging_periods"][0]["dimensions"] == [
        {"type": "ENERGY", "volume": 12},
        {"type": "TIME", "volume": 0.6203},
        {"type": "MIN_POWER", "volume": 12},
        {"type": "MAX_POWER", "volume": 49.8845},
    ]

    # The peer pushes its driver's token; we take it and give it back as it was sent.
    token = {
        "country_code": "NL",
        "party_id": "EXA",
        "uid": "04EE11",
        "type": "RFID",
        "contract_id": "NL-EXA-C04EE11",
        "issuer": "EXA Mobility",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2026-03-01T08:00:00Z",
    }
    url = f"{connected.endpoints['tokens', 'RECEIVER']}/NL/EXA/04EE11"
    async with ocpi_for(cpo, connected.token) as client:
        put = await client.put(url, json=token)
        read = await peer.get(client, url, "Token", many=False)
    assert put.status_code == 201
    assert validate_envelope(put.json()) == []
    assert put.json()["status_code"] == 1000
    assert read == token
    assert peer.violations == []


async def test_partners_see_nothing_of_another_partners_or_another_brands_objects(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    make_brand: MakeBrand,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
    jobs: JobContext,
) -> None:
    first = await connect(database, ocpi_for, cpo, new_peer(httpserver, "exa", "EXA"))
    second = await connect(database, ocpi_for, cpo, new_peer(httpserver, "oth", "OTH"))
    network = await build_network(
        database, cpo, Partner(first.partner_id, first.token, "NL", "EXA"), "ROAM-EXA"
    )
    other_brand = await make_brand(ocpi=Ocpi(country_code="DE", party_id="VLB"))
    stranger = await connect(database, ocpi_for, other_brand, new_peer(httpserver, "xyz", "XYZ"))
    async with database.tenant_transaction(other_brand.key) as db_session:
        location = await add_location(db_session, "Anderswo")
        await add_roaming_station(db_session, other_brand, location, "ELSEWHERE-1")

    # The second partner of the brand sees its locations and public tariffs, none of the
    # first partner's sessions, CDRs or roaming tariff.
    seen = await pull_all(ocpi_for, cpo, second, limit=10)
    assert ids_of(seen["locations"]) == network.locations
    assert sorted(ids_of(seen["tariffs"])) == ["PUBLIC-049", "PUBLIC-DC"]
    assert shape(seen["sessions"]) == [(0, 0, 1000, False)]
    assert shape(seen["cdrs"]) == [(0, 0, 1000, False)]
    # The other brand's partner sees that brand's location alone, and nothing else.
    elsewhere = await pull_all(ocpi_for, other_brand, stranger, limit=10)
    assert ids_of(elsewhere["locations"]) == [str(location.id)]
    assert [shape(elsewhere[m]) for m in ("tariffs", "sessions", "cdrs")] == [
        [(0, 0, 1000, False)]
    ] * 3
    # Nor can it read one of them by its id.
    async with ocpi_for(other_brand, stranger.token) as client:
        unknown = await client.get(
            f"{stranger.endpoints['locations', 'SENDER']}/{network.locations[0]}"
        )
    assert (unknown.status_code, unknown.json()["status_code"]) == (404, 2003)
    assert validate_envelope(unknown.json()) == []

    # Pushes: the first partner's sessions and CDR go to it alone.
    await push_sessions_brand(jobs, tenant=cpo.key)
    await push_cdrs_brand(jobs, tenant=cpo.key)
    for connected in (first, second):
        await deliver(database, cpo, connected.partner_id, settings.secret_key)
    await deliver(database, other_brand, stranger.partner_id, settings.secret_key)
    modules = {
        name: sorted({p.module for p in c.peer.pushes})
        for name, c in (("first", first), ("second", second), ("stranger", stranger))
    }
    assert modules == {
        "first": ["cdrs", "locations", "sessions"],
        "second": ["locations"],
        "stranger": ["locations"],
    }
    assert {p.path[2] for p in second.peer.pushes} == set(network.locations)
    assert {p.path[2] for p in stranger.peer.pushes} == {str(location.id)}
    for connected in (first, second, stranger):
        assert connected.peer.violations == []


async def test_the_peer_takes_our_patches_and_reads_our_refusals_in_the_specs_format(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
    jobs: JobContext,
) -> None:
    peer = new_peer(httpserver, "exa", "EXA")
    connected = await connect(database, ocpi_for, cpo, peer)
    partner = Partner(connected.partner_id, connected.token, "NL", "EXA")
    network = await build_network(database, cpo, partner, "ROAM-EXA")
    await push_sessions_brand(jobs, tenant=cpo.key)
    await deliver(database, cpo, connected.partner_id, settings.secret_key)
    told = len(peer.pushes)

    # The charger reports a fault, and energy flows in the running session a minute later:
    # a PATCH of the EVSE's status and one of the session.
    async with database.tenant_transaction(cpo.key) as db_session:
        await operations.record_status(
            db_session,
            network.site.station.id,
            evse_id=1,
            connector_id=1,
            status="Faulted",
            at=utcnow(),
            error_code="GroundFailure",
            payload={},
        )
    running_at = T0 + timedelta(hours=2, minutes=45)
    await read_meter(database, cpo, network.site, network.running, running_at, 9_000)
    async with database.tenant_transaction(cpo.key) as db_session:
        later = utcnow() + timedelta(seconds=61)
        assert await queue_session_pushes(db_session, cpo, now=later) == 1
    await deliver(database, cpo, connected.partner_id, settings.secret_key)
    assert peer.violations == []
    patches = [(p.method, p.module, p.path, p.body) for p in peer.pushes[told:]]
    assert [(method, module, path[2]) for method, module, path, _ in patches] == [
        ("PATCH", "locations", network.locations[0]),
        ("PATCH", "sessions", str(network.running)),
    ]
    assert set(patches[0][3]) == {"status", "last_updated"}
    assert patches[0][3]["status"] == "OUTOFORDER"
    assert patches[1][3]["kwh"] == 9

    # Its mistakes come back in the spec's envelope: 2001 naming the fault, 2003 for an
    # unknown location (HTTP 404), 2004 for an unknown token.
    url = connected.endpoints
    async with ocpi_for(cpo, connected.token) as client:
        refusals = [
            await client.get(url["sessions", "SENDER"]),
            await client.get(url["locations", "SENDER"], params={"limit": "many"}),
            await client.get(f"{url['locations', 'SENDER']}/{uuid.uuid4()}"),
            await client.put(
                f"{url['tokens', 'RECEIVER']}/NL/EXA/04FF00",
                json={"uid": "04FF00", "whitelist": "SOMETIMES"},
            ),
            await client.get(f"{url['tokens', 'RECEIVER']}/NL/EXA/04FF00"),
        ]
    for response in refusals:
        assert validate_envelope(response.json()) == [], response.json()
    assert [(r.status_code, r.json()["status_code"]) for r in refusals] == [
        (200, 2001),
        (200, 2001),
        (404, 2003),
        (200, 2001),
        (404, 2004),
    ]
    assert refusals[0].json()["status_message"] == "date_from is required."
