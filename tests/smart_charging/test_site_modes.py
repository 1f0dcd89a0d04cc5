"""Circuit modes as the model documents them: a circuit in mode ``off`` (and every circuit
under it) gets no profiles and counts its EVSEs at their maximum against the circuits
above; a ``static`` circuit gives at most its safe limit whatever its readings say."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from tests.factories import add_location, add_session_16, add_station
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    Evse,
    ProfileSupport,
    ReadingKind,
    StationProfileSupport,
)
from voltlane.smart_charging import site_state
from voltlane.smart_charging import sites as service
from voltlane.smart_charging.sites import SiteInput
from voltlane.tenancy import TenantInfo

D = Decimal


async def _tree(database: Database, brand: TenantInfo, mode: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A 63 A root with one EVSE (CP-R) and a 20 A circuit in ``mode`` with one (CP-C),
    both stations holding their defaults, a car charging at each."""
    now = utcnow()
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        root = await service.create_site(
            db_session, SiteInput(name="Hof", capacity_a=D(63), safe_limit_a=D(20))
        )
        circuit = await service.create_site(
            db_session,
            SiteInput(
                name="Garage", capacity_a=D(20), safe_limit_a=D(10), parent_id=root.id, mode=mode
            ),
        )
        for station_id, site in (("CP-R", root), ("CP-C", circuit)):
            station = await add_station(db_session, location, station_id)
            evse_pk = await db_session.scalar(
                select(Evse.id).where(Evse.charging_station_id == station.id)
            )
            assert evse_pk is not None
            await service.assign_evse(db_session, site.id, evse_pk, max_current_a=D(16))
            db_session.add(
                StationProfileSupport(
                    charging_station_id=station.id,
                    status=ProfileSupport.SUPPORTED,
                    checked_at=now - timedelta(minutes=30),
                )
            )
            await add_session_16(
                db_session,
                station,
                id_tag=f"CARD-{station_id}",
                started_at=now - timedelta(minutes=5),
                meter_start_wh=0,
            )
        return root.id, circuit.id


async def test_an_off_circuit_gets_no_profiles_and_counts_at_its_maximum(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    root, circuit = await _tree(database, brand, "off")
    now = utcnow()
    async with database.tenant_session(brand.key) as db_session:
        state = await site_state.load(db_session, root, now)
    assert state is not None
    managed = {slot.station_id: slot.managed for slot in state.slots}
    assert managed == {"CP-C": False, "CP-R": True}
    assert [
        s.station_id
        for s in state.slots
        if site_state.needs_defaults(state.support.get(s.station_pk), s, now)
    ] == []
    _, demands, live, available = site_state.demands(state, root, now)
    # Only the root's car is allocated; the off circuit's EVSE takes its 16 A off the root.
    assert [live[d.key].slot.station_id for d in demands] == ["CP-R"]  # type: ignore[index]
    assert available[root] == [D(47), D(47), D(47)]
    assert available[circuit] == [D(4), D(4), D(4)]


async def test_a_dynamic_circuit_is_allocated_like_its_root(database: Database, make_brand) -> None:
    brand = await make_brand()
    root, _ = await _tree(database, brand, "dynamic")
    async with database.tenant_session(brand.key) as db_session:
        state = await site_state.load(db_session, root, utcnow())
    assert state is not None
    _, demands, live, _ = site_state.demands(state, root, utcnow())
    assert sorted(live[d.key].slot.station_id for d in demands) == ["CP-C", "CP-R"]  # type: ignore[index]


async def test_a_static_circuit_ignores_its_readings_and_gives_its_safe_limit(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    root, circuit = await _tree(database, brand, "static")
    now = utcnow()
    async with database.tenant_transaction(brand.key) as db_session:
        await service.record_reading(
            db_session,
            circuit,
            kind=ReadingKind.SOLAR.value,
            per_phase_a=[D(30), D(30), D(30)],
            measured_at=now,
            now=now,
        )
    async with database.tenant_session(brand.key) as db_session:
        state = await site_state.load(db_session, root, now)
    assert state is not None
    assert state.nodes[circuit].available_a == (D(10), D(10), D(10))
    assert state.nodes[root].available_a == (D(63), D(63), D(63))
