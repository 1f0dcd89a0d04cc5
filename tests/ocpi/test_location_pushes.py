"""Locations pushed to partners: a status report that changes an EVSE's OCPI status owes
each locations receiver a PATCH of the EVSE in the report's transaction (the gateway's
batched path and the one-report path alike); staff's edits owe a PUT of the location."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select, update

from tests.conftest import MakeBrand
from tests.factories import add_location, add_station
from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.emi3_support import add_roaming_station
from tests.ocpi.h4_support import registered_emsp
from voltlane.core.db import Database
from voltlane.core.group_commit import GroupCommit
from voltlane.models.tenant import Connector, Evse, Location, OcpiPush, PushState
from voltlane.ocpi.location_pushes import OcpiLocationChanges
from voltlane.ocpi.protocol import ocpi_datetime
from voltlane.ocpi.pushes import deliver
from voltlane.settings import Settings
from voltlane.station import operations
from voltlane.station import service as stations
from voltlane.station.ports import location_changes, set_location_changes
from voltlane.station.schemas import (
    ConnectorUpdate,
    EvseUpdate,
    LocationCreate,
    LocationUpdate,
    StationUpdate,
)
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Ocpi
from voltlane.worker.models import OutboxMessage

OK = {"status_code": 1000, "timestamp": "2026-11-25T03:00:00Z"}
T1 = datetime(2026, 11, 25, 8, tzinfo=UTC)
T2 = datetime(2026, 11, 25, 9, tzinfo=UTC)
T3 = datetime(2026, 11, 25, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
async def partners_hear(settings: Settings) -> AsyncIterator[OcpiLocationChanges]:
    """The OCPI side wired as the composition roots wire it (no cache: each test's
    partners are seen at once)."""
    before = location_changes()
    changes = OcpiLocationChanges(settings.base_domain, ttl=0)
    set_location_changes(changes)
    yield changes
    set_location_changes(before)


async def _site(database: Database, brand: TenantInfo) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A published location with one station of two EVSEs (one connector each)."""
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session, "Hafen")
        station = await add_roaming_station(
            db_session, brand, location, f"ST-{uuid.uuid4().hex[:8]}", evses=2
        )
        evse = await db_session.scalar(
            select(Evse.id).where(Evse.charging_station_id == station.id, Evse.evse_id == 1)
        )
        assert evse is not None
        return location.id, station.id, evse


async def _batch(
    database: Database, brand: TenantInfo, reports: list[tuple[uuid.UUID, int, str, datetime]]
) -> None:
    """Status reports through one group commit batch, as the OCPP gateway sends them."""
    group = GroupCommit(database.tenant_engine(brand.key), max_wait=0.05)
    writes = [
        await operations.status_writes(
            database,
            brand.key,
            station,
            evse_id=evse,
            connector_id=1,
            status=status,
            at=at,
            error_code=None,
            payload={"status": status},
        )
        for station, evse, status, at in reports
    ]
    try:
        await asyncio.gather(*(group.write(each) for each in writes))
    finally:
        await group.close()


async def _pushes(database: Database, brand: TenantInfo) -> list[tuple[str, str, Any, str]]:
    async with database.tenant_transaction(brand.key) as db_session:
        rows = (
            await db_session.scalars(select(OcpiPush).order_by(OcpiPush.created_at, OcpiPush.path))
        ).all()
        return [(row.method, row.path, row.body, row.state.value) for row in rows]


async def _connector_stamp(database: Database, brand: TenantInfo, evse: uuid.UUID) -> str:
    async with database.tenant_transaction(brand.key) as db_session:
        at = await db_session.scalar(select(Connector.updated_at).where(Connector.evse_pk == evse))
        assert at is not None
        return ocpi_datetime(at)


async def _jobs(database: Database, partner_id: uuid.UUID) -> list[dict[str, Any]]:
    async with database.platform_transaction() as db_session:
        rows = (
            await db_session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.message["kwargs"]["partner_id"].astext == str(partner_id)
                )
            )
        ).all()
        return [row.message for row in rows]


async def test_a_status_change_owes_each_receiver_a_patch_of_the_evse_delivered_exactly(
    database: Database, settings: Settings, cpo: TenantInfo, httpserver: HTTPServer
) -> None:
    location_id, station, evse = await _site(database, cpo)
    base = httpserver.url_for("/emsp")
    emsp = await registered_emsp(database, settings.secret_key, cpo, receiver_base=base)
    # A partner without a locations receiver is not told.
    await registered_emsp(
        database, settings.secret_key, cpo, party=("BE", "TAR"), receiver_base=base,
        modules=("tariffs",),
    )  # fmt: skip

    await _batch(database, cpo, [(station, 1, "Charging", T1)])

    stamp = await _connector_stamp(database, cpo, evse)
    path = f"/DE/VLT/{location_id}/{evse}"
    assert await _pushes(database, cpo) == [
        ("PATCH", path, {"status": "CHARGING", "last_updated": stamp}, "pending")
    ]
    jobs = await _jobs(database, emsp.id)
    assert [(job["actor_name"], job["kwargs"]) for job in jobs] == [
        ("ocpi.deliver", {"tenant": cpo.key, "partner_id": str(emsp.id)})
    ]
    assert jobs[0]["message_id"] != ""

    httpserver.expect_request(f"/emsp/locations{path}", method="PATCH").respond_with_json(OK)
    report = await deliver(database, cpo, emsp.id, settings.secret_key)

    assert (report.sent, report.failed, report.waiting) == (1, 0, 0)
    (request, _response), *others = httpserver.log
    assert others == []
    assert json.loads(request.data) == {"status": "CHARGING", "last_updated": stamp}
    assert request.headers["OCPI-from-country-code"] == "DE"
    assert request.headers["OCPI-to-party-id"] == "EMS"


async def test_only_a_change_of_the_evses_ocpi_status_is_pushed_and_the_newest_report_wins(
    database: Database, settings: Settings, cpo: TenantInfo
) -> None:
    location_id, station, evse = await _site(database, cpo)
    emsp = await registered_emsp(
        database, settings.secret_key, cpo, receiver_base="http://emsp.invalid"
    )
    await _batch(database, cpo, [(station, 1, "Preparing", T1)])
    first = await _connector_stamp(database, cpo, evse)
    # Preparing and Charging are both CHARGING; a report older than the known status is
    # ignored; the second EVSE goes Faulted then (newer, same batch) Available.
    await _batch(
        database,
        cpo,
        [
            (station, 1, "Charging", T2),
            (station, 1, "Available", T1),
            (station, 2, "Faulted", T2),
            (station, 2, "Available", T3),
        ],
    )

    async with database.tenant_transaction(cpo.key) as db_session:
        evse2 = await db_session.scalar(
            select(Evse.id).where(Evse.charging_station_id == station, Evse.evse_id == 2)
        )
    assert evse2 is not None
    # EVSE 1 went CHARGING in the first batch and stayed so; EVSE 2 was UNKNOWN and ends
    # the second batch AVAILABLE (its Faulted report was overtaken within the batch).
    assert await _pushes(database, cpo) == [
        (
            "PATCH",
            f"/DE/VLT/{location_id}/{evse}",
            {"status": "CHARGING", "last_updated": first},
            "pending",
        ),
        (
            "PATCH",
            f"/DE/VLT/{location_id}/{evse2}",
            {"status": "AVAILABLE", "last_updated": await _connector_stamp(database, cpo, evse2)},
            "pending",
        ),
    ]
    assert len(await _jobs(database, emsp.id)) == 2


async def test_unpublished_locations_and_brands_without_receivers_owe_nothing(
    database: Database, settings: Settings, cpo: TenantInfo, make_brand: MakeBrand
) -> None:
    location_id, station, _evse = await _site(database, cpo)
    await registered_emsp(database, settings.secret_key, cpo, receiver_base="http://x.invalid")
    async with database.tenant_transaction(cpo.key) as db_session:
        location = await db_session.get(Location, location_id)
        assert location is not None
        location.publish = False
    await _batch(database, cpo, [(station, 1, "Charging", T1)])
    assert await _pushes(database, cpo) == []

    lonely = await make_brand(ocpi=Ocpi(country_code="DE", party_id="LON"))
    _location, lonely_station, _ = await _site(database, lonely)
    writes = await operations.status_writes(
        database,
        lonely.key,
        lonely_station,
        evse_id=1,
        connector_id=1,
        status="Charging",
        at=T1,
        error_code=None,
        payload={},
    )
    assert [statement for statement, _rows in writes] == [
        operations.INSERT_STATION_EVENT,
        operations.UPDATE_CONNECTOR_STATUS,
    ]


async def test_the_one_report_path_owes_the_same_patch(
    database: Database, settings: Settings, cpo: TenantInfo
) -> None:
    location_id, station, evse = await _site(database, cpo)
    await registered_emsp(database, settings.secret_key, cpo, receiver_base="http://x.invalid")
    async with database.tenant_transaction(cpo.key) as db_session:
        await operations.record_status(
            db_session,
            station,
            evse_id=1,
            connector_id=1,
            status="Faulted",
            at=T1,
            error_code="GroundFailure",
            payload={},
        )
    stamp = await _connector_stamp(database, cpo, evse)
    assert await _pushes(database, cpo) == [
        (
            "PATCH",
            f"/DE/VLT/{location_id}/{evse}",
            {"status": "OUTOFORDER", "last_updated": stamp},
            PushState.PENDING.value,
        )
    ]


async def _puts(database: Database, brand: TenantInfo) -> list[tuple[str, str, bool, str]]:
    return [
        (body["name"], str(len(body["evses"])), body["publish"], state)
        for method, _path, body, state in await _pushes(database, brand)
        if method == "PUT"
    ]


async def test_staff_edits_owe_a_put_of_the_whole_location_superseding_unsent_ones(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_emsp(
        database, settings.secret_key, cpo, receiver_base="http://emsp.invalid"
    )
    location_id, _station, evse = await _site(database, cpo)
    # The new location, then the location with its new station: the first was not sent.
    assert await _puts(database, cpo) == [
        ("Hafen", "0", True, "superseded"),
        ("Hafen", "2", True, "pending"),
    ]
    async with database.tenant_transaction(cpo.key) as db_session:
        await db_session.execute(update(OcpiPush).values(state=PushState.SENT))
        await stations.update_location(db_session, location_id, LocationUpdate(name="Kai"))
    async with database.tenant_transaction(cpo.key) as db_session:
        await stations.update_evse(db_session, evse, EvseUpdate(physical_reference="A1"))
        connector = await db_session.scalar(select(Connector.id).where(Connector.evse_pk == evse))
        assert connector is not None
        await stations.update_connector(db_session, connector, ConnectorUpdate(max_amperage=16))
    pushes = await _pushes(database, cpo)
    # The rename went alone; the EVSE's and the connector's edits shared a transaction.
    assert [(method, path, body["name"], state) for method, path, body, state in pushes] == [
        ("PUT", f"/DE/VLT/{location_id}", "Hafen", "sent"),
        ("PUT", f"/DE/VLT/{location_id}", "Hafen", "sent"),
        ("PUT", f"/DE/VLT/{location_id}", "Kai", "superseded"),
        ("PUT", f"/DE/VLT/{location_id}", "Kai", "superseded"),
        ("PUT", f"/DE/VLT/{location_id}", "Kai", "pending"),
    ]
    async with ocpi_for(cpo, emsp.token) as client:
        served = data_of(await client.get(f"/ocpi/2.2.1/locations/{location_id}"))
    assert pushes[-1][2] == served
    assert served["evses"][0]["physical_reference"] == "A1"
    assert served["evses"][0]["connectors"][0]["max_amperage"] == 16


async def test_a_withdrawn_location_is_put_once_more_unpublished_then_no_longer(
    database: Database, settings: Settings, cpo: TenantInfo
) -> None:
    await registered_emsp(database, settings.secret_key, cpo, receiver_base="http://x.invalid")
    location_id, _station, _evse = await _site(database, cpo)
    async with database.tenant_transaction(cpo.key) as db_session:
        await stations.update_location(db_session, location_id, LocationUpdate(publish=False))
    async with database.tenant_transaction(cpo.key) as db_session:
        await stations.update_location(db_session, location_id, LocationUpdate(name="Kai"))
        unpublished = await stations.add_location(
            db_session,
            LocationCreate(
                name="Depot",
                address="Hafenstraße 2",
                city="Hamburg",
                country="DEU",
                latitude=Decimal("53.5"),
                longitude=Decimal("9.9"),
                timezone="Europe/Berlin",
            ),
            publish=False,
        )
        await add_station(db_session, unpublished, f"ST-{uuid.uuid4().hex[:8]}")
    assert await _puts(database, cpo) == [
        ("Hafen", "0", True, "superseded"),
        ("Hafen", "2", True, "superseded"),
        ("Hafen", "2", False, "pending"),
    ]


async def test_a_station_moved_to_another_location_owes_a_put_of_both(
    database: Database, settings: Settings, cpo: TenantInfo
) -> None:
    here, station, _evse = await _site(database, cpo)
    async with database.tenant_transaction(cpo.key) as db_session:
        there = (await add_location(db_session, "Kai")).id
    await registered_emsp(database, settings.secret_key, cpo, receiver_base="http://x.invalid")
    async with database.tenant_transaction(cpo.key) as db_session:
        await stations.update_station(db_session, station, StationUpdate(location_id=there))
    puts = {
        path: (body["name"], len(body["evses"]))
        for method, path, body, _state in await _pushes(database, cpo)
        if method == "PUT"
    }
    assert puts == {f"/DE/VLT/{here}": ("Hafen", 0), f"/DE/VLT/{there}": ("Kai", 2)}
