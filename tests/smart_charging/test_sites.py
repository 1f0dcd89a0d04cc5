"""Sites, circuits, EVSEs, schedules, readings and departure targets on real PostgreSQL:
what is stored, what is refused (naming the field) and the allocator inputs built from them."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import add_location, add_session_16, add_station
from voltlane.core.db import Database
from voltlane.models.tenant import (
    ChargingTarget,
    Evse,
    ReadingKind,
    Site,
    SiteEvse,
    SiteMode,
    SiteReading,
    SiteSchedule,
)
from voltlane.smart_charging import sites
from voltlane.smart_charging.allocator import Node
from voltlane.smart_charging.repository import SmartChargingRepository
from voltlane.smart_charging.sites import InvalidSiteError, SiteInput, SiteNotFoundError

D = Decimal
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday; 13:00 in Berlin
DEPOT = SiteInput(name="Depot Nord", capacity_a=D(160), safe_limit_a=D(63))


async def _count(db_session: AsyncSession, model: type) -> int:
    return int(await db_session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_site_and_a_circuit_are_stored_with_their_settings(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        root = await sites.create_site(
            db_session,
            replace(
                DEPOT,
                location_id=location.id,
                segment_priorities={"fleet": 10, "fleet:PO-4711": 20},
                discharge_limit_a=D("32.5"),
            ),
        )
        circuit = await sites.create_site(
            db_session,
            SiteInput(
                name="  Garage  ",
                capacity_a=D(32),
                safe_limit_a=D(16),
                phases=1,
                parent_id=root.id,
                mode="static",
            ),
        )
    async with database.tenant_session(brand.key) as db_session:
        repo = SmartChargingRepository(db_session)
        stored = await repo.tree(root.id)
        assert [s.name for s in stored] == ["Depot Nord", "Garage"]
        top, garage = stored
        assert (top.location_id, top.timezone, top.phases, top.voltage_v) == (
            location.id,
            "Europe/Berlin",
            3,
            230,
        )
        assert (top.capacity_a, top.safe_limit_a, top.min_current_a) == (D(160), D(63), D(6))
        assert (top.allocation_period_s, top.stale_after_s, top.mode) == (60, 300, SiteMode.DYNAMIC)
        assert top.segment_priorities == {"fleet": 10, "fleet:PO-4711": 20}
        assert top.discharge_limit_a == D("32.5")
        assert (garage.parent_id, garage.timezone, garage.phases, garage.mode) == (
            root.id,
            "UTC",
            1,
            SiteMode.STATIC,
        )
        assert await repo.ancestor_ids(circuit.id) == [circuit.id, root.id]
        assert await repo.root_ids() == [root.id]


async def test_bad_site_settings_are_refused_field_by_field_and_nothing_is_written(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        with pytest.raises(InvalidSiteError) as caught:
            await sites.create_site(
                db_session,
                SiteInput(
                    name=" ",
                    capacity_a=D("100.05"),
                    safe_limit_a=D(10),
                    phases=2,
                    voltage_v=12,
                    min_current_a=D(0),
                    allocation_period_s=1,
                    stale_after_s=0,
                    mode="turbo",
                    location_id=uuid.uuid4(),
                    parent_id=uuid.uuid4(),
                    timezone="Mars/Olympus",
                    segment_priorities={"fleet": 5000},
                ),
            )
        assert caught.value.errors == {
            "name": "Enter a name.",
            "phases": "A site has 1 or 3 phases.",
            "voltage_v": "Enter a number from 100 to 1000.",
            "capacity_a": "Enter a current from 0.1 to 99999.9 A, in steps of 0.1 A.",
            "min_current_a": "Enter a current from 0.1 to 80 A, in steps of 0.1 A.",
            "allocation_period_s": "Enter a number from 5 to 3600.",
            "stale_after_s": "Enter a number from 1 to 86400.",
            "mode": "Choose one of the options.",
            "segment_priorities": (
                "Give each segment (at most 64 characters) a whole number from -1000 to 1000."
            ),
            "location_id": "Choose a location from the list.",
            "timezone": "'Mars/Olympus' is not an IANA timezone.",
            "parent_id": "Choose a site from the list.",
        }
        assert caught.value.field == "name"
        with pytest.raises(InvalidSiteError) as caught:
            await sites.create_site(db_session, replace(DEPOT, safe_limit_a=D(200)))
        assert caught.value.errors == {
            "safe_limit_a": "Enter a current from 0 to 160 A, in steps of 0.1 A."
        }
        assert await _count(db_session, Site) == 0


async def test_a_circuit_never_moves_under_itself_nor_three_phases_under_one(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        root = await sites.create_site(db_session, DEPOT)
        hall = await sites.create_site(db_session, replace(DEPOT, name="Hall", parent_id=root.id))
        bay = await sites.create_site(db_session, replace(DEPOT, name="Bay", parent_id=hall.id))
        for moving, parent in ((root.id, root.id), (hall.id, bay.id)):
            with pytest.raises(InvalidSiteError) as caught:
                await sites.update_site(db_session, moving, replace(DEPOT, parent_id=parent))
            assert caught.value.errors == {
                "parent_id": "A circuit cannot sit under itself or under one of its own circuits."
            }
        single = await sites.create_site(db_session, replace(DEPOT, name="Shed", phases=1))
        with pytest.raises(InvalidSiteError) as caught:
            await sites.update_site(db_session, bay.id, replace(DEPOT, parent_id=single.id))
        assert caught.value.errors == {
            "phases": "A three-phase circuit cannot hang under a single-phase site."
        }
        moved = await sites.update_site(
            db_session,
            bay.id,
            replace(DEPOT, name="Bay", capacity_a=D(40), safe_limit_a=D(20), parent_id=root.id),
        )
        assert (moved.parent_id, moved.capacity_a) == (root.id, D(40))
        with pytest.raises(SiteNotFoundError):
            await sites.update_site(db_session, uuid.uuid4(), DEPOT)


async def test_evses_are_assigned_moved_and_removed(database: Database, make_brand) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        station = await add_station(db_session, location, "SC-001", evses=2)
        evse_pks = list(
            await db_session.scalars(
                select(Evse.id).where(Evse.charging_station_id == station.id).order_by(Evse.evse_id)
            )
        )
        root = await sites.create_site(db_session, DEPOT)
        shed = await sites.create_site(db_session, replace(DEPOT, name="Shed", phases=1))
        await sites.assign_evse(db_session, root.id, evse_pks[0], priority=3, phases="231")
        await sites.assign_evse(db_session, root.id, evse_pks[1], max_current_a=D(16), phases="2")
        # Moving an EVSE keeps it in one site only.
        moved = await sites.assign_evse(db_session, shed.id, evse_pks[1], phases="1")
        assert (moved.site_id, moved.priority, moved.max_current_a) == (shed.id, 0, None)
        rows = await SmartChargingRepository(db_session).site_evses([root.id, shed.id])
        assert [(r.evse_pk, r.site_id, r.priority, r.phases) for r in rows] == sorted(
            [(evse_pks[0], root.id, 3, "231"), (evse_pks[1], shed.id, 0, "1")],
            key=lambda row: (row[1], row[0]),
        )
        with pytest.raises(InvalidSiteError) as caught:
            await sites.assign_evse(
                db_session,
                shed.id,
                uuid.uuid4(),
                priority=5000,
                max_current_a=D(200),
                phases="2",
            )
        assert caught.value.errors == {
            "evse_pk": "Choose an EVSE from the list.",
            "priority": "Enter a number from -1000 to 1000.",
            "max_current_a": "Enter a current from 0.1 to 160 A, in steps of 0.1 A.",
            "phases": "Give the site phases the EVSE is wired to, e.g. 123, 231 or 2.",
        }
        for wiring in ("", "1123", "114", "4"):
            with pytest.raises(InvalidSiteError):
                await sites.assign_evse(db_session, root.id, evse_pks[0], phases=wiring)
        assert await sites.unassign_evse(db_session, evse_pks[0]) is True
        assert await sites.unassign_evse(db_session, evse_pks[0]) is False
        assert await _count(db_session, SiteEvse) == 1
    assert sites.evse_phases("231", 1) == (2,)
    assert sites.evse_phases("231", 3) == (2, 3, 1)
    assert sites.evse_phases("123", 2) == (1, 2)


async def test_schedules_are_checked_and_cap_the_site_in_its_timezone(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        root = await sites.create_site(db_session, replace(DEPOT, location_id=location.id))
        await sites.add_schedule(
            db_session,
            root.id,
            kind="time_of_use",
            weekdays=0b0011111,
            starts_at=time(7),
            ends_at=time(13, 30),
            limit_a=D(100),
            label="Day tariff",
        )
        await sites.add_schedule(
            db_session,
            root.id,
            kind="peak_shaving",
            weekdays=0b1111111,
            starts_at=time(12, 45),
            ends_at=time(14),
            limit_a=D("80.5"),
        )
        with pytest.raises(InvalidSiteError) as caught:
            await sites.add_schedule(
                db_session,
                root.id,
                kind="cheap",
                weekdays=0,
                starts_at=time(8),
                ends_at=time(8),
                limit_a=D(500),
                label="x" * 101,
            )
        assert caught.value.errors == {
            "kind": "Choose one of the options.",
            "weekdays": "Choose at least one weekday.",
            "ends_at": "A window cannot start and end at the same time.",
            "limit_a": "Enter a current from 0 to 160 A, in steps of 0.1 A.",
            "label": "At most 100 characters.",
        }
        repo = SmartChargingRepository(db_session)
        schedules = await repo.schedules([root.id])
        assert [(s.kind.value, s.label, s.limit_a) for s in schedules] == [
            ("time_of_use", "Day tariff", D(100)),
            ("peak_shaving", "", D("80.5")),
        ]
        tree = await repo.tree(root.id)
        # 12:00 UTC is 13:00 in Berlin: both windows; 13:45 Berlin: the peak window only.
        assert sites.allocator_nodes(tree, [], schedules, now=NOW) == [
            Node(root.id, None, (D("80.5"), D("80.5"), D("80.5")))
        ]
        later = NOW + timedelta(minutes=45)
        assert sites.allocator_nodes(tree, [], schedules, now=later) == [
            Node(root.id, None, (D("80.5"), D("80.5"), D("80.5")))
        ]
        evening = NOW + timedelta(hours=6)
        assert sites.allocator_nodes(tree, [], schedules, now=evening) == [
            Node(root.id, None, (D(160), D(160), D(160)))
        ]
        assert await _count(db_session, SiteSchedule) == 2


async def test_readings_keep_the_newest_per_kind_and_feed_the_allocator(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        root = await sites.create_site(db_session, DEPOT)
        garage = await sites.create_site(
            db_session,
            SiteInput(
                name="Garage", capacity_a=D(32), safe_limit_a=D(10), phases=1, parent_id=root.id
            ),
        )
        load = await sites.record_reading(
            db_session,
            root.id,
            kind="building_load",
            per_phase_a=[D(50), D("40.5"), D(70)],
            measured_at=NOW - timedelta(seconds=30),
            now=NOW,
        )
        assert load is not None
        assert (load.l1_a, load.l2_a, load.l3_a) == (D(50), D("40.5"), D(70))
        # A late delivery of an older value is ignored.
        assert (
            await sites.record_reading(
                db_session,
                root.id,
                kind="building_load",
                per_phase_a=[D(1), D(1), D(1)],
                measured_at=NOW - timedelta(minutes=5),
                now=NOW,
            )
            is None
        )
        await sites.record_reading(
            db_session,
            root.id,
            kind="solar",
            per_phase_a=[D(20), D(20), D(20)],
            measured_at=NOW - timedelta(seconds=10),
            now=NOW,
        )
        battery = await sites.record_reading(
            db_session,
            root.id,
            kind="battery",
            per_phase_a=[D(-5), D(0), D(5)],
            soc_percent=D("81.5"),
            measured_at=NOW,
            now=NOW,
        )
        assert battery is not None
        assert battery.soc_percent == D("81.5")
        # The garage's meter went quiet 10 minutes ago: its safe limit applies.
        await sites.record_reading(
            db_session,
            garage.id,
            kind="building_load",
            per_phase_a=[D(2), D(0), D(0)],
            measured_at=NOW - timedelta(minutes=10),
            now=NOW,
        )
        with pytest.raises(InvalidSiteError) as caught:
            await sites.record_reading(
                db_session,
                garage.id,
                kind="solar",
                per_phase_a=[D(-1), D(3), D("0.05")],
                soc_percent=D(50),
                measured_at=NOW + timedelta(minutes=3),
                now=NOW,
            )
        assert caught.value.errors == {
            "l1_a": "Enter a current from 0 to 99999.9 A, in steps of 0.1 A.",
            "l3_a": "Enter a current from 0 to 99999.9 A, in steps of 0.1 A.",
            "l2_a": "A single-phase site has no current on L2 and L3.",
            "soc_percent": "Only a battery reports a state of charge.",
            "measured_at": "This reading is dated in the future.",
        }
        with pytest.raises(InvalidSiteError) as caught:
            await sites.record_reading(
                db_session,
                root.id,
                kind="battery",
                per_phase_a=[D(1), D(1)],
                soc_percent=D(101),
                measured_at=datetime(2026, 11, 25, 12),
                now=NOW,
            )
        assert caught.value.errors == {
            "per_phase_a": "Give one current for each of L1, L2 and L3.",
            "soc_percent": "Enter a state of charge from 0 to 100 percent.",
            "measured_at": "Enter a date and time with its UTC offset.",
        }
        with pytest.raises(SiteNotFoundError):
            await sites.record_reading(
                db_session,
                uuid.uuid4(),
                kind="solar",
                per_phase_a=[D(0), D(0), D(0)],
                measured_at=NOW,
                now=NOW,
            )
        repo = SmartChargingRepository(db_session)
        tree = await repo.tree(root.id)
        readings = await repo.readings([root.id, garage.id])
        assert [(r.site_id, r.kind) for r in readings] == sorted(
            [
                (root.id, ReadingKind.BATTERY),
                (root.id, ReadingKind.BUILDING_LOAD),
                (root.id, ReadingKind.SOLAR),
                (garage.id, ReadingKind.BUILDING_LOAD),
            ],
            key=lambda row: (str(row[0]), row[1].value),
        )
        # 160 - load + solar + battery, per phase; the garage on its safe limit, L1 only.
        assert sites.allocator_nodes(tree, readings, [], now=NOW) == [
            Node(root.id, None, (D(125), D("139.5"), D(115))),
            Node(garage.id, root.id, (D(10), D(0), D(0))),
        ]
        # The subtree alone: the garage is its root.
        assert sites.allocator_nodes(tree[1:], readings, [], now=NOW) == [
            Node(garage.id, None, (D(10), D(0), D(0)))
        ]
        assert await _count(db_session, SiteReading) == 4


async def test_departure_targets_only_for_active_sessions(database: Database, make_brand) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        station = await add_station(db_session, location, "SC-002")
        session_id = await add_session_16(
            db_session, station, id_tag="FLEET-1", started_at=NOW, meter_start_wh=0
        )
        target = await sites.set_target(
            db_session,
            session_id,
            energy_wh=30_000,
            departure_at=NOW + timedelta(hours=4),
            now=NOW,
        )
        assert (target.energy_wh, target.departure_at) == (30_000, NOW + timedelta(hours=4))
        again = await sites.set_target(
            db_session,
            session_id,
            energy_wh=20_000,
            departure_at=NOW + timedelta(hours=2),
            now=NOW,
        )
        assert (again.energy_wh, again.departure_at) == (20_000, NOW + timedelta(hours=2))
        with pytest.raises(InvalidSiteError) as caught:
            await sites.set_target(db_session, uuid.uuid4(), energy_wh=0, departure_at=NOW, now=NOW)
        assert caught.value.errors == {
            "session_id": "This charging session does not exist.",
            "energy_wh": "Enter a number from 1 to 1000000.",
            "departure_at": "Choose a departure time in the future.",
        }
        stored = await SmartChargingRepository(db_session).targets([session_id])
        assert [(t.session_id, t.energy_wh) for t in stored] == [(session_id, 20_000)]
        assert await _count(db_session, ChargingTarget) == 1
