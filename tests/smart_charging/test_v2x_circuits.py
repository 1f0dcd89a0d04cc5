"""OCPP 2.1 V2X at every level of a site: a circuit's discharge limit holds the cars under
it, and a car whose station stopped taking profiles after it accepted a discharge limit
still counts against the limits until its session ends; sent to the ``ocpp`` package's
real 2.1 ChargePoints over real WebSockets."""

from __future__ import annotations

import uuid
from decimal import Decimal

from ocpp.v21 import call as call21
from sqlalchemy import select

from tests.ocpp.conftest import gateway
from tests.smart_charging.test_profiles import Station, commands
from tests.smart_charging.test_v2x_discharge import (
    MakeBrand,
    Open21,
    _bidirectional,
    _pass,
    _periods,
    _rows,
    _start21,
    open21,
)
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingStation, Evse
from voltlane.smart_charging import sites
from voltlane.smart_charging.sites import SiteInput
from voltlane.station.commands import DatabaseStationCommands
from voltlane.tenancy import TenantInfo

__all__ = ["commands", "gateway", "open21"]

D = Decimal


async def _assign(database: Database, brand: TenantInfo, site_id: uuid.UUID, station: str) -> None:
    async with database.tenant_transaction(brand.key) as db_session:
        evse_pk = await db_session.scalar(
            select(Evse.id)
            .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
            .where(ChargingStation.station_id == station, Evse.evse_id == 1)
        )
        assert evse_pk is not None
        await sites.assign_evse(db_session, site_id, evse_pk)


async def _site(
    database: Database, brand: TenantInfo, bay_discharge_a: Decimal | None = None
) -> tuple[uuid.UUID, uuid.UUID]:
    """A 32 A three-phase site that lets cars feed back 16 A, and a 32 A circuit "Bay"
    under it (with its own discharge limit when given)."""
    async with database.tenant_transaction(brand.key) as db_session:
        site = await sites.create_site(
            db_session,
            SiteInput(name="Depot", capacity_a=D(32), safe_limit_a=D(16), discharge_limit_a=D(16)),
        )
        bay = await sites.create_site(
            db_session,
            SiteInput(
                name="Bay",
                capacity_a=D(32),
                safe_limit_a=D(16),
                discharge_limit_a=bay_discharge_a,
                parent_id=site.id,
            ),
        )
        return site.id, bay.id


def _last(station: Station) -> tuple[float, float | None]:
    period = _periods(station)[-1]
    return period["limit"], period.get("discharge_limit")


async def test_a_circuits_discharge_limit_holds_its_car_and_the_rest_goes_to_the_other(
    database: Database,
    make_brand: MakeBrand,
    open21: Open21,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    inside, outside = await open21(brand, "BAY-1"), await open21(brand, "YARD-1")
    site, bay = await _site(database, brand, bay_discharge_a=D(6))
    await _assign(database, brand, bay, "BAY-1")
    await _assign(database, brand, site, "YARD-1")
    await _pass(database, commands, brand, site)  # the defaults
    await _start21(inside, "tx-bay")
    await _start21(outside, "tx-yard")
    assert await _bidirectional(inside) == "Accepted"
    assert await _bidirectional(outside) == "Accepted"

    done = await _pass(database, commands, brand, site)

    # The bay lets its car feed back 6 A of the site's 16 A; the other car takes the 10 A
    # left (an equal split of the site's limit would have given each 8 A).
    assert _periods(inside) == [
        {
            "start_period": 0,
            "limit": 16.0,
            "number_phases": 3,
            "discharge_limit": -6.0,
            "operation_mode": "ExternalLimits",
        }
    ]
    assert _periods(outside) == [
        {
            "start_period": 0,
            "limit": 16.0,
            "number_phases": 3,
            "discharge_limit": -10.0,
            "operation_mode": "ExternalLimits",
        }
    ]
    assert sorted(done.discharges.values()) == [D("6.0"), D("10.0")]
    assert await _rows(database, brand) == [
        ("tx-bay", D("16.0"), D("6.0")),
        ("tx-yard", D("16.0"), D("10.0")),
    ]


async def test_a_circuit_without_a_discharge_limit_of_its_own_is_held_by_the_site(
    database: Database,
    make_brand: MakeBrand,
    open21: Open21,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    car = await open21(brand, "BAY-2")
    site, bay = await _site(database, brand)
    await _assign(database, brand, bay, "BAY-2")
    await _pass(database, commands, brand, site)
    await _start21(car, "tx-bay")
    assert await _bidirectional(car) == "Accepted"

    await _pass(database, commands, brand, site)

    # The bay's 32 A wiring would carry more: the site's 16 A is what holds the car.
    assert [_last(car)] == [(32.0, -16.0)]


async def test_a_flagged_station_still_counts_the_discharge_it_accepted_until_its_session_ends(
    database: Database,
    make_brand: MakeBrand,
    open21: Open21,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    first, second = await open21(brand, "V2X-A"), await open21(brand, "V2X-B")
    site, _ = await _site(database, brand)
    await _assign(database, brand, site, "V2X-A")
    await _assign(database, brand, site, "V2X-B")
    await _pass(database, commands, brand, site)
    await _start21(first, "tx-a")
    await _start21(second, "tx-b")
    # 6,900 W over three phases at 230 V: the first car feeds back at most 10 A.
    assert await _bidirectional(first, max_discharge_power=6_900) == "Accepted"
    await _pass(database, commands, brand, site)
    assert (_last(first), _last(second)) == ((16.0, -10.0), (16.0, None))

    # The first station reboots and refuses its defaults: it is flagged and held by its
    # fallback (6 A), but its car may still apply the 10 A discharge limit it accepted.
    first.profiles.answers["TxDefaultProfile"] = "Rejected"
    await first.cp.call(
        call21.BootNotification(
            charging_station={"model": "V2X11", "vendor_name": "Acme"}, reason="PowerUp"
        )
    )
    assert await _bidirectional(second) == "Accepted"
    done = await _pass(database, commands, brand, site)

    assert done.flagged == ["V2X-A"]
    # 32 A less the flagged station's 6 A; 16 A of discharge less the 10 A it may apply.
    assert _last(second) == (26.0, -6.0)
    assert list(done.discharges.values()) == [D("6.0")]

    # The first car leaves: its TxProfile is cleared and the whole 16 A is the second's.
    await first.stop("tx-a")
    await _pass(database, commands, brand, site)
    assert _last(second) == (26.0, -16.0)
    assert [name for name, _ in first.profiles.received][-1] == "ClearChargingProfile"
    assert await _rows(database, brand) == [
        ("tx-a", D("16.0"), D("10.0")),
        ("tx-b", D("16.0"), None),
        ("tx-b", D("26.0"), D("6.0")),
        ("tx-b", D("26.0"), D("16.0")),
        ("tx-a", D("0"), None),
    ]
