"""Real-time authorization: a real OCPP charger presents a roaming driver's token, the
gateway asks the eMSP (a real local HTTP server) within the partner's timeout."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

from tests.conftest import MakeBrand
from tests.ocpi.emi3_support import roamable
from tests.ocpi.h6_support import registered_partner
from tests.ocpp.conftest import add_ocpp_station, gateway, open_charger
from voltlane.charging.ports import RoamingAuthorizer, roaming_authorizer, set_roaming_authorizer
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingSession, ChargingStation, Evse, OcpiToken
from voltlane.ocpi.realtime import OcpiRoamingAuthorizer
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Ocpi

__all__ = ["gateway", "open_charger"]


@pytest.fixture
def roaming(settings: Settings) -> Iterator[OcpiRoamingAuthorizer]:
    previous: RoamingAuthorizer = roaming_authorizer()
    authorizer = OcpiRoamingAuthorizer(settings.secret_key, settings.base_domain)
    set_roaming_authorizer(authorizer)
    yield authorizer
    set_roaming_authorizer(previous)


class Rig(NamedTuple):
    database: Database
    settings: Settings
    cpo: TenantInfo
    httpserver: HTTPServer
    open_charger: Any


@pytest.fixture
async def rig(
    database: Database,
    settings: Settings,
    make_brand: MakeBrand,
    httpserver: HTTPServer,
    open_charger: Any,
    roaming: OcpiRoamingAuthorizer,
) -> Rig:
    """The brand DE*VLT with the OCPI authorizer wired, a gateway and a fake eMSP."""
    del roaming
    cpo = await make_brand(ocpi=Ocpi(country_code="DE", party_id="VLT"))
    return Rig(database, settings, cpo, httpserver, open_charger)


def _token(uid: str, whitelist: str, **changes: Any) -> dict[str, Any]:
    token = {
        "country_code": "NL",
        "party_id": "EMS",
        "uid": uid,
        "type": "RFID",
        "contract_id": f"NL-EMS-{uid}",
        "issuer": "EMS Mobility",
        "valid": True,
        "whitelist": whitelist,
        "last_updated": "2026-11-01T10:00:00Z",
    }
    token.update(changes)
    return token


def _authorization(allowed: str, token: dict[str, Any], reference: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"allowed": allowed, "token": token}
    if reference is not None:
        data["authorization_reference"] = reference
    return {"status_code": 1000, "timestamp": "2026-11-25T10:00:00Z", "data": data}


async def _emsp(
    database: Database,
    settings: Settings,
    brand: TenantInfo,
    httpserver: HTTPServer,
    *,
    timeout_ms: int = 2000,
) -> uuid.UUID:
    partner = await registered_partner(
        database,
        settings,
        brand,
        endpoints=[
            {"identifier": "tokens", "role": "SENDER", "url": httpserver.url_for("/emsp/tokens/")}
        ],
        authorization_timeout_ms=timeout_ms,
    )
    return partner.partner_id


async def _pushed(
    database: Database, brand: TenantInfo, partner_id: uuid.UUID, token: dict[str, Any]
) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        row = OcpiToken(
            partner_id=partner_id,
            **{k: v for k, v in token.items() if k != "last_updated"},
            last_updated=datetime(2026, 11, 1, 10, tzinfo=UTC),
        )
        db_session.add(row)
        await db_session.flush()
        return row.id


async def _location_of(database: Database, brand: TenantInfo, station_id: str) -> str:
    async with database.tenant_session(brand.key) as db_session:
        location = await db_session.scalar(
            select(ChargingStation.location_id).where(ChargingStation.station_id == station_id)
        )
    return str(location)


async def _charger16(open_charger: Any, brand: TenantInfo, station_id: str) -> Any:
    charger = await open_charger(brand, station_id, "ocpp1.6")
    await charger.cp.call(
        call16.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22"),
        suppress=False,
    )
    return charger


async def _authorize16(rig: Rig, brand: TenantInfo, station_id: str, *id_tags: str) -> list[str]:
    """A new 1.6 station of ``brand`` presents each id tag: the statuses it is answered."""
    await add_ocpp_station(rig.database, brand, station_id)
    await roamable(rig.database, brand)
    charger = await _charger16(rig.open_charger, brand, station_id)
    statuses = []
    for id_tag in id_tags:
        reply = await charger.cp.call(call16.Authorize(id_tag=id_tag), suppress=False)
        statuses.append(reply.id_tag_info["status"])
    return statuses


async def test_a_never_whitelisted_token_is_asked_once_and_its_reference_reaches_the_session(
    rig: Rig,
) -> None:
    database, settings, cpo, httpserver, open_charger = rig
    partner_id = await _emsp(database, settings, cpo, httpserver)
    token_id = await _pushed(database, cpo, partner_id, _token("CAFE0001", "NEVER"))
    await add_ocpp_station(database, cpo, "RT-16")
    await roamable(database, cpo)
    httpserver.expect_oneshot_request(
        "/emsp/tokens/CAFE0001/authorize", method="POST", query_string="type=RFID"
    ).respond_with_json(_authorization("ALLOWED", _token("CAFE0001", "NEVER"), "AUTH-REF-1"))
    charger = await _charger16(open_charger, cpo, "RT-16")
    authorized = await charger.cp.call(call16.Authorize(id_tag="CAFE0001"), suppress=False)
    started = await charger.cp.call(
        call16.StartTransaction(
            connector_id=1, id_tag="CAFE0001", meter_start=1000, timestamp="2026-11-25T10:00:00Z"
        ),
        suppress=False,
    )
    stopped = await charger.cp.call(
        call16.StopTransaction(
            transaction_id=started.transaction_id,
            id_tag="CAFE0001",
            meter_stop=9000,
            timestamp="2026-11-25T11:00:00Z",
        ),
        suppress=False,
    )
    assert authorized.id_tag_info == {"status": "Accepted"}
    assert started.id_tag_info == {"status": "Accepted"}
    assert stopped.id_tag_info == {"status": "Accepted"}
    assert len(httpserver.log) == 1
    request = httpserver.log[0][0]
    assert (
        request.headers["Authorization"] == "Token " + base64.b64encode(b"our-token-EMS").decode()
    )
    assert request.headers["OCPI-from-country-code"] == "DE"
    assert request.headers["OCPI-from-party-id"] == "VLT"
    assert request.headers["OCPI-to-party-id"] == "EMS"
    assert json.loads(request.data) == {"location_id": await _location_of(database, cpo, "RT-16")}
    async with database.tenant_session(cpo.key) as db_session:
        session = await db_session.scalar(select(ChargingSession))
    assert session is not None
    assert session.roaming_token_id == token_id
    assert session.authorization_reference == "AUTH-REF-1"


async def test_the_emsps_answer_maps_onto_ocpp_statuses_with_evse_references(
    rig: Rig,
) -> None:
    database, settings, cpo, httpserver, open_charger = rig
    partner_id = await _emsp(database, settings, cpo, httpserver)
    for uid, allowed in (
        ("B1", "BLOCKED"),
        ("E1", "EXPIRED"),
        ("N1", "NO_CREDIT"),
        ("X1", "NOT_ALLOWED"),
    ):
        await _pushed(database, cpo, partner_id, _token(uid, "ALLOWED"))
        httpserver.expect_request(f"/emsp/tokens/{uid}/authorize", method="POST").respond_with_json(
            _authorization(allowed, _token(uid, "ALLOWED"), None)
        )
    await add_ocpp_station(database, cpo, "RT-201")
    await roamable(database, cpo)
    charger = await open_charger(cpo, "RT-201", "ocpp2.0.1")
    await charger.cp.call(
        call201.BootNotification(
            charging_station={"model": "DC150", "vendor_name": "Acme"}, reason="PowerUp"
        ),
        suppress=False,
    )
    statuses = {}
    for uid in ("B1", "E1", "N1", "X1"):
        reply = await charger.cp.call(
            call201.Authorize(id_token={"id_token": uid, "type": "ISO14443"}), suppress=False
        )
        statuses[uid] = reply.id_token_info["status"]
    started = await charger.cp.call(
        call201.TransactionEvent(
            event_type="Started",
            timestamp="2026-11-25T10:00:00Z",
            trigger_reason="Authorized",
            seq_no=0,
            transaction_info={"transaction_id": "rt-tx-1"},
            evse={"id": 1, "connector_id": 1},
            id_token={"id_token": "B1", "type": "ISO14443"},
        ),
        suppress=False,
    )
    assert statuses == {"B1": "Blocked", "E1": "Expired", "N1": "Invalid", "X1": "Invalid"}
    assert started.id_token_info["status"] == "Blocked"
    async with database.tenant_session(cpo.key) as db_session:
        evse_pk = await db_session.scalar(select(Evse.id))
    last = httpserver.log[-1][0]
    assert json.loads(last.data) == {
        "location_id": await _location_of(database, cpo, "RT-201"),
        "evse_uids": [str(evse_pk)],
    }


async def test_without_an_answer_within_the_timeout_only_allowed_offline_charges(
    rig: Rig,
) -> None:
    database, settings, cpo, httpserver, open_charger = rig
    partner_id = await _emsp(database, settings, cpo, httpserver, timeout_ms=400)
    await _pushed(database, cpo, partner_id, _token("OFF1", "ALLOWED_OFFLINE"))
    await _pushed(database, cpo, partner_id, _token("NEV1", "NEVER"))

    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("{}", status=200, content_type="application/json")

    httpserver.expect_request("/emsp/tokens/OFF1/authorize").respond_with_handler(slow)
    httpserver.expect_request("/emsp/tokens/NEV1/authorize").respond_with_handler(slow)
    await add_ocpp_station(database, cpo, "RT-SLOW")
    await roamable(database, cpo)
    charger = await _charger16(open_charger, cpo, "RT-SLOW")
    began = time.monotonic()
    offline = await charger.cp.call(call16.Authorize(id_tag="OFF1"), suppress=False)
    first = time.monotonic() - began
    never = await charger.cp.call(call16.Authorize(id_tag="NEV1"), suppress=False)
    assert offline.id_tag_info == {"status": "Accepted"}
    assert never.id_tag_info == {"status": "Invalid"}
    assert first < 1.2
    # The eMSP answers late all the same: let it finish before the next test's server.
    for _ in range(60):
        if len(httpserver.log) == 2:
            break
        await asyncio.sleep(0.1)
    assert len(httpserver.log) == 2


async def test_always_whitelisted_tokens_are_decided_without_asking(
    rig: Rig,
) -> None:
    database, settings, cpo, httpserver, _open_charger = rig
    partner_id = await _emsp(database, settings, cpo, httpserver)
    await _pushed(database, cpo, partner_id, _token("ALW1", "ALWAYS"))
    await _pushed(database, cpo, partner_id, _token("ALW2", "ALWAYS", valid=False))
    assert await _authorize16(rig, cpo, "RT-WL", "ALW1", "ALW2") == ["Accepted", "Invalid"]
    assert httpserver.log == []


async def test_a_token_nobody_pushed_is_asked_of_the_emsp_and_stored_when_allowed(
    rig: Rig,
) -> None:
    database, settings, cpo, httpserver, _open_charger = rig
    partner_id = await _emsp(database, settings, cpo, httpserver)
    httpserver.expect_request("/emsp/tokens/NEW1/authorize").respond_with_json(
        _authorization("ALLOWED", _token("NEW1", "NEVER"), "REF-NEW")
    )
    httpserver.expect_request("/emsp/tokens/GONE/authorize").respond_with_json(
        {"status_code": 2004, "timestamp": "2026-11-25T10:00:00Z"}, status=404
    )
    assert await _authorize16(rig, cpo, "RT-NEW", "NEW1", "GONE") == ["Accepted", "Invalid"]
    async with database.tenant_session(cpo.key) as db_session:
        stored = (await db_session.scalars(select(OcpiToken))).all()
    assert [(t.partner_id, t.uid, t.whitelist, t.contract_id) for t in stored] == [
        (partner_id, "NEW1", "NEVER", "NL-EMS-NEW1")
    ]


async def test_a_token_pushed_to_one_brand_is_unknown_at_another_brands_station(
    rig: Rig, make_brand: MakeBrand
) -> None:
    database, settings, cpo, httpserver, _open_charger = rig
    other = await make_brand(ocpi=Ocpi(country_code="DE", party_id="OTB"))
    partner_id = await _emsp(database, settings, cpo, httpserver)
    await _pushed(database, cpo, partner_id, _token("ISO1", "ALWAYS"))
    assert await _authorize16(rig, other, "RT-OTHER", "ISO1") == ["Invalid"]
    assert httpserver.log == []
