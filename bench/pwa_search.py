"""`python -m bench.pwa_search`: the driver app's station search over 100,000 stations.

Sets up a throw-away database (the embedded PostgreSQL with its fast settings, or a
throw-away database on DATABASE_URL's server), provisions one brand for real (its schema
built by the real migrations), and bulk-inserts ``--stations`` published locations with one
charging station each: clustered around 40 European cities (three in four) or anywhere
between Lisbon and Warsaw, 1 to 4 EVSEs of Type 2 (11/22 kW), CCS (50-350 kW) or CHAdeMO,
live connector statuses (about 60 % Available), and one in five with regular opening hours
instead of 24/7. Then it drives ``GET /api/app/v1/stations`` of the real web app in-process
over ASGI (httpx's ASGITransport, as ``python -m bench`` does: no sockets, so the numbers are
the application's own cost: host resolution, a database transaction, the search queries,
JSON) with ``--queries`` varied searches, one after the other, after a warm-up, and prints
the latency percentiles overall and per kind of search: wall clock, and the CPU time the
request took in this process plus the database's backends (from /proc; the latency the
request would have on cores nobody else uses, which is what a shared machine's wall clock
hides).

    .venv/bin/python -m bench.pwa_search [--stations 100000] [--queries 400]

Numbers belong in docs/benchmarks.md with the machine, the commit and the command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy.pool import NullPool

from bench.ocpp_load import REPO, commit, libpq_url, machine, percentile, throwaway_database
from voltlane.app import create_app
from voltlane.core.db import Database, sync_engine
from voltlane.settings import load_settings
from voltlane.tenancy import service as tenancy
from voltlane.tenancy.migrations import upgrade_platform
from voltlane.tenancy.spec import TenantSpec

KEY = "searchbench"
SLUG = "search-bench"
CITIES = (
    ("Berlin", 52.520, 13.405),
    ("Hamburg", 53.551, 9.994),
    ("München", 48.137, 11.575),
    ("Köln", 50.938, 6.960),
    ("Frankfurt", 50.110, 8.682),
    ("Stuttgart", 48.776, 9.183),
    ("Düsseldorf", 51.228, 6.774),
    ("Leipzig", 51.340, 12.375),
    ("Dresden", 51.050, 13.738),
    ("Hannover", 52.376, 9.732),
    ("Nürnberg", 49.452, 11.077),
    ("Bremen", 53.079, 8.802),
    ("Wien", 48.208, 16.373),
    ("Zürich", 47.377, 8.541),
    ("Amsterdam", 52.368, 4.904),
    ("Rotterdam", 51.924, 4.478),
    ("Brussel", 50.850, 4.352),
    ("Paris", 48.857, 2.352),
    ("Lyon", 45.764, 4.836),
    ("Marseille", 43.296, 5.370),
    ("London", 51.507, -0.128),
    ("Birmingham", 52.486, -1.890),
    ("Manchester", 53.481, -2.243),
    ("Bristol", 51.455, -2.588),
    ("København", 55.676, 12.568),
    ("Oslo", 59.914, 10.752),
    ("Stockholm", 59.329, 18.069),
    ("Warszawa", 52.230, 21.012),
    ("Praha", 50.076, 14.438),
    ("Milano", 45.464, 9.190),
    ("Torino", 45.070, 7.687),
    ("Madrid", 40.417, -3.704),
    ("Barcelona", 41.385, 2.173),
    ("Lisboa", 38.722, -9.139),
    ("Luxembourg", 49.612, 6.130),
    ("Basel", 47.560, 7.589),
    ("Graz", 47.071, 15.439),
    ("Gent", 51.054, 3.717),
    ("Lille", 50.629, 3.057),
    ("Strasbourg", 48.573, 7.752),
)
# (standard, format, power type, V, A, W choices)
CONNECTORS = (
    ("IEC_62196_T2", "SOCKET", "AC_3_PHASE", 400, 32, (11000, 22000)),
    ("IEC_62196_T2_COMBO", "CABLE", "DC", 920, 500, (50000, 150000, 300000, 350000)),
    ("CHADEMO", "CABLE", "DC", 500, 125, (50000,)),
)
STATUSES = ("Available",) * 12 + ("Charging",) * 5 + ("Faulted", "Unavailable", "Unknown")
REGULAR_HOURS = {
    "twentyfourseven": False,
    "regular_hours": [
        {"weekday": day, "period_begin": "07:00", "period_end": "22:00"} for day in range(1, 7)
    ],
}


@dataclass(frozen=True, slots=True)
class Query:
    kind: str
    params: dict[str, str]


def place(rng: random.Random) -> tuple[str, float, float]:
    if rng.random() < 0.75:
        city, lat, lon = rng.choice(CITIES)
        return city, lat + rng.gauss(0, 0.12), lon + rng.gauss(0, 0.18)
    return "Land", rng.uniform(40.0, 56.0), rng.uniform(-9.0, 21.0)


def insert_network(url: str, stations: int, seed: int) -> int:
    """COPY ``stations`` locations with a station, EVSEs and connectors each; the number of
    EVSEs inserted."""
    rng = random.Random(seed)
    schema = f'"tenant_{KEY}"'
    evse_count = 0
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for n in range(stations):
            city, lat, lon = place(rng)
            location, station = uuid.uuid4(), uuid.uuid4()
            hours = REGULAR_HOURS if rng.random() < 0.2 else {"twentyfourseven": True}
            postal = f"{rng.randrange(10000, 99999)}"
            rows["locations"].append(
                (
                    location,
                    f"Site {n:06d} {city}",
                    f"Straße {n % 997 + 1}",
                    city,
                    postal,
                    "DEU",
                    f"{lat:.7f}",
                    f"{lon:.7f}",
                    "Europe/Berlin",
                    json.dumps(hours),
                    True,
                )
            )
            rows["charging_stations"].append((station, location, f"SB{n:06d}", 1, "x", "Accepted"))
            kind = rng.choices(CONNECTORS, weights=(6, 3, 1))[0]
            for evse_id in range(1, rng.choice((1, 2, 2, 2, 3, 4)) + 1):
                evse = uuid.uuid4()
                evse_count += 1
                rows["evses"].append((evse, station, evse_id))
                standard, fmt, power_type, volts, amps, watts = kind
                rows["connectors"].append(
                    (
                        uuid.uuid4(),
                        evse,
                        1,
                        standard,
                        fmt,
                        power_type,
                        volts,
                        amps,
                        rng.choice(watts),
                        rng.choice(STATUSES),
                    )
                )
        columns = {
            "locations": "id, name, address, city, postal_code, country, latitude, longitude,"
            " timezone, opening_hours, publish",
            "charging_stations": "id, location_id, station_id, security_profile, password_hash,"
            " registration_status",
            "evses": "id, charging_station_id, evse_id",
            "connectors": "id, evse_pk, connector_id, standard, format, power_type, max_voltage,"
            " max_amperage, max_electric_power, status",
        }
        for table, names in columns.items():
            with cur.copy(f"COPY {schema}.{table} ({names}) FROM STDIN") as copy:
                for row in rows[table]:
                    copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        for table in columns:
            conn.execute(f"ANALYZE {schema}.{table}")
    return evse_count


def queries(count: int, seed: int) -> list[Query]:
    """Varied searches: around a city or anywhere, with and without radius and filters, by
    text with and without a position, and by name alone."""
    rng = random.Random(seed + 1)
    found = []
    for _ in range(count):
        _, lat, lon = place(rng)
        params = {"lat": f"{lat:.5f}", "lon": f"{lon:.5f}", "limit": rng.choice(("20", "50"))}
        roll = rng.random()
        if roll < 0.30:
            kind = "nearest"
        elif roll < 0.50:
            kind = "nearest + radius"
            params["radius_km"] = rng.choice(("5", "10", "25", "100"))
        elif roll < 0.80:
            kind = "nearest + filters"
            params["standard"] = rng.choice(("IEC_62196_T2", "IEC_62196_T2_COMBO", "CHADEMO"))
            if rng.random() < 0.5:
                params["min_kw"] = rng.choice(("50", "150"))
            if rng.random() < 0.6:
                params["available"] = "true"
            if rng.random() < 0.3:
                params["open_now"] = "true"
        elif roll < 0.90:
            kind = "text + position"
            params["q"] = rng.choice(CITIES)[0][:5]
        else:
            kind = "text only"
            params = {"q": rng.choice((rng.choice(CITIES)[0], f"{rng.randrange(10, 99)}"))}
            params["limit"] = "20"
        found.append(Query(kind, params))
    return found


async def provision(url: str) -> None:
    database = Database(url, pool_size=2)
    try:
        spec = TenantSpec(
            key=KEY,
            slug=SLUG,
            name="Search bench",
            theme="harbour",
            locale="en_GB",
            currency="EUR",
            timezone="Europe/Berlin",
        )
        async with database.platform_transaction() as db_session:
            info, _ = await tenancy.register_tenant(db_session, spec)
        await tenancy.provision_tenant(database, REPO / "migrations", info.id)
    finally:
        await database.dispose()


def _cpu_ns(pids: list[int]) -> int:
    """CPU time (ns) of this process and of the database backends ``pids`` so far: what a
    request costs when nothing else wants the cores (Linux /proc/<pid>/schedstat)."""
    total = time.process_time_ns()
    for pid in pids:
        with contextlib.suppress(OSError):
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    return total


def _backends(url: str) -> list[int]:
    """The client backends of the bench database, the app's pooled connections among them."""
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(pid) for (pid,) in rows]


@dataclass
class Timings:
    """Per kind of search: wall-clock milliseconds, and CPU milliseconds of the app process
    plus the database backends (meaningful when the database runs on this machine)."""

    wall: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    cpu: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def add(self, kind: str, wall_ms: float, cpu_ms: float) -> None:
        for key in (kind, "all"):
            self.wall[key].append(wall_ms)
            self.cpu[key].append(cpu_ms)


async def measure(url: str, plan: list[Query], warmup: int) -> Timings:
    settings = replace(
        load_settings(),
        database_url=url,
        home=REPO,
        tenants_dir=REPO / "tenants",
        themes_dir=REPO / "themes",
        migrations_dir=REPO / "migrations",
        demo=False,
    )
    app = create_app(settings, database_url=url)
    timings = Timings()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=f"http://{SLUG}.localhost"
    ) as client:
        for query in plan[:warmup]:
            response = await client.get("/api/app/v1/stations", params=query.params)
            assert response.status_code == 200, response.text
        backends = _backends(url)
        for query in plan:
            cpu = _cpu_ns(backends)
            started = time.perf_counter()
            response = await client.get("/api/app/v1/stations", params=query.params)
            elapsed = (time.perf_counter() - started) * 1000
            cpu_ms = (_cpu_ns(backends) - cpu) / 1e6
            assert response.status_code == 200, response.text
            timings.add(query.kind, elapsed, cpu_ms)
    await app.state["web"].database.dispose()
    return timings


def row(kind: str, wall: list[float], cpu: list[float]) -> str:
    p50, p95, p99 = (percentile(wall, p) for p in (50, 95, 99))
    c50, c95 = (percentile(cpu, p) for p in (50, 95))
    return (
        f"| {kind} | {len(wall)} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {max(wall):.1f}"
        f" | {c50:.1f} | {c95:.1f} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    os.environ.setdefault("VOLTLANE_SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("VOLTLANE_LOG_LEVEL", "ERROR")
    with throwaway_database(pg_stats=False, keep=False) as (url, server, _postmaster):
        engine = sync_engine(url, poolclass=NullPool)
        upgrade_platform(engine, REPO / "migrations")
        engine.dispose()
        await provision(url)
        started = time.perf_counter()
        evses = insert_network(url, args.stations, args.seed)
        print(
            f"setup: {args.stations} stations, {evses} EVSEs in"
            f" {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        load_before = os.getloadavg()[0]
        timings = await measure(url, queries(args.queries, args.seed), args.warmup)
    load = os.getloadavg()[0]
    print(f"\nMeasured {datetime.now(UTC):%Y-%m-%d}, commit `{commit()}`, {machine()}, {server}.")
    print(f"Load average (1 min): {load_before:.1f} before the requests, {load:.1f} after.")
    print(
        f"Command: `python -m bench.pwa_search --stations {args.stations}"
        f" --queries {args.queries}`\n"
    )
    print(
        "| search | requests | p50 ms | p95 ms | p99 ms | max ms | CPU p50 ms | CPU p95 ms |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    for kind in sorted(timings.wall, key=lambda k: (k == "all", k)):
        print(row(kind, timings.wall[kind], timings.cpu[kind]))


if __name__ == "__main__":
    asyncio.run(main())
