"""ChargingProfiles, receiver interface: an eMSP's profile for its driver's session reaches
a real OCPP 1.6 charger over a real WebSocket (directly as a TxProfile, or through a pass
of the session's site), its composite schedule is fetched and its profile cleared; every
answer and every result POSTed to the eMSP is checked against the spec's field rules."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

from httpx import AsyncClient, Response
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update
from websockets.asyncio.client import connect

from tests.ocpi.conftest import OcpiClientFactory
from tests.ocpi.roaming_support import Partner, add_partner, add_roaming_token
from tests.ocpi.spec_rules import validate, validate_envelope
from tests.ocpi.test_commands import station_commands
from tests.ocpp.conftest import PASSWORD, add_ocpp_station, add_token, basic, gateway, url
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    ChargingAllocation,
    ChargingSession,
    ChargingStation,
    Evse,
    OcpiCommand,
    OcpiPartner,
    ProfileSupport,
    SessionLimit,
    StationProfileSupport,
)
from voltlane.ocpi.chargingprofile_tasks import queue_active_profile_pushes, run_charging_profile
from voltlane.ocpi.pushes import deliver
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings
from voltlane.smart_charging import profiles, sites
from voltlane.smart_charging.loop import rebalance
from voltlane.smart_charging.session_limits import forget_ended
from voltlane.smart_charging.sites import SiteInput
from voltlane.station.commands import DatabaseStationCommands
from voltlane.tenancy import TenantInfo

__all__ = ["gateway", "station_commands"]

SCHEDULE_16 = {
    "duration": 900,
    "startSchedule": "2026-11-25T10:00:00Z",
    "chargingRateUnit": "A",
    "chargingSchedulePeriod": [
        {"startPeriod": 0, "limit": 16.0},
        {"startPeriod": 600, "limit": 8.0},
    ],
}


class ProfileCharger(ChargePoint):  # type: ignore[misc]
    """A 1.6 charger that answers profiles with ``answer`` and keeps what it was sent."""

    answer: str
    received: list[tuple[str, dict[str, Any]]]

    @on("SetChargingProfile")
    async def on_set(self, **payload: Any) -> Any:
        self.received.append(("SetChargingProfile", payload))
        return call_result.SetChargingProfile(status=self.answer)

    @on("ClearChargingProfile")
    async def on_clear(self, **payload: Any) -> Any:
        self.received.append(("ClearChargingProfile", payload))
        return call_result.ClearChargingProfile(status="Accepted")

    @on("GetCompositeSchedule")
    async def on_composite(self, **payload: Any) -> Any:
        self.received.append(("GetCompositeSchedule", payload))
        return call_result.GetCompositeSchedule(
            status="Accepted",
            connector_id=payload["connector_id"],
            schedule_start="2026-11-25T10:00:00Z",
            charging_schedule={
                "duration": 900,
                "start_schedule": "2026-11-25T10:00:00Z",
                "charging_rate_unit": "A",
                "charging_schedule_period": [
                    {"start_period": 0, "limit": 16.0},
                    {"start_period": 600, "limit": 8.0},
                ],
            },
        )


@contextlib.asynccontextmanager
async def charging(
    database: Database, gateway: Gateway, brand: TenantInfo, partner: Partner, station_id: str
) -> AsyncIterator[tuple[ProfileCharger, uuid.UUID]]:
    """A booted charger with a transaction on connector 1 that is the partner's driver's
    (the session of its token, as the roaming authorization marks it)."""
    await add_token(database, brand, f"CARD-{station_id}")
    ws = await connect(
        url(gateway, brand.key, station_id),
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers={"Authorization": basic(station_id, PASSWORD)},
        compression=None,
    )
    cp = ProfileCharger(station_id, ws, response_timeout=10)
    cp.answer, cp.received = "Accepted", []
    task = asyncio.create_task(cp.start())
    try:
        await cp.call(
            call.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22"),
            suppress=False,
        )
        await cp.call(
            call.StartTransaction(
                connector_id=1,
                id_tag=f"CARD-{station_id}",
                meter_start=0,
                timestamp="2026-11-25T10:00:00Z",
            ),
            suppress=False,
        )
        token_id = await add_roaming_token(database, brand, partner, f"04{station_id[-2:]}")
        async with database.tenant_transaction(brand.key) as db_session:
            session_id = await db_session.scalar(
                update(ChargingSession)
                .values(roaming_token_id=token_id)
                .where(ChargingSession.id_token == f"CARD-{station_id}")
                .returning(ChargingSession.id)
            )
        assert session_id is not None
        yield cp, session_id
    finally:
        await ws.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def depot(database: Database, brand: TenantInfo, station_id: str) -> uuid.UUID:
    """A 32 A three-phase site (230 V, minimum 6 A) with the station's EVSE 1."""
    async with database.tenant_transaction(brand.key) as db_session:
        site = await sites.create_site(
            db_session, SiteInput(name="Depot", capacity_a=Decimal(32), safe_limit_a=Decimal(16))
        )
        evse_pk = await db_session.scalar(
            select(Evse.id)
            .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
            .where(ChargingStation.station_id == station_id, Evse.evse_id == 1)
        )
        assert evse_pk is not None
        await sites.assign_evse(db_session, site.id, evse_pk)
        return site.id


def _profile_body(httpserver: HTTPServer, **profile: Any) -> dict[str, Any]:
    return {"charging_profile": profile, "response_url": httpserver.url_for("/cp/result")}


async def _put_limit(
    client: AsyncClient, httpserver: HTTPServer, session_id: object, limit: int, unit: str = "A"
) -> Response:
    """PUT a profile of one period: ``limit`` in ``unit`` from the start of the session."""
    return await client.put(
        f"/ocpi/2.2.1/chargingprofiles/{session_id}",
        json=_profile_body(
            httpserver,
            charging_rate_unit=unit,
            charging_profile_period=[{"start_period": 0, "limit": limit}],
        ),
    )


async def requests_of(database: Database, brand: TenantInfo) -> list[OcpiCommand]:
    async with database.tenant_session(brand.key) as db_session:
        return list(await db_session.scalars(select(OcpiCommand).order_by(OcpiCommand.created_at)))


async def _limits(database: Database, brand: TenantInfo) -> list[SessionLimit]:
    async with database.tenant_session(brand.key) as db_session:
        return list(await db_session.scalars(select(SessionLimit)))


async def _results(
    database: Database,
    settings: Settings,
    brand: TenantInfo,
    partner: Partner,
    httpserver: HTTPServer,
) -> list[Any]:
    """What the eMSP's response_url received, in order."""
    report = await deliver(database, brand, partner.id, settings.secret_key)
    assert report.failed == 0
    return [json.loads(request.data) for request, _ in httpserver.log]


def _answer(response: Any) -> Any:
    body = response.json()
    assert validate_envelope(body, "ChargingProfileResponse") == [], body
    return body["data"]


async def _partner(
    database: Database, settings: Settings, brand: TenantInfo, httpserver: HTTPServer, station: str
) -> Partner:
    """A registered eMSP whose response_url answers OCPI success, and a station."""
    await add_ocpp_station(database, brand, station)
    httpserver.expect_request("/cp/result", method="POST").respond_with_json(
        {"status_code": 1000, "timestamp": "2026-11-25T10:00:00Z"}
    )
    return await add_partner(database, settings.secret_key, brand)


async def test_a_profile_on_an_evse_in_no_site_is_sent_as_the_sessions_tx_profile(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    station_commands: DatabaseStationCommands,
    httpserver: HTTPServer,
) -> None:
    partner = await _partner(database, settings, cpo, httpserver, "CP-01")
    async with charging(database, gateway, cpo, partner, "CP-01") as (cp, session_id):
        async with ocpi_for(cpo, partner.token) as client:
            answer = await client.put(
                f"/ocpi/2.2.1/chargingprofiles/{session_id}",
                json=_profile_body(
                    httpserver,
                    charging_rate_unit="W",
                    duration=3600,
                    min_charging_rate=1380.5,
                    charging_profile_period=[
                        {"start_period": 0, "limit": 11000},
                        {"start_period": 1800, "limit": 7400.5},
                    ],
                ),
            )
        (row,) = await requests_of(database, cpo)
        result = await run_charging_profile(database, station_commands, cpo.key, row.id)
        again = await run_charging_profile(database, station_commands, cpo.key, row.id)
    transaction = int(await _transaction(database, cpo))
    assert _answer(answer) == {"result": "ACCEPTED", "timeout": 60}
    assert result == {"result": "ACCEPTED"}
    assert again is None
    assert cp.received == [
        (
            "SetChargingProfile",
            {
                "connector_id": 1,
                "cs_charging_profiles": {
                    "charging_profile_id": 7_200_001,
                    "transaction_id": transaction,
                    "stack_level": 1,
                    "charging_profile_purpose": "TxProfile",
                    "charging_profile_kind": "Relative",
                    "charging_schedule": {
                        "duration": 3600,
                        "charging_rate_unit": "W",
                        "charging_schedule_period": [
                            {"start_period": 0, "limit": 11000.0},
                            {"start_period": 1800, "limit": 7400.5},
                        ],
                        "min_charging_rate": 1380.5,
                    },
                },
            },
        )
    ]
    (limit,) = await _limits(database, cpo)
    assert (limit.session_id, limit.unit, limit.periods, limit.duration_s, limit.min_rate) == (
        session_id,
        "W",
        [[0, "11000"], [1800, "7400.5"]],
        3600,
        Decimal("1380.5"),
    )
    results = await _results(database, settings, cpo, partner, httpserver)
    assert results == [{"result": "ACCEPTED"}]
    assert validate(results[0], "ChargingProfileResult") == []


async def _transaction(database: Database, brand: TenantInfo) -> str:
    async with database.tenant_session(brand.key) as db_session:
        found = await db_session.scalar(select(ChargingSession.transaction_id))
    assert found is not None
    return str(found)


async def test_a_station_that_rejects_the_profile_is_reported_rejected(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    station_commands: DatabaseStationCommands,
    httpserver: HTTPServer,
) -> None:
    partner = await _partner(database, settings, cpo, httpserver, "CP-02")
    async with charging(database, gateway, cpo, partner, "CP-02") as (cp, session_id):
        cp.answer = "Rejected"
        async with ocpi_for(cpo, partner.token) as client:
            answer = await _put_limit(client, httpserver, session_id, 10)
        (row,) = await requests_of(database, cpo)
        result = await run_charging_profile(database, station_commands, cpo.key, row.id)
    assert _answer(answer) == {"result": "ACCEPTED", "timeout": 60}
    assert result == {"result": "REJECTED"}
    assert await _results(database, settings, cpo, partner, httpserver) == [{"result": "REJECTED"}]


async def test_get_posts_the_stations_composite_schedule_and_delete_clears_the_profile(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    station_commands: DatabaseStationCommands,
    httpserver: HTTPServer,
) -> None:
    partner = await _partner(database, settings, cpo, httpserver, "CP-03")
    result_url = httpserver.url_for("/cp/result")
    async with charging(database, gateway, cpo, partner, "CP-03") as (cp, session_id):
        path = f"/ocpi/2.2.1/chargingprofiles/{session_id}"
        results = []

        async def run_last() -> None:
            row = (await requests_of(database, cpo))[-1]
            results.append(await run_charging_profile(database, station_commands, cpo.key, row.id))

        async with ocpi_for(cpo, partner.token) as client:
            await client.put(
                path,
                json=_profile_body(
                    httpserver,
                    charging_rate_unit="A",
                    charging_profile_period=[{"start_period": 0, "limit": 16}],
                ),
            )
            await run_last()
            got = await client.get(path, params={"duration": "900", "response_url": result_url})
            await run_last()
            cleared = await client.delete(path, params={"response_url": result_url})
            await run_last()
    assert [_answer(a) for a in (got, cleared)] == [{"result": "ACCEPTED", "timeout": 60}] * 2
    active = {
        "result": "ACCEPTED",
        "profile": {
            "start_date_time": "2026-11-25T10:00:00Z",
            "charging_profile": {
                "charging_rate_unit": "A",
                "duration": 900,
                "charging_profile_period": [
                    {"start_period": 0, "limit": 16.0},
                    {"start_period": 600, "limit": 8.0},
                ],
            },
        },
    }
    assert results == [{"result": "ACCEPTED"}, active, {"result": "ACCEPTED"}]
    assert [name for name, _ in cp.received] == [
        "SetChargingProfile",
        "GetCompositeSchedule",
        "ClearChargingProfile",
    ]
    assert cp.received[1][1] == {"connector_id": 1, "duration": 900}
    assert cp.received[2][1] == {"id": 7_200_001}
    assert await _limits(database, cpo) == []
    posted = await _results(database, settings, cpo, partner, httpserver)
    assert posted == results
    assert validate(posted[1], "ActiveChargingProfileResult") == []
    assert validate(posted[2], "ClearProfileResult") == []


async def test_a_profile_on_a_site_evse_caps_the_sessions_allocation(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    station_commands: DatabaseStationCommands,
    httpserver: HTTPServer,
) -> None:
    partner = await _partner(database, settings, cpo, httpserver, "CP-04")
    httpserver.expect_request(re.compile("/cp/sender/.*"), method="PUT").respond_with_json(
        {"status_code": 1000, "timestamp": "2026-11-25T10:00:00Z"}
    )
    async with database.tenant_transaction(cpo.key) as db_session:
        await db_session.execute(
            update(OcpiPartner)
            .where(OcpiPartner.id == partner.id)
            .values(
                endpoints=[
                    {
                        "identifier": "chargingprofiles",
                        "role": "SENDER",
                        "url": httpserver.url_for("/cp/sender"),
                    }
                ]
            )
        )
    site_id = await depot(database, cpo, "CP-04")
    async with charging(database, gateway, cpo, partner, "CP-04") as (cp, session_id):
        first = await rebalance(database, station_commands, cpo.key, site_id)
        assert first is not None
        async with ocpi_for(cpo, partner.token) as client:
            answer = await client.put(
                f"/ocpi/2.2.1/chargingprofiles/{session_id}",
                # 6,900 W over the car's three phases at the site's 230 V: 10 A per phase.
                json=_profile_body(
                    httpserver,
                    charging_rate_unit="W",
                    charging_profile_period=[{"start_period": 0, "limit": 6900}],
                ),
            )
        (row,) = await requests_of(database, cpo)
        result = await run_charging_profile(database, station_commands, cpo.key, row.id)
        # The eMSP's own profile taking effect is no news to it; a building load that
        # leaves 6 A for the car is: its ActiveChargingProfile is PUT to its sender side.
        async with database.tenant_transaction(cpo.key) as db_session:
            own = await queue_active_profile_pushes(db_session, cpo.key)
            await sites.record_reading(
                db_session,
                site_id,
                kind="building_load",
                per_phase_a=[Decimal(26)] * 3,
                measured_at=utcnow(),
            )
        loaded = await rebalance(database, station_commands, cpo.key, site_id)
        async with database.tenant_transaction(cpo.key) as db_session:
            news = await queue_active_profile_pushes(db_session, cpo.key)
        async with database.tenant_transaction(cpo.key) as db_session:
            repeated = await queue_active_profile_pushes(db_session, cpo.key)
    assert _answer(answer) == {"result": "ACCEPTED", "timeout": 60}
    assert first.limits == {session_id: Decimal(32)}
    assert loaded is not None
    assert loaded.sent == {session_id: Decimal(6)}
    assert (own, news, repeated) == (0, 1, 0)
    assert result == {"result": "ACCEPTED"}
    tx = [
        p["cs_charging_profiles"]
        for name, p in cp.received
        if name == "SetChargingProfile"
        and p["cs_charging_profiles"]["charging_profile_purpose"] == "TxProfile"
    ]
    assert [
        (
            p["charging_profile_id"],
            p["charging_schedule"]["charging_rate_unit"],
            *(
                (q["limit"], q.get("number_phases"))
                for q in p["charging_schedule"]["charging_schedule_period"]
            ),
        )
        for p in tx
    ] == [(7_200_001, "A", (32.0, 3)), (7_200_001, "A", (10.0, 3)), (7_200_001, "A", (6.0, 3))]
    async with database.tenant_session(cpo.key) as db_session:
        allocations = list(
            await db_session.execute(
                select(ChargingAllocation.limit_a, ChargingAllocation.decided_at).order_by(
                    ChargingAllocation.decided_at
                )
            )
        )
    assert [limit for limit, _ in allocations] == [Decimal(32), Decimal(10), Decimal(6)]
    report = await deliver(database, cpo, partner.id, settings.secret_key)
    assert (report.sent, report.failed) == (2, 0)
    sent = [(r.method, r.path, json.loads(r.data)) for r, _ in httpserver.log]
    active = {
        "start_date_time": allocations[-1][1].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "charging_profile": {
            "duration": 900,
            "charging_rate_unit": "A",
            "charging_profile_period": [{"start_period": 0, "limit": 6.0}],
        },
    }
    assert sent == [
        ("POST", "/cp/result", {"result": "ACCEPTED"}),
        ("PUT", f"/cp/sender/{session_id}", active),
    ]
    assert validate(active, "ActiveChargingProfile") == []


async def test_another_partners_or_brands_session_is_unknown_and_bad_bodies_are_2001(
    database: Database,
    settings: Settings,
    make_brand: Any,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    httpserver: HTTPServer,
) -> None:
    partner = await _partner(database, settings, cpo, httpserver, "CP-05")
    other = await add_partner(database, settings.secret_key, cpo, party_id="OTH")
    brand_b = await make_brand()
    partner_b = await add_partner(database, settings.secret_key, brand_b)
    good = _profile_body(
        httpserver,
        charging_rate_unit="A",
        charging_profile_period=[{"start_period": 0, "limit": 8}],
    )
    bad = {
        "no profile": ({"response_url": good["response_url"]}, "charging_profile is required"),
        "unit": (
            _profile_body(httpserver, charging_rate_unit="kW", charging_profile_period=[]),
            "charging_profile.charging_rate_unit must be one of A, W",
        ),
        "order": (
            _profile_body(
                httpserver,
                charging_rate_unit="A",
                charging_profile_period=[
                    {"start_period": 0, "limit": 8},
                    {"start_period": 0, "limit": 6},
                ],
            ),
            "charging_profile.charging_profile_period[1].start_period must be later than the"
            " period before it",
        ),
        "negative": (
            _profile_body(
                httpserver,
                charging_rate_unit="A",
                charging_profile_period=[{"start_period": 0, "limit": -1}],
            ),
            "charging_profile.charging_profile_period[0].limit must be a number from 0 to 10000000",
        ),
        "url": ({**good, "response_url": "ftp://x"}, "response_url must be an http(s) URL"),
    }
    async with charging(database, gateway, cpo, partner, "CP-05") as (_cp, session_id):
        path = f"/ocpi/2.2.1/chargingprofiles/{session_id}"
        async with ocpi_for(cpo, other.token) as client:
            foreign = await client.put(path, json=good)
        async with ocpi_for(brand_b, partner_b.token) as client:
            elsewhere = await client.put(path, json=good)
        async with ocpi_for(cpo, partner.token) as client:
            unknown = await client.put(f"/ocpi/2.2.1/chargingprofiles/{uuid.uuid4()}", json=good)
            refused = {name: await client.put(path, json=body) for name, (body, _) in bad.items()}
            no_duration = await client.get(path, params={"response_url": good["response_url"]})
    for answer in (foreign, elsewhere, unknown):
        assert _answer(answer) == {"result": "UNKNOWN_SESSION", "timeout": 60}
    for name, (_, message) in bad.items():
        body = refused[name].json()
        assert (body["status_code"], body["status_message"]) == (2001, message), name
    assert no_duration.json()["status_code"] == 2001
    assert await _limits(database, cpo) == []
    assert [row.response for row in await requests_of(database, cpo)] == ["UNKNOWN_SESSION"] * 2


async def test_too_many_requests_are_too_often_and_an_ended_sessions_limit_goes_with_it(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    httpserver: HTTPServer,
) -> None:
    partner = await _partner(database, settings, cpo, httpserver, "CP-06")
    good = _profile_body(
        httpserver,
        charging_rate_unit="A",
        charging_profile_period=[{"start_period": 0, "limit": 8}],
    )
    async with charging(database, gateway, cpo, partner, "CP-06") as (cp, session_id):
        path = f"/ocpi/2.2.1/chargingprofiles/{session_id}"
        async with ocpi_for(cpo, partner.token) as client:
            answers = [await client.put(path, json=good)]
            for _ in range(10):
                answers.append(
                    await client.get(
                        path, params={"duration": "60", "response_url": good["response_url"]}
                    )
                )
            await cp.call(
                call.StopTransaction(
                    transaction_id=int(await _transaction(database, cpo)),
                    meter_stop=5000,
                    timestamp="2026-11-25T10:30:00Z",
                ),
                suppress=False,
            )
            ended = await client.put(path, json=good)
    stored = await _limits(database, cpo)
    async with database.tenant_transaction(cpo.key) as db_session:
        forgotten = await forget_ended(db_session)
    assert [_answer(a)["result"] for a in answers] == ["ACCEPTED"] * 10 + ["TOO_OFTEN"]
    assert _answer(ended) == {"result": "REJECTED", "timeout": 60}
    assert [(limit.session_id, limit.periods) for limit in stored] == [(session_id, [[0, "8"]])]
    assert forgotten == 1
    assert await _limits(database, cpo) == []


async def test_a_station_without_charging_profiles_is_not_supported_at_once(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    httpserver: HTTPServer,
) -> None:
    partner = await _partner(database, settings, cpo, httpserver, "CP-07")
    async with charging(database, gateway, cpo, partner, "CP-07") as (cp, session_id):
        async with database.tenant_transaction(cpo.key) as db_session:
            station_pk = await db_session.scalar(
                select(ChargingStation.id).where(ChargingStation.station_id == "CP-07")
            )
            assert station_pk is not None
            db_session.add(
                StationProfileSupport(
                    charging_station_id=station_pk,
                    status=ProfileSupport.UNSUPPORTED,
                    reason="TxDefaultProfile: NotImplemented",
                    checked_at=utcnow(),
                )
            )
        async with ocpi_for(cpo, partner.token) as client:
            answer = await _put_limit(client, httpserver, session_id, 8)
    assert _answer(answer) == {"result": "NOT_SUPPORTED", "timeout": 60}
    assert [row.response for row in await requests_of(database, cpo)] == ["NOT_SUPPORTED"]
    assert await _limits(database, cpo) == []
    assert cp.received == []


async def test_a_lower_limit_a_site_station_cannot_be_sent_now_is_rejected(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    ocpi_for: OcpiClientFactory,
    gateway: Gateway,
    station_commands: DatabaseStationCommands,
    httpserver: HTTPServer,
) -> None:
    partner = await _partner(database, settings, cpo, httpserver, "CP-08")
    site_id = await depot(database, cpo, "CP-08")
    async with charging(database, gateway, cpo, partner, "CP-08") as (cp, session_id):
        await rebalance(database, station_commands, cpo.key, site_id)
        await cp._connection.close()
        for _ in range(100):
            if not await profiles.connected(database, cpo.key, {"CP-08"}):
                break
            await asyncio.sleep(0.05)
        async with ocpi_for(cpo, partner.token) as client:
            answer = await _put_limit(client, httpserver, session_id, 10)
        (row,) = await requests_of(database, cpo)
        result = await run_charging_profile(database, station_commands, cpo.key, row.id)
    assert _answer(answer) == {"result": "ACCEPTED", "timeout": 60}
    assert result == {"result": "REJECTED"}
    # The limit stands: the site's next pass sends it once the station is back.
    assert [limit.session_id for limit in await _limits(database, cpo)] == [session_id]
