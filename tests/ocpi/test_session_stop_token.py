"""A roaming session stopped with another partner's card stays the session of the partner
whose card started it: its token, roaming link, price, CDR and pushes are the starter's;
the stopping card is recorded and answered with its own status (OCPP 1.6 StopTransaction
idTag, 2.0.1 TransactionEvent Ended with triggerReason StopAuthorized)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update

from tests.charging.test_stop_token import charge_16, charge_201
from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.emi3_support import roamable
from tests.ocpi.roaming_support import (
    Partner,
    add_partner,
    add_roaming_token,
    add_tariff,
    rate,
)
from tests.ocpi.test_realtime_auth import roaming
from tests.ocpp.conftest import add_ocpp_station, gateway, open_charger
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import Cdr, ChargingSession, OcpiPush, OcpiToken
from voltlane.ocpi.pushes import deliver
from voltlane.ocpi.roaming_pushes import queue_cdr_posts, queue_session_pushes
from voltlane.settings import Settings
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo

__all__ = ["gateway", "open_charger", "roaming"]

OK = {"status_code": 1000, "timestamp": "2026-11-25T03:00:00Z"}
# 12 kWh are charged: MSP's roaming price 0.40 makes 4.80 + 19 % VAT = 5.71; OTH's 0.30
# would make 3.60.


async def _partners(
    database: Database, settings: Settings, cpo: TenantInfo, httpserver: HTTPServer
) -> tuple[Partner, Partner]:
    """MSP (driver card 04AABB) and OTH (driver card 04CCDD), each with sessions and cdrs
    receivers of its own, whitelisted ALWAYS (decided without asking), and each with its
    own roaming price."""
    msp = await add_partner(
        database, settings.secret_key, cpo, party_id="MSP", receiver_base=httpserver.url_for("/msp")
    )
    oth = await add_partner(
        database, settings.secret_key, cpo, party_id="OTH", receiver_base=httpserver.url_for("/oth")
    )
    for partner, uid in ((msp, "04AABB"), (oth, "04CCDD")):
        token_id = await add_roaming_token(database, cpo, partner, uid)
        async with database.tenant_transaction(cpo.key) as db_session:
            await db_session.execute(
                update(OcpiToken).where(OcpiToken.id == token_id).values(whitelist="ALWAYS")
            )
    await add_tariff(database, cpo, "PUBLIC-049", "0.49")
    await add_tariff(
        database, cpo, "ROAM-MSP", "0.40", segment=SegmentKind.ROAMING, segment_ref="NL*MSP"
    )
    await add_tariff(
        database, cpo, "ROAM-OTH", "0.30", segment=SegmentKind.ROAMING, segment_ref="NL*OTH"
    )
    return msp, oth


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_a_session_started_by_one_partners_card_and_stopped_by_anothers_stays_the_starters(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    httpserver: HTTPServer,
    open_charger: Any,
    ocpi_for: OcpiClientFactory,
    roaming: Any,
    protocol: str,
) -> None:
    del roaming
    msp, oth = await _partners(database, settings, cpo, httpserver)
    station_id = "STOP-16" if protocol == "ocpp1.6" else "STOP-201"
    await add_ocpp_station(database, cpo, station_id)
    await roamable(database, cpo)
    if protocol == "ocpp1.6":
        answers = await charge_16(open_charger, cpo, station_id, "04AABB", "04CCDD")
    else:
        *answers, total_cost = await charge_201(open_charger, cpo, station_id, "04AABB", "04CCDD")
        # MSP's price for the charger's display.
        assert total_cost == 5.71
    # OTH's card is answered with its own status.
    assert tuple(answers) == ("Accepted", "Accepted")

    async with database.tenant_session(cpo.key) as db_session:
        [session] = (await db_session.scalars(select(ChargingSession))).all()
        tokens = {
            row.id: (row.uid, row.party_id) for row in await db_session.scalars(select(OcpiToken))
        }
    assert session.roaming_token_id is not None
    assert (
        session.id_token,
        session.id_token_type,
        tokens[session.roaming_token_id],
        session.stop_id_token,
        session.stop_id_token_type,
    ) == (
        "04AABB",
        "ISO14443",
        ("04AABB", "MSP"),
        "04CCDD",
        # 1.6 names no token type (the start's ISO14443 is Voltlane's assumption).
        None if protocol == "ocpp1.6" else "ISO14443",
    )
    cdr_id = await rate(database, cpo, session.id)
    async with database.tenant_session(cpo.key) as db_session:
        cdr = await db_session.get(Cdr, cdr_id)
    assert cdr is not None
    assert (cdr.id_token, cdr.segment, cdr.tariff_code, cdr.total_excl_vat, cdr.total_incl_vat) == (
        "04AABB",
        "ROAMING:NL*MSP",
        "ROAM-MSP",
        480,
        571,
    )

    # MSP reads the session and its CDR with its driver's card; OTH reads nothing.
    async with ocpi_for(cpo, msp.token) as client:
        msp_sessions = data_of(
            await client.get("/ocpi/2.2.1/sessions?date_from=2020-01-01T00:00:00Z")
        )
        msp_cdrs = data_of(await client.get("/ocpi/2.2.1/cdrs"))
    async with ocpi_for(cpo, oth.token) as client:
        oth_sessions = data_of(
            await client.get("/ocpi/2.2.1/sessions?date_from=2020-01-01T00:00:00Z")
        )
        oth_cdrs = data_of(await client.get("/ocpi/2.2.1/cdrs"))
    assert [(s["id"], s["cdr_token"]["uid"], s["cdr_token"]["party_id"]) for s in msp_sessions] == [
        (str(session.id), "04AABB", "MSP")
    ]
    assert [(c["id"], c["cdr_token"]["uid"], c["total_cost"]) for c in msp_cdrs] == [
        (str(cdr_id), "04AABB", {"excl_vat": 4.8, "incl_vat": 5.71})
    ]
    assert (oth_sessions, oth_cdrs) == ([], [])

    # Pushed to MSP only: the completed session and the CDR.
    async with database.tenant_transaction(cpo.key) as db_session:
        assert await queue_session_pushes(db_session, cpo, now=utcnow()) == 1
        assert await queue_cdr_posts(db_session, cpo, now=utcnow()) == 1
    async with database.tenant_session(cpo.key) as db_session:
        pushes = [
            (p.partner_id, p.module, p.object_id, p.method)
            for p in await db_session.scalars(select(OcpiPush).order_by(OcpiPush.created_at))
        ]
    assert pushes == [
        (msp.id, "sessions", str(session.id), "PUT"),
        (msp.id, "cdrs", str(cdr_id), "POST"),
    ]
    httpserver.expect_request(f"/msp/sessions/DE/VLT/{session.id}", method="PUT").respond_with_json(
        OK
    )
    httpserver.expect_request("/msp/cdrs", method="POST").respond_with_json(
        OK, headers={"Location": httpserver.url_for("/msp/cdrs/1")}
    )
    for partner, sent in ((msp, 2), (oth, 0)):
        report = await deliver(database, cpo, partner.id, settings.secret_key)
        assert (report.sent, report.failed, report.waiting) == (sent, 0, 0)
    bodies = [(r.method, r.path, json.loads(r.data)) for r, _ in httpserver.log]
    assert [(method, path) for method, path, _ in bodies] == [
        ("PUT", f"/msp/sessions/DE/VLT/{session.id}"),
        ("POST", "/msp/cdrs"),
    ]
    assert [(body["status"], body["cdr_token"]["uid"]) for _, _, body in bodies[:1]] == [
        ("COMPLETED", "04AABB")
    ]
    assert (bodies[1][2]["id"], bodies[1][2]["cdr_token"]["uid"]) == (str(cdr_id), "04AABB")
