"""The issue's simulation: ten cars with different maximum currents and phase use arrive and
leave at ten real OCPP chargers (1.6 and 2.0.1) on a 100 kW site whose building load moves.

After every pass, from what the chargers themselves received: on each phase, the limits in
force (the last TxProfile of the transaction, else the 6 A default) plus the 6 A default of
every idle EVSE stay within the capacity the building leaves; every car gets at least its
minimum when the minimums fit; a paused car never has a higher priority than one that
charges; the cars that left have their profiles cleared."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal

from sqlalchemy import select

from tests.ocpp.conftest import add_ocpp_station, add_token, gateway
from tests.smart_charging.test_profiles import OpenStation, Station, commands, open_station
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingSession, ChargingStation, Evse
from voltlane.smart_charging import sites
from voltlane.smart_charging.loop import rebalance
from voltlane.smart_charging.sites import SiteInput
from voltlane.station.commands import DatabaseStationCommands
from voltlane.tenancy import TenantInfo

__all__ = ["commands", "gateway", "open_station"]

D = Decimal
CAPACITY = 145  # A per phase: 100 kW at 3 x 230 V
MINIMUM = 6
# Per car: maximum current (A), the site phases its EVSE is wired to, priority.
CARS = [
    (16, "123", 10),
    (32, "1", 0),
    (32, "123", 0),
    (16, "2", 0),
    (20, "3", 0),
    (32, "123", 10),
    (16, "123", 0),
    (32, "1", 0),
    (10, "2", 0),
    (25, "123", 0),
]
# (cars arriving, cars leaving, building load per phase) per step.
STEPS: list[tuple[range | list[int], list[int], tuple[int, int, int]]] = [
    ([], [], (20, 20, 20)),
    (range(5), [], (30, 25, 20)),
    (range(5, 10), [], (60, 50, 40)),
    ([], [], (110, 100, 125)),  # a spike: three of the six cars on L3 fit at 6 A
    ([], [0, 1, 2], (40, 40, 40)),
    ([], [], (40, 40, 40)),
]


def _in_force(station: Station, transaction: str | None) -> Decimal:
    """The limit the charger applies: its transaction's last TxProfile, else the default."""
    limit = D(MINIMUM)
    for payload in station.sent():
        profile = payload.get("cs_charging_profiles") or payload["charging_profile"]
        if transaction is not None and str(profile.get("transaction_id")) == transaction:
            schedule = profile["charging_schedule"]
            if isinstance(schedule, list):
                schedule = schedule[0]
            # Exact sums: a 1.6 charger's ocpp library reads the limit as a Decimal, a
            # 2.0.1 charger's as a float.
            limit = D(str(schedule["charging_schedule_period"][0]["limit"]))
    return limit


async def _site(database: Database, brand: TenantInfo) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        site = await sites.create_site(
            db_session,
            SiteInput(name="Fleet depot", capacity_a=D(CAPACITY), safe_limit_a=D(63)),
        )
        for index, (maximum, wiring, priority) in enumerate(CARS):
            evse_pk = await db_session.scalar(
                select(Evse.id)
                .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
                .where(ChargingStation.station_id == f"EV-{index}")
            )
            assert evse_pk is not None
            await sites.assign_evse(
                db_session,
                site.id,
                evse_pk,
                priority=priority,
                max_current_a=D(maximum),
                phases=wiring,
            )
        return site.id


async def test_ten_cars_on_a_100_kw_site(
    database: Database,
    make_brand: Callable[..., Awaitable[TenantInfo]],
    open_station: OpenStation,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    stations = []
    for index in range(len(CARS)):
        await add_ocpp_station(database, brand, f"EV-{index}")
        await add_token(database, brand, f"CARD-{index}")
        protocol = "ocpp1.6" if index % 2 else "ocpp2.0.1"
        stations.append(await open_station(brand, f"EV-{index}", protocol))
    site = await _site(database, brand)
    transactions: dict[int, str] = {}
    sessions: dict[int, uuid.UUID] = {}
    left: set[int] = set()

    for arriving, leaving, load in STEPS:
        for index in arriving:
            transactions[index] = await stations[index].start(1, f"CARD-{index}", f"tx-{index}")
            async with database.tenant_session(brand.key) as db_session:
                found = await db_session.scalar(
                    select(ChargingSession.id).where(
                        ChargingSession.transaction_id == transactions[index]
                    )
                )
            assert found is not None
            sessions[index] = found
        for index in leaving:
            await stations[index].stop(transactions.pop(index))
            left.add(index)
        async with database.tenant_transaction(brand.key) as db_session:
            await sites.record_reading(
                db_session,
                site,
                kind="building_load",
                per_phase_a=[D(a) for a in load],
                measured_at=utcnow(),
            )
        done = await rebalance(database, commands, brand.key, site)
        assert done is not None

        # On each phase, the limits in force and the defaults of idle EVSEs fit.
        for phase in (1, 2, 3):
            used = sum(
                _in_force(stations[i], transactions.get(i))
                for i, (_, wiring, _) in enumerate(CARS)
                if str(phase) in wiring
            )
            assert used <= CAPACITY - load[phase - 1], (load, phase, used)
        limits = {index: done.limits[sessions[index]] for index in transactions}
        mins_fit = all(
            sum(MINIMUM for i in transactions if str(phase) in CARS[i][1])
            <= CAPACITY - load[phase - 1]
            for phase in (1, 2, 3)
        )
        if mins_fit:
            assert all(limit >= MINIMUM for limit in limits.values()), limits
        paused = [i for i, limit in limits.items() if limit == 0]
        charging = [i for i, limit in limits.items() if limit > 0]
        assert all(CARS[p][2] <= CARS[c][2] for p in paused for c in charging)
        assert all(limits[i] <= CARS[i][0] for i in limits)
        if not mins_fit:
            assert sorted(paused) == [4, 6, 9]  # L3's cars of priority 0 but the oldest

    for index in left:
        [cleared] = stations[index].sent("ClearChargingProfile")
        assert cleared == ({"id": 7_200_001} if index % 2 else {"charging_profile_id": 7_200_001})
    assert all(not stations[i].sent("ClearChargingProfile") for i in transactions)
