"""The rebalancing pass with real OCPP 1.6 and 2.0.1 chargers over real WebSockets: defaults
at the minimum, TxProfiles with the transaction as cars come and go (lowers before raises,
never over the site), clears after a session ends, and stations that refuse flagged with
their fallback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tests.ocpp.conftest import add_ocpp_station, add_token, gateway
from tests.smart_charging.test_profiles import OpenStation, Station, commands, open_station
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AllocationStatus,
    ChargingAllocation,
    ChargingSession,
    ChargingStation,
    Evse,
    ProfileSupport,
    StationCommand,
    StationProfileSupport,
)
from voltlane.smart_charging import profiles, sites
from voltlane.smart_charging.loop import Pass, rebalance
from voltlane.smart_charging.profiles import ProfileOutcome
from voltlane.smart_charging.sites import SiteInput
from voltlane.station.commands import DatabaseStationCommands
from voltlane.tenancy import TenantInfo

__all__ = ["commands", "gateway", "open_station"]

D = Decimal
MakeBrand = Callable[..., Awaitable[TenantInfo]]


async def _site(database: Database, brand: TenantInfo, *station_ids: str) -> uuid.UUID:
    """A 32 A three-phase site (safe limit 16 A, minimum 6 A) with each station's EVSE 1."""
    async with database.tenant_transaction(brand.key) as db_session:
        site = await sites.create_site(
            db_session, SiteInput(name="Depot", capacity_a=D(32), safe_limit_a=D(16))
        )
        for station_id in station_ids:
            evse_pk = await db_session.scalar(
                select(Evse.id)
                .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
                .where(ChargingStation.station_id == station_id, Evse.evse_id == 1)
            )
            assert evse_pk is not None
            await sites.assign_evse(db_session, site.id, evse_pk)
        return site.id


async def _stations(
    database: Database, brand: TenantInfo, open_station: OpenStation, **protocols: str
) -> list[Station]:
    """Stations (``station_id=protocol``) with one EVSE, connected and booted, and a card
    ``CARD-<station id>`` each."""
    opened = []
    for station_id, protocol in protocols.items():
        await add_ocpp_station(database, brand, station_id)
        await add_token(database, brand, f"CARD-{station_id}")
        opened.append(await open_station(brand, station_id, protocol))
    return opened


def _limit(payload: dict[str, Any]) -> tuple[str, int, str | int | None, float]:
    """(purpose, profile id, transaction id, limit) of a SetChargingProfile as received."""
    if "cs_charging_profiles" in payload:
        profile = payload["cs_charging_profiles"]
        profile_id, [period] = (
            profile["charging_profile_id"],
            profile["charging_schedule"]["charging_schedule_period"],
        )
    else:
        profile = payload["charging_profile"]
        profile_id = profile["id"]
        [period] = profile["charging_schedule"][0]["charging_schedule_period"]
    return (
        profile["charging_profile_purpose"],
        profile_id,
        profile.get("transaction_id"),
        period["limit"],
    )


def _sets(station: Station) -> list[tuple[str, int, str | int | None, float]]:
    return [_limit(p) for p in station.sent()]


async def _session_id(database: Database, brand: TenantInfo, transaction: str) -> uuid.UUID:
    async with database.tenant_session(brand.key) as db_session:
        found = await db_session.scalar(
            select(ChargingSession.id).where(ChargingSession.transaction_id == transaction)
        )
    assert found is not None
    return found


async def _pass(
    database: Database,
    commands: DatabaseStationCommands,
    brand: TenantInfo,
    site: uuid.UUID,
    *,
    within: bool = True,
) -> Pass:
    done = await rebalance(database, commands, brand.key, site)
    assert done is not None
    if within:
        # What every station may be applying after the pass, with the default of each idle
        # EVSE, stays within the 32 A site.
        assert sum(done.believed.values(), D(0)) <= 32
        assert done.spare is None or done.spare >= 0
    return done


async def test_cars_arrive_share_the_site_and_leave(
    database: Database,
    make_brand: MakeBrand,
    open_station: OpenStation,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    a, b = await _stations(database, brand, open_station, A="ocpp1.6", B="ocpp2.0.1")
    site = await _site(database, brand, "A", "B")

    # No car yet: each EVSE gets its default at the minimum, once.
    empty = await _pass(database, commands, brand, site)
    again = await _pass(database, commands, brand, site)
    assert _sets(a) == [("TxDefaultProfile", 7_100_001, None, 6)]
    assert _sets(b) == [("TxDefaultProfile", 7_100_001, None, 6.0)]
    assert (empty.limits, again.limits, empty.flagged) == ({}, {}, [])
    async with database.tenant_session(brand.key) as db_session:
        support = list(await db_session.scalars(select(StationProfileSupport.status)))
    assert support == [ProfileSupport.SUPPORTED, ProfileSupport.SUPPORTED]

    # One car: the site but the 6 A a car at the idle EVSE would start at, in its
    # transaction.
    tx_a = await a.start(1, "CARD-A", "")
    session_a = await _session_id(database, brand, tx_a)
    alone = await _pass(database, commands, brand, site)
    assert (alone.limits, alone.spare) == ({session_a: D(26)}, D(0))
    assert alone.outcomes == {session_a: ProfileOutcome.ACCEPTED}
    assert _sets(a)[1:] == [("TxProfile", 7_200_001, int(tx_a), 26)]

    # A second car: A comes down to 16 A before B goes up from its default 6 A to 16 A.
    await b.start(1, "CARD-B", "tx-B")
    session_b = await _session_id(database, brand, "tx-B")
    shared = await _pass(database, commands, brand, site)
    assert shared.limits == {session_a: D(16), session_b: D(16)}
    assert shared.believed == {session_a: D(16), session_b: D(16)}
    assert _sets(a)[2:] == [("TxProfile", 7_200_001, int(tx_a), 16)]
    assert _sets(b)[1:] == [("TxProfile", 7_200_001, "tx-B", 16.0)]
    async with database.tenant_session(brand.key) as db_session:
        order = list(
            await db_session.scalars(
                select(StationCommand.station_id).order_by(StationCommand.created_at)
            )
        )
    assert order[-2:] == ["A", "B"]  # the lower went out before the raise
    steady = await _pass(database, commands, brand, site)
    assert steady.sent == {}

    # A leaves: its profile is cleared, B gets the site but A's idle minimum.
    await a.stop(tx_a)
    after = await _pass(database, commands, brand, site)
    assert after.limits == {session_b: D(26)}
    assert after.cleared == [session_a]
    assert a.sent("ClearChargingProfile") == [{"id": 7_200_001}]
    assert _sets(b)[2:] == [("TxProfile", 7_200_001, "tx-B", 26.0)]
    last = await _pass(database, commands, brand, site)
    assert (last.cleared, last.sent) == ([], {})
    async with database.tenant_session(brand.key) as db_session:
        rows = (
            await db_session.execute(
                select(
                    ChargingAllocation.session_id,
                    ChargingAllocation.limit_a,
                    ChargingAllocation.status,
                ).order_by(ChargingAllocation.decided_at, ChargingAllocation.session_id)
            )
        ).all()
    assert [(r.session_id == session_a, r.limit_a, r.status) for r in rows] == [
        (True, D(26), AllocationStatus.ACCEPTED),
        (True, D(16), AllocationStatus.ACCEPTED),
        (False, D(16), AllocationStatus.ACCEPTED),
        (False, D(26), AllocationStatus.ACCEPTED),
        (True, D(0), AllocationStatus.CLEARED),
    ]


async def test_stations_that_refuse_are_flagged_and_held_by_their_fallback(
    database: Database,
    make_brand: MakeBrand,
    open_station: OpenStation,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    for station_id in ("PICKY", "PLAIN", "GOOD"):
        await add_ocpp_station(database, brand, station_id)
        await add_token(database, brand, f"CARD-{station_id}")
    picky = await open_station(brand, "PICKY", "ocpp1.6")
    picky.profiles.answers = {"TxDefaultProfile": "Rejected"}  # takes a station maximum
    plain = await open_station(brand, "PLAIN", "ocpp2.0.1", smart=False)
    good = await open_station(brand, "GOOD", "ocpp2.0.1")
    site = await _site(database, brand, "PICKY", "GOOD")

    flagged = await _pass(database, commands, brand, site)

    assert flagged.flagged == ["PICKY"]
    assert _sets(picky) == [
        ("TxDefaultProfile", 7_100_001, None, 6),
        ("ChargePointMaxProfile", 7_000_000, None, 6),
    ]
    assert picky.sent()[1]["connector_id"] == 0
    async with database.tenant_session(brand.key) as db_session:
        support = {
            row.charging_station_id: (row.status, row.reason, row.fallback_limit_a)
            for row in await db_session.scalars(select(StationProfileSupport))
        }
    assert sorted(support.values(), key=str) == sorted(
        [
            (ProfileSupport.REJECTED, "TxDefaultProfile: Rejected", D(6)),
            (ProfileSupport.SUPPORTED, "", None),
        ],
        key=str,
    )

    # The flagged station's car counts at its fallback: the other gets the rest.
    tx_picky = await picky.start(1, "CARD-PICKY", "")
    await good.start(1, "CARD-GOOD", "tx-good")
    good_session = await _session_id(database, brand, "tx-good")
    shared = await _pass(database, commands, brand, site)
    assert shared.limits == {good_session: D(26)}
    assert _sets(good)[1:] == [("TxProfile", 7_200_001, "tx-good", 26.0)]
    assert len(picky.sent()) == 2  # nothing more for the flagged station
    del tx_picky

    # A station without smart charging in the site: flagged unsupported, and its car may
    # draw the EVSE's whole 32 A, so the other car is paused.
    async with database.tenant_transaction(brand.key) as db_session:
        evse_pk = await db_session.scalar(
            select(Evse.id)
            .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
            .where(ChargingStation.station_id == "PLAIN")
        )
        assert evse_pk is not None
        await sites.assign_evse(db_session, site, evse_pk)
    await plain.start(1, "CARD-PLAIN", "tx-plain")
    paused = await _pass(database, commands, brand, site, within=False)
    assert paused.flagged == ["PLAIN"]
    assert paused.limits == {good_session: D(0)}
    assert _sets(good)[2:] == [("TxProfile", 7_200_001, "tx-good", 0.0)]
    async with database.tenant_session(brand.key) as db_session:
        plain_support = await db_session.scalar(
            select(StationProfileSupport)
            .join(
                ChargingStation,
                ChargingStation.id == StationProfileSupport.charging_station_id,
            )
            .where(ChargingStation.station_id == "PLAIN")
        )
    assert plain_support is not None
    assert (
        plain_support.status,
        plain_support.reason,
        plain_support.fallback_limit_a,
    ) == (ProfileSupport.UNSUPPORTED, "TxDefaultProfile: NotImplemented", None)


async def test_a_raise_waits_while_a_lower_is_unanswered(
    database: Database,
    make_brand: MakeBrand,
    open_station: OpenStation,
    commands: DatabaseStationCommands,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(profiles, "DEADLINE_SECONDS", 1.0)
    brand = await make_brand()
    slow, new = await _stations(database, brand, open_station, SLOW="ocpp2.0.1", NEW="ocpp2.0.1")
    site = await _site(database, brand, "SLOW", "NEW")
    await _pass(database, commands, brand, site)
    await slow.start(1, "CARD-SLOW", "tx-slow")
    slow_session = await _session_id(database, brand, "tx-slow")
    assert (await _pass(database, commands, brand, site)).limits == {slow_session: D(26)}

    # The slow station does not answer its lower in time: it may still apply 26 A, so the
    # new car stays at its default 6 A.
    slow.profiles.hold = asyncio.Event()
    await new.start(1, "CARD-NEW", "tx-new")
    new_session = await _session_id(database, brand, "tx-new")
    held = await _pass(database, commands, brand, site)
    assert held.limits == {slow_session: D(16), new_session: D(16)}
    assert held.outcomes == {slow_session: ProfileOutcome.TIMEOUT}
    assert held.believed == {slow_session: D(26), new_session: D(6)}
    assert _sets(new) == [("TxDefaultProfile", 7_100_001, None, 6.0)]

    # Once it answers again the lower is sent anew, then the raise.
    slow.profiles.hold.set()
    slow.profiles.hold = None
    settled = await _pass(database, commands, brand, site)
    assert settled.outcomes == {
        slow_session: ProfileOutcome.ACCEPTED,
        new_session: ProfileOutcome.ACCEPTED,
    }
    assert settled.believed == {slow_session: D(16), new_session: D(16)}
    assert _sets(slow)[-1] == ("TxProfile", 7_200_001, "tx-slow", 16.0)
    assert _sets(new)[-1] == ("TxProfile", 7_200_001, "tx-new", 16.0)


async def test_the_building_load_and_its_staleness_move_the_limit(
    database: Database,
    make_brand: MakeBrand,
    open_station: OpenStation,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    [station] = await _stations(database, brand, open_station, SOLO="ocpp2.0.1")
    site = await _site(database, brand, "SOLO")
    await _pass(database, commands, brand, site)
    await station.start(1, "CARD-SOLO", "tx-solo")

    async def reading(amperes: int, age: timedelta) -> Pass:
        async with database.tenant_transaction(brand.key) as db_session:
            await sites.record_reading(
                db_session,
                site,
                kind="building_load",
                per_phase_a=[D(amperes)] * 3,
                measured_at=utcnow() - age,
            )
        return await _pass(database, commands, brand, site)

    unmetered = await _pass(database, commands, brand, site)
    stale = await reading(4, timedelta(minutes=6))  # older than the site's 300 s
    metered = await reading(10, timedelta(0))

    session = await _session_id(database, brand, "tx-solo")
    assert [p.sent for p in (unmetered, stale, metered)] == [
        {session: D(32)},
        {session: D(16)},  # nobody knows the building's load: the safe limit
        {session: D(22)},  # 32 A less the building's 10 A
    ]
    assert [limit for *_, limit in _sets(station)] == [6.0, 32.0, 16.0, 22.0]


async def test_a_departure_target_raises_its_share(
    database: Database,
    make_brand: MakeBrand,
    open_station: OpenStation,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    a, b = await _stations(database, brand, open_station, EASY="ocpp2.0.1", DUE="ocpp2.0.1")
    site = await _site(database, brand, "EASY", "DUE")
    await _pass(database, commands, brand, site)
    await a.start(1, "CARD-EASY", "tx-easy")
    await b.start(1, "CARD-DUE", "tx-due")
    easy = await _session_id(database, brand, "tx-easy")
    due = await _session_id(database, brand, "tx-due")
    async with database.tenant_transaction(brand.key) as db_session:
        # 22 kWh within the hour on three phases at 230 V needs 31.9 A.
        await sites.set_target(
            db_session, due, energy_wh=22_000, departure_at=utcnow() + timedelta(hours=1)
        )

    done = await _pass(database, commands, brand, site)

    assert done.limits == {easy: D(6), due: D(26)}
    assert _sets(b)[-1] == ("TxProfile", 7_200_001, "tx-due", 26.0)
