"""Smart charging sites over the API: readings in (errors naming the field), the site with
its EVSEs, readings and current allocations out, departure targets, and brand isolation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.api.conftest import issue_key
from tests.factories import add_location, add_session_16, add_station
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AllocationStatus,
    AuditEntry,
    ChargingAllocation,
    ChargingTarget,
    Evse,
    EvseProfileRelease,
    SiteEvse,
    SiteReading,
)
from voltlane.smart_charging import sites
from voltlane.smart_charging.sites import RELEASE_EVSE, SiteInput
from voltlane.tenancy import TenantInfo
from voltlane.worker import outbox
from voltlane.worker.models import OutboxMessage

D = Decimal


@dataclass
class Depot:
    site_id: uuid.UUID
    evse_pk: uuid.UUID
    session_id: uuid.UUID


async def make_depot(database: Database, brand: TenantInfo) -> Depot:
    """A 3-phase 100 A site with one EVSE of CP1 and an active session charging there."""
    now = utcnow()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        station = await add_station(db_session, location, "CP1")
        site = await sites.create_site(
            db_session,
            SiteInput(
                name="Depot Nord",
                capacity_a=D(100),
                safe_limit_a=D(40),
                location_id=location.id,
                segment_priorities={"fleet": 10},
            ),
        )
        evse_pk = await db_session.scalar(
            select(Evse.id).where(Evse.charging_station_id == station.id)
        )
        assert evse_pk is not None
        await sites.assign_evse(
            db_session, site.id, evse_pk, priority=2, max_current_a=D(32), phases="231"
        )
        session_id = await add_session_16(
            db_session,
            station,
            id_tag="FLEET-1",
            started_at=now - timedelta(minutes=10),
            meter_start_wh=0,
            readings=((now - timedelta(minutes=1), 1500, 11040),),
        )
        db_session.add(
            ChargingAllocation(
                session_id=session_id,
                site_id=site.id,
                limit_a=D(16),
                phases=3,
                decided_at=now - timedelta(minutes=5),
                status=AllocationStatus.ACCEPTED,
            )
        )
        db_session.add(
            ChargingAllocation(
                session_id=session_id,
                site_id=site.id,
                limit_a=D("20.5"),
                phases=3,
                decided_at=now - timedelta(minutes=2),
                status=AllocationStatus.SENT,
            )
        )
    return Depot(site.id, evse_pk, session_id)


async def test_readings_are_stored_and_lower_the_available_current(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    depot = await make_depot(database, brand)
    key = await issue_key(database, brand, name="ems")
    measured = (utcnow() - timedelta(seconds=30)).replace(microsecond=0)
    async with api_for(brand, key) as client:
        response = await client.post(
            f"/api/v1/sites/{depot.site_id}/readings",
            json={
                "measured_at": measured.isoformat(),
                "building_load": {"l1_a": "60", "l2_a": "35.5", "l3_a": "20"},
                "solar": {"l1_a": "10", "l2_a": "10", "l3_a": "10"},
                "battery": {"l1_a": "-5", "l2_a": "0", "l3_a": "0", "soc_percent": "81.5"},
            },
        )
        assert response.status_code == 201, response.text
        assert response.json() == {
            "stored": ["building_load", "solar", "battery"],
            "ignored": [],
        }
        older = await client.post(
            f"/api/v1/sites/{depot.site_id}/readings",
            json={
                "measured_at": (measured - timedelta(minutes=1)).isoformat(),
                "solar": {"l1_a": "99", "l2_a": "99", "l3_a": "99"},
            },
        )
        assert older.json() == {"stored": [], "ignored": ["solar"]}
        detail = (await client.get(f"/api/v1/sites/{depot.site_id}")).json()
    # 100 - load + solar + battery: L1 100-60+10-5, L2 100-35.5+10, L3 100-20+10
    assert detail["available_a"] == ["45.0", "74.5", "90.0"]
    assert [
        (r["kind"], r["l1_a"], r["l2_a"], r["l3_a"], r["soc_percent"], r["stale"])
        for r in detail["readings"]
    ] == [
        ("battery", "-5.0", "0.0", "0.0", "81.5", False),
        ("building_load", "60.0", "35.5", "20.0", None, False),
        ("solar", "10.0", "10.0", "10.0", None, False),
    ]
    async with database.tenant_session(brand.key) as db_session:
        solar = await db_session.get(SiteReading, (depot.site_id, "solar"))
        entries = list(await db_session.scalars(select(AuditEntry)))
    assert solar is not None
    assert (solar.l1_a, solar.measured_at) == (D(10), measured)
    assert [(e.action, e.actor_email, e.entity_id) for e in entries] == [
        ("api.site.readings", "api-key:ems", str(depot.site_id)),
        ("api.site.readings", "api-key:ems", str(depot.site_id)),
    ]


async def test_a_bad_reading_is_refused_naming_its_field_and_nothing_is_stored(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    depot = await make_depot(database, brand)
    key = await issue_key(database, brand)
    now = utcnow()
    cases = [
        (
            {"measured_at": now.isoformat(), "solar": {"l1_a": "-1"}},
            "solar.l1_a",
            "Enter a current from 0 to 99999.9 A, in steps of 0.1 A.",
        ),
        (
            {
                "measured_at": now.isoformat(),
                "building_load": {"l1_a": "1"},
                "battery": {"l1_a": "1", "soc_percent": "101"},
            },
            "battery.soc_percent",
            "Enter a state of charge from 0 to 100 percent.",
        ),
        (
            {"measured_at": (now + timedelta(hours=1)).isoformat(), "solar": {"l1_a": "1"}},
            "measured_at",
            "This reading is dated in the future.",
        ),
        (
            {"measured_at": "2026-11-25T10:00:00", "solar": {"l1_a": "1"}},
            "measured_at",
            "Expected `datetime` with a timezone component",
        ),
        (
            {"measured_at": now.isoformat()},
            "building_load",
            "Send building_load, solar or battery.",
        ),
        (
            {"measured_at": now.isoformat(), "wind": {"l1_a": "1"}},
            "wind",
            "Object contains unknown field `wind`",
        ),
    ]
    async with api_for(brand, key) as client:
        for body, field, message in cases:
            response = await client.post(f"/api/v1/sites/{depot.site_id}/readings", json=body)
            assert response.status_code == 422, body
            problem = response.json()
            assert problem["field"] == field, problem
            assert message in problem["detail"], problem
    async with database.tenant_session(brand.key) as db_session:
        assert list(await db_session.scalars(select(SiteReading))) == []
        assert list(await db_session.scalars(select(AuditEntry))) == []


async def test_sites_list_and_detail_with_evses_and_current_allocations(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    depot = await make_depot(database, brand)
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        listing = (await client.get("/api/v1/sites")).json()
        detail = (await client.get(f"/api/v1/sites/{depot.site_id}")).json()
    assert listing["total"] == 1
    [item] = listing["items"]
    assert item["id"] == str(depot.site_id)
    assert (item["name"], item["capacity_a"], item["safe_limit_a"], item["timezone"]) == (
        "Depot Nord",
        "100.0",
        "40.0",
        "Europe/Berlin",
    )
    assert (item["mode"], item["phases"], item["segment_priorities"]) == (
        "dynamic",
        3,
        {"fleet": 10},
    )
    assert detail["evses"] == [
        {
            "evse_pk": str(depot.evse_pk),
            "station_id": "CP1",
            "evse_id": 1,
            "priority": 2,
            "max_current_a": "32.0",
            "phases": "231",
        }
    ]
    # No meter: the whole rating is available.
    assert detail["available_a"] == ["100.0", "100.0", "100.0"]
    [allocation] = detail["allocations"]
    assert allocation["session_id"] == str(depot.session_id)
    assert (
        allocation["station_id"],
        allocation["evse_id"],
        allocation["limit_a"],
        allocation["status"],
        allocation["discharge_limit_a"],
        allocation["power_w"],
    ) == ("CP1", 1, "20.5", "sent", None, "11040.000000")


async def test_departure_target_is_set_and_refused_beside_its_field(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    depot = await make_depot(database, brand)
    key = await issue_key(database, brand)
    departure = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    async with api_for(brand, key) as client:
        response = await client.put(
            f"/api/v1/sessions/{depot.session_id}/departure-target",
            json={"energy_wh": 30000, "departure_at": departure.isoformat()},
        )
        past = await client.put(
            f"/api/v1/sessions/{depot.session_id}/departure-target",
            json={"energy_wh": 30000, "departure_at": "2020-01-01T00:00:00Z"},
        )
        zero = await client.put(
            f"/api/v1/sessions/{depot.session_id}/departure-target",
            json={"energy_wh": 0, "departure_at": departure.isoformat()},
        )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "session_id": str(depot.session_id),
        "energy_wh": 30000,
        "departure_at": departure.isoformat().replace("+00:00", "Z"),
    }
    assert (past.status_code, past.json()["field"]) == (422, "departure_at")
    assert past.json()["detail"] == "Choose a departure time in the future."
    assert (zero.status_code, zero.json()["field"]) == (422, "energy_wh")
    async with database.tenant_session(brand.key) as db_session:
        [target] = list(await db_session.scalars(select(ChargingTarget)))
    assert (target.energy_wh, target.departure_at) == (30000, departure)


async def test_another_brands_site_and_session_are_not_found(
    database: Database, make_brand, api_for
) -> None:
    mine, theirs = await make_brand(), await make_brand()
    depot = await make_depot(database, theirs)
    key = await issue_key(database, mine)
    now = utcnow()
    async with api_for(mine, key) as client:
        got = await client.get(f"/api/v1/sites/{depot.site_id}")
        posted = await client.post(
            f"/api/v1/sites/{depot.site_id}/readings",
            json={"measured_at": now.isoformat(), "solar": {"l1_a": "1"}},
        )
        target = await client.put(
            f"/api/v1/sessions/{depot.session_id}/departure-target",
            json={"energy_wh": 1000, "departure_at": (now + timedelta(hours=1)).isoformat()},
        )
        listing = (await client.get("/api/v1/sites")).json()
    assert (got.status_code, posted.status_code, target.status_code) == (404, 404, 404)
    assert listing == {"items": [], "total": 0}
    async with database.tenant_session(theirs.key) as db_session:
        assert list(await db_session.scalars(select(SiteReading))) == []
        assert list(await db_session.scalars(select(ChargingTarget))) == []


async def test_an_evse_is_taken_out_of_its_site_with_its_release_asked_and_audited(
    database: Database, make_brand, api_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(outbox, "_relay", None)  # keep the release job in the outbox
    brand, other = await make_brand(), await make_brand()
    depot = await make_depot(database, brand)
    theirs = await make_depot(database, other)
    key = await issue_key(database, brand, name="ems")
    path = f"/api/v1/sites/{depot.site_id}/evses/{depot.evse_pk}"
    async with api_for(brand, key) as client:
        foreign = await client.delete(f"/api/v1/sites/{theirs.site_id}/evses/{theirs.evse_pk}")
        removed = await client.delete(path)
        again = await client.delete(path)
        detail = (await client.get(f"/api/v1/sites/{depot.site_id}")).json()
        schema = (await client.get("/schema/openapi.json")).json()

    assert removed.status_code == 204
    assert removed.content == b""
    assert detail["evses"] == []
    assert (foreign.status_code, again.status_code) == (404, 404)
    assert again.headers["content-type"].startswith("application/problem+json")
    assert (again.json()["status"], again.json()["detail"]) == (
        404,
        "This EVSE is not in the site.",
    )
    async with database.tenant_session(brand.key) as db_session:
        pending = list(await db_session.scalars(select(EvseProfileRelease.evse_pk)))
        actions = list(await db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert pending == [depot.evse_pk]
    assert actions == ["api.site.evse.remove"]
    async with database.platform_session() as db_session:
        jobs = [
            message["kwargs"]
            for message in await db_session.scalars(
                select(OutboxMessage.message).where(OutboxMessage.actor_name == RELEASE_EVSE)
            )
            if message["kwargs"]["tenant"] == brand.key
        ]
    assert jobs == [{"tenant": brand.key, "evse_pk": str(depot.evse_pk)}]
    # Another brand's EVSE stays where it was.
    async with database.tenant_session(other.key) as db_session:
        assert await db_session.get(SiteEvse, theirs.evse_pk) is not None
    operation = schema["paths"]["/api/v1/sites/{site_id}/evses/{evse_pk}"]["delete"]
    assert operation["summary"] == "Take an EVSE out of a site"
    assert "204" in operation["responses"]
