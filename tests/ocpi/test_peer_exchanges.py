"""More exchanges with the independent eMSP peer, each message checked against the spec:
we register with it (and rotate and end the connection), it keeps a full token with us
and patches it, reads a credited CDR, and sets charging preferences."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.ocpi.conftest import OcpiClientFactory
from tests.ocpi.peer import connect, new_peer
from tests.ocpi.roaming_support import (
    T0,
    Partner,
    add_roaming_token,
    add_site,
    add_tariff,
    charge,
    rate,
)
from tests.ocpi.spec_rules import validate_envelope
from voltlane import billing
from voltlane.core.db import Database
from voltlane.ocpi.cdr_tasks import push_cdrs_brand
from voltlane.ocpi.pushes import deliver
from voltlane.ocpi.registration import register_with_partner, rotate_our_token, unregister_partner
from voltlane.settings import Settings
from voltlane.station import service as stations
from voltlane.station.schemas import LocationUpdate
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext

EXAMPLES = Path(__file__).parent / "spec_examples"


async def test_the_peer_keeps_a_full_token_with_us_and_patches_it(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory, httpserver: HTTPServer
) -> None:
    peer = new_peer(httpserver, "exa", "EXA")
    connected = await connect(database, ocpi_for, cpo, peer)
    token = json.loads((EXAMPLES / "token_example_2_full_rfid.json").read_text())
    token |= {"country_code": "NL", "party_id": "EXA"}
    patch = json.loads((EXAMPLES / "token_patch_example.json").read_text())
    url = f"{connected.endpoints['tokens', 'RECEIVER']}/NL/EXA/{token['uid']}"
    async with ocpi_for(cpo, connected.token) as client:
        put = await client.put(url, json=token)
        kept = await peer.get(client, url, "Token", many=False)
        patched = await client.patch(url, json=patch)
        after = await peer.get(client, url, "Token", many=False)
    assert peer.violations == []
    for response in (put, patched):
        assert validate_envelope(response.json()) == []
        assert response.json()["status_code"] == 1000
    assert kept == token
    assert after == token | patch


async def test_we_register_with_the_peer_rotate_our_token_and_end_as_the_spec_says(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
) -> None:
    peer = new_peer(httpserver, "exa", "EXA")
    (token_a,) = peer.accepted
    our_url = f"http://{cpo.slug}.localhost:8000/ocpi/versions"
    partner_id = await register_with_partner(
        database,
        cpo,
        settings.secret_key,
        name="EXA Mobility",
        versions_url=peer.versions_url,
        token_a=token_a,
        our_versions_url=our_url,
    )
    # The peer reads our versions and endpoints with the token we gave it.
    given = peer.received[0]
    async with ocpi_for(cpo, given["token"]) as client:
        versions = await peer.get(client, given["url"], "Version", many=True)
        (v221,) = [v["url"] for v in versions if v["version"] == "2.2.1"]
        await peer.get(client, v221, "VersionDetails", many=False)
        await peer.get(client, f"{v221}/credentials", "Credentials", many=False)
    await rotate_our_token(database, cpo, settings.secret_key, partner_id, our_versions_url=our_url)
    assert await unregister_partner(database, cpo, settings.secret_key, partner_id) is None
    assert peer.violations == []
    # Registered (POST), rotated (PUT): two credentials objects, each with a new token.
    assert len(peer.received) == 2
    assert peer.received[0]["token"] != peer.received[1]["token"]
    assert peer.deleted == 1


async def test_the_peer_takes_a_cdr_and_its_credit_and_asks_for_charging_preferences(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
) -> None:
    peer = new_peer(httpserver, "exa", "EXA")
    connected = await connect(database, ocpi_for, cpo, peer)
    partner = Partner(connected.partner_id, connected.token, "NL", "EXA")
    await add_tariff(database, cpo, "PUBLIC-049", "0.49")
    site = await add_site(database, cpo, "PEER-CDR-1")
    token_id = await add_roaming_token(database, cpo, partner, "04AABB")
    session_id = await charge(database, cpo, site, id_tag="04AABB", roaming_token_id=token_id)
    cdr_id = await rate(database, cpo, session_id)
    running = await charge(
        database,
        cpo,
        site,
        id_tag="04AABB",
        roaming_token_id=token_id,
        stop=False,
        start=T0 + timedelta(hours=2),
    )
    async with database.tenant_transaction(cpo.key) as db_session:
        credit = await billing.credit_cdr(db_session, cdr_id, reason="meter corrected")
    await push_cdrs_brand(JobContext(database=database, settings=settings), tenant=cpo.key)
    await deliver(database, cpo, connected.partner_id, settings.secret_key)
    sessions = connected.endpoints["sessions", "SENDER"]
    async with ocpi_for(cpo, connected.token) as client:
        (page,) = await peer.pull(client, connected.endpoints["cdrs", "SENDER"], "CDR", limit=10)
        preferences = await client.put(
            f"{sessions}/{running}/charging_preferences",
            json={"profile_type": "FAST", "departure_time": "2026-03-02T18:00:00Z"},
        )
    assert peer.violations == []
    posted = [p.body for p in peer.pushes if p.module == "cdrs"]
    assert [(c["id"], c.get("credit"), c.get("credit_reference_id")) for c in posted] == [
        (str(cdr_id), None, None),
        (str(credit.id), True, str(cdr_id)),
    ]
    assert page.objects == posted
    assert validate_envelope(preferences.json(), "ChargingPreferencesResponse") == []
    assert preferences.json()["data"] == "NOT_POSSIBLE"


async def test_a_withdrawn_location_reaches_the_peer_unpublished_and_leaves_its_pulls(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    httpserver: HTTPServer,
) -> None:
    peer = new_peer(httpserver, "exa", "EXA")
    connected = await connect(database, ocpi_for, cpo, peer)
    kept, withdrawn = (
        await add_site(database, cpo, "KEPT-1"),
        await add_site(database, cpo, "GONE-1"),
    )
    async with database.tenant_transaction(cpo.key) as db_session:
        await stations.update_location(
            db_session, withdrawn.location_id, LocationUpdate(publish=False)
        )
    await deliver(database, cpo, connected.partner_id, settings.secret_key)
    async with ocpi_for(cpo, connected.token) as client:
        (page,) = await peer.pull(
            client, connected.endpoints["locations", "SENDER"], "Location", limit=10
        )
    assert peer.violations == []
    last = {p.path[2]: p.body for p in peer.pushes if p.module == "locations"}
    assert {key: body["publish"] for key, body in last.items()} == {
        str(kept.location_id): True,
        str(withdrawn.location_id): False,
    }
    assert page.ids == [str(kept.location_id)]
