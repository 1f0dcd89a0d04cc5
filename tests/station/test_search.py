"""The station search returns exactly the nearest matching locations, in order, whatever
rings, boxes or shortcuts it takes to find them: checked against a brute-force search."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from tests.pwa.finder_factories import CCS, CHADEMO, T2, add_place, haversine_m
from voltlane.core.db import Database
from voltlane.models.tenant import ConnectorStandard
from voltlane.station.search import Position, StationSearch, search_locations, text_query

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
STATUSES = ("Available", "Available", "Charging", "Faulted")
# Plugs: (standard, watts); the rare one (MCS) is found connector first.
KINDS = ((T2, 11000), (T2, 22000), (CCS, 50000), (CCS, 150000), (CCS, 300000), (CHADEMO, 50000))


def brute_force(
    sites: list[dict[str, object]], search: StationSearch
) -> list[tuple[str, int | None]]:
    """Every matching site by exact distance (then name), computed here in Python."""
    found = []
    for site in sites:
        plugs = site["plugs"]
        assert isinstance(plugs, list)
        if not any(
            (not search.standards or standard in search.standards)
            and (search.min_power_w is None or watts >= search.min_power_w)
            and (not search.available or status == "Available")
            for standard, watts, status in plugs
        ):
            continue
        here = (Decimal(str(site["lat"])), Decimal(str(site["lon"])))
        distance = None
        if search.position is not None:
            distance = haversine_m((search.position.latitude, search.position.longitude), here)
            if search.radius_km is not None and distance > float(search.radius_km) * 1000:
                continue
        found.append((distance or 0.0, str(site["name"]), round(distance) if distance else None))
    found.sort()
    return [(name, metres) for _, name, metres in found[: search.limit]]


async def test_nearest_first_matches_a_brute_force_search(database: Database, make_brand) -> None:
    brand = await make_brand()
    rng = random.Random(20261125)
    sites: list[dict[str, object]] = []
    async with database.tenant_transaction(brand.key) as db_session:
        for n in range(240):
            # Most around three cities, some anywhere in Europe, a few by the 180th meridian.
            roll = rng.random()
            if roll < 0.7:
                lat0, lon0 = rng.choice(((53.55, 10.0), (48.14, 11.58), (51.45, -2.59)))
                lat, lon = lat0 + rng.gauss(0, 0.15), lon0 + rng.gauss(0, 0.25)
            elif roll < 0.95:
                lat, lon = rng.uniform(38, 60), rng.uniform(-9, 25)
            else:
                lat, lon = rng.uniform(-18.5, -16), rng.choice((179.8, -179.8)) + rng.gauss(0, 0.1)
                lon = max(min(lon, 179.9999), -179.9999)
            plugs = [(*rng.choice(KINDS), rng.choice(STATUSES)) for _ in range(rng.randint(1, 3))]
            if n % 60 == 0:
                plugs.append((ConnectorStandard.MCS, 1_000_000, "Available"))
            name = f"Site {n:03d}"
            await add_place(db_session, name, f"{lat:.7f}", f"{lon:.7f}", plugs)
            sites.append(
                {
                    "name": name,
                    "lat": Decimal(f"{lat:.7f}"),
                    "lon": Decimal(f"{lon:.7f}"),
                    "plugs": plugs,
                }
            )
    positions = [
        Position(Decimal("53.56"), Decimal("10.01")),  # in a cluster
        Position(Decimal("46.0"), Decimal("3.0")),  # in the countryside
        Position(Decimal("30.0"), Decimal("-40.0")),  # mid-Atlantic: nothing near
        Position(Decimal("-17.2"), Decimal("179.95")),  # by the 180th meridian
    ]
    searches = [
        StationSearch(limit=10),
        StationSearch(limit=25, standards=(CCS,)),
        StationSearch(limit=10, standards=(CCS, CHADEMO), min_power_w=100_000, available=True),
        StationSearch(limit=10, standards=(ConnectorStandard.MCS,)),
        StationSearch(limit=50, available=True, radius_km=Decimal(40)),
        StationSearch(limit=5, min_power_w=250_000),
    ]
    checked = 0
    async with database.tenant_session(brand.key) as db_session:
        for position in positions:
            for template in searches:
                search = StationSearch(
                    position=position,
                    radius_km=template.radius_km,
                    standards=template.standards,
                    min_power_w=template.min_power_w,
                    available=template.available,
                    limit=template.limit,
                )
                found = await search_locations(db_session, search, now=NOW)
                got = [(f.name, f.distance_m) for f in found]
                expected = brute_force(sites, search)
                assert [n for n, _ in got] == [n for n, _ in expected], (position, template)
                for (_, metres), (_, want) in zip(got, expected, strict=True):
                    assert metres is not None
                    assert want is not None
                    assert abs(metres - want) <= 1
                checked += len(got)
        by_name = await search_locations(db_session, StationSearch(limit=7), now=NOW)
    assert [f.name for f in by_name] == [f"Site {n:03d}" for n in range(7)]
    assert checked > 150


def test_text_becomes_a_prefix_query_of_its_words() -> None:
    assert text_query("Hamb") == "hamb:*"
    assert text_query("  Straße 12 ") == "straße:* & 12:*"
    assert text_query("Hafen-City, 20457") == "hafen:* & city:* & 20457:*"
    assert text_query("'); drop --") == "drop:*"
    assert text_query("!!") is None


async def test_only_published_locations_with_accepted_stations_are_found(
    database: Database, make_brand
) -> None:
    from voltlane.models.tenant import ChargingStation, RegistrationStatus  # noqa: PLC0415

    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_place(db_session, "Open site", "53.55", "10.0", station_id="OK-1")
        await add_place(db_session, "Hidden site", "53.55", "10.01", publish=False)
        await add_place(db_session, "Rejected site", "53.55", "10.02", station_id="NO-1")
        station = await db_session.scalar(
            select(ChargingStation).where(ChargingStation.station_id == "NO-1")
        )
        assert station is not None
        station.registration_status = RegistrationStatus.REJECTED
    async with database.tenant_session(brand.key) as db_session:
        found = await search_locations(
            db_session, StationSearch(position=Position(Decimal("53.55"), Decimal("10.0"))), now=NOW
        )
    assert [f.name for f in found] == ["Open site"]
