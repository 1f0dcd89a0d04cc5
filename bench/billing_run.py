"""`python -m bench.billing_run`: the CDRs of many ended sessions, made by the real path.

Sets up a throw-away database (the embedded PostgreSQL with its fast settings, or a
throw-away database on DATABASE_URL's server), provisions one brand for real, gives it
``--tariffs`` tariffs (ENERGY + TIME + FLAT, VAT 19 %), each assigned to its own location
with one station, bulk-inserts ``--sessions`` finished sessions (their Transaction.Begin and
Transaction.End register readings; random energy, duration, location) and then rates them
with ``billing.rate_pending_batch`` (the catch-up of the worker), ``--batch`` sessions per
transaction, each batch starting where the previous one ended, in one process, until none
is left. Reports sessions per second, the rating's CPU time and its peak RSS apart from the
setup's, checks every CDR cent by cent against an independent Decimal oracle written here
(its inputs held as arrays by session position), and runs the rating again to show that it
creates nothing the second time. ``--keep`` leaves the database (and the embedded server) running
for a look at its plans.

    .venv/bin/python -m bench.billing_run [--sessions 20000] [--tariffs 20] [--batch 500]
        [--processes 2] [--keep]

Numbers belong in docs/benchmarks.md with the machine, the commit and the command.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import time
import uuid
from array import array
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg
from sqlalchemy.pool import NullPool

from bench.ocpp_load import (
    REPO,
    commit,
    libpq_url,
    machine,
    provision_brands,
    throwaway_database,
)
from voltlane.billing import create_tariff_version, rate_pending_batch
from voltlane.billing.tariffs import assign_tariff
from voltlane.core.db import Database, sync_engine
from voltlane.tariff import SegmentKind
from voltlane.tenancy.migrations import upgrade_platform

CENT = Decimal("0.01")
VAT = Decimal(19)
T0 = datetime(2026, 10, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Prices:
    energy: Decimal  # per kWh
    time: Decimal  # per hour
    flat: Decimal


def prices(n: int) -> Prices:
    return Prices(
        energy=Decimal("0.30") + Decimal(n) * Decimal("0.0125"),
        time=Decimal("0.60") + Decimal(n) * Decimal("0.05"),
        flat=Decimal("0.25") + Decimal(n) * Decimal("0.01"),
    )


def oracle(p: Prices, energy_wh: int, seconds: int) -> tuple[int, int, int]:
    """Independent of voltlane.tariff: each line rounded half up to the cent, VAT on their
    sum, half up. Returns (excl. VAT, VAT, incl. VAT) in cents."""
    # Multiply first, divide last: seconds / 3600 is not a finite decimal, and rounding it
    # first can turn an exact half cent into a hair less.
    energy = (Decimal(energy_wh) * p.energy / 1000).quantize(CENT, ROUND_HALF_UP)
    time_cost = (Decimal(seconds) * p.time / 3600).quantize(CENT, ROUND_HALF_UP)
    net = energy + time_cost + p.flat.quantize(CENT, ROUND_HALF_UP)
    vat = (net * VAT / 100).quantize(CENT, ROUND_HALF_UP)
    return int(net * 100), int(vat * 100), int((net + vat) * 100)


def definition(n: int) -> dict[str, object]:
    p = prices(n)
    return {
        "id": f"T{n:02d}",
        "currency": "EUR",
        "elements": [
            {
                "price_components": [
                    {"type": "ENERGY", "price": p.energy, "vat": VAT, "step_size": 1},
                    {"type": "TIME", "price": p.time, "vat": VAT, "step_size": 1},
                    {"type": "FLAT", "price": p.flat, "vat": VAT, "step_size": 0},
                ]
            }
        ],
    }


async def setup_tariffs(url: str, key: str, tariffs: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """One location + station + EVSE per tariff; returns (station pk, evse pk) per tariff."""
    placed = []
    with psycopg.connect(libpq_url(url)) as conn:
        schema = f'"tenant_{key}"'
        for n in range(tariffs):
            location, station, evse = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            conn.execute(
                f"INSERT INTO {schema}.locations (id, name, address, city, country, latitude,"
                " longitude, timezone, opening_hours, publish) VALUES (%s, %s, 'Street 1',"
                " 'Berlin', 'DEU', 52.5, 13.4, 'Europe/Berlin', '{\"twentyfourseven\": true}',"
                " true)",
                (location, f"Site {n}"),
            )
            conn.execute(
                f"INSERT INTO {schema}.charging_stations (id, location_id, station_id,"
                " security_profile, password_hash, registration_status) VALUES"
                " (%s, %s, %s, 1, 'x', 'Accepted')",
                (station, location, f"BILL{n:03d}"),
            )
            conn.execute(
                f"INSERT INTO {schema}.evses (id, charging_station_id, evse_id) VALUES (%s, %s, 1)",
                (evse, station),
            )
            placed.append((location, station, evse))
    database = Database(url, pool_size=2)
    try:
        async with database.tenant_transaction(key) as db_session:
            for n, (location, _, _) in enumerate(placed):
                await create_tariff_version(
                    db_session,
                    definition=definition(n),
                    segment=SegmentKind.PUBLIC,
                    segment_ref=None,
                    idle_fee=None,
                    brand_currency="EUR",
                    created_by="bench",
                )
                await assign_tariff(db_session, f"T{n:02d}", location_id=location)
    finally:
        await database.dispose()
    return [(station, evse) for _, station, evse in placed]


@dataclass(frozen=True, slots=True)
class Expected:
    """The oracle's inputs of every session, by its position n (its transaction id is
    n + 1): arrays of machine integers, about 9 bytes a session, not a dict of ids and
    tuples (some 0.5 KB a session, which at 1,000,000 sessions outweighed the rating)."""

    tariff: array[int]
    energy_wh: array[int]
    seconds: array[int]

    def totals(self, n: int) -> tuple[int, int, int]:
        return oracle(prices(self.tariff[n]), self.energy_wh[n], self.seconds[n])


def insert_sessions(
    url: str, key: str, placed: list[tuple[uuid.UUID, uuid.UUID]], count: int, seed: int
) -> Expected:
    """COPY ``count`` finished sessions, then their start and stop readings (made from the
    sessions' own columns by two INSERT ... SELECT); returns the oracle's inputs."""
    rng = random.Random(seed)
    expected = Expected(array("H"), array("l"), array("l"))
    schema = f'"tenant_{key}"'
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        with cur.copy(
            f"COPY {schema}.charging_sessions (id, charging_station_id, evse_pk, evse_id,"
            " connector_id, protocol, transaction_id, id_token, id_token_type, status,"
            " started_at, stopped_at, meter_start_wh, meter_stop_wh, energy_wh, offline,"
            " stop_reason) FROM STDIN"
        ) as copy:
            for n in range(count):
                tariff = rng.randrange(len(placed))
                station, evse = placed[tariff]
                start = T0 + timedelta(seconds=rng.randrange(0, 30 * 86400))
                seconds = rng.randrange(300, 4 * 3600)
                energy = rng.randrange(0, 60_000)
                meter_start = rng.randrange(0, 10_000_000)
                expected.tariff.append(tariff)
                expected.energy_wh.append(energy)
                expected.seconds.append(seconds)
                stop = start + timedelta(seconds=seconds)
                row = [uuid.uuid4(), station, evse, 1, 1, "ocpp1.6", str(n + 1)]
                row += [f"TAG{n % 50_000:05d}", "ISO14443", "finished", start, stop]
                row += [meter_start, meter_start + energy, energy, False, "Local"]
                copy.write_row(row)
        register = "'Energy.Active.Import.Register', 'Wh'"
        for at, value, context in (
            ("started_at", "meter_start_wh", "NULL"),
            ("stopped_at", "meter_stop_wh", "'Transaction.End'"),
        ):
            cur.execute(
                f"INSERT INTO {schema}.meter_samples (session_id, charging_station_id, evse_id,"
                f" sampled_at, measurand, unit, value, context) SELECT id, charging_station_id,"
                f" 1, {at}, {register}, {value}, {context} FROM {schema}.charging_sessions"
            )
        conn.commit()
        conn.execute(f"ANALYZE {schema}.charging_sessions")
        conn.execute(f"ANALYZE {schema}.meter_samples")
    return expected


def _rate_in_process(url: str, key: str, batch: int) -> tuple[int, float]:
    return asyncio.run(rate_all(url, key, batch))


async def rate_parallel(url: str, key: str, batch: int, processes: int) -> tuple[int, float]:
    """``rate_all`` in ``processes`` processes at once (each takes the batches the others
    have not locked); CDRs created and wall time."""
    if processes == 1:
        return await rate_all(url, key, batch)
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    with ProcessPoolExecutor(max_workers=processes) as pool:
        done = await asyncio.gather(
            *(
                loop.run_in_executor(pool, _rate_in_process, url, key, batch)
                for _ in range(processes)
            )
        )
    return sum(created for created, _ in done), time.perf_counter() - started


async def rate_all(url: str, key: str, batch: int) -> tuple[int, float]:
    database = Database(url, pool_size=2)
    created = 0
    started = time.perf_counter()
    try:
        after = None
        while True:
            # Each batch starts where the previous one ended (a keyset over the index of
            # finished sessions); the run ends when a batch finds nothing after it.
            async with database.tenant_transaction(key) as db_session:
                done = await rate_pending_batch(db_session, limit=batch, after=after)
            created += done.created
            if done.last is None:
                break
            after = done.last
    finally:
        await database.dispose()
    return created, time.perf_counter() - started


def check(url: str, key: str, expected: Expected) -> tuple[int, int]:
    """(CDRs, CDRs whose totals differ from the oracle), read through a server-side cursor
    so that the check holds one page of CDRs at a time."""
    wrong = 0
    rows = 0
    schema = f'"tenant_{key}"'
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor(name="cdrs") as cur:
        cur.execute(
            f"SELECT s.transaction_id, c.total_excl_vat, c.total_vat, c.total_incl_vat"
            f" FROM {schema}.cdrs c JOIN {schema}.charging_sessions s ON s.id = c.session_id"
        )
        for transaction_id, excl, vat, incl in cur:
            rows += 1
            if (excl, vat, incl) != expected.totals(int(transaction_id) - 1):
                wrong += 1
    return rows, wrong


def _reset_peak_rss() -> bool:
    """Start this process's peak RSS afresh (Linux: writing 5 to /proc/self/clear_refs
    resets VmHWM); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _peak_rss_mib() -> float:
    """The peak RSS of this process (since it started or was last reset) or of a child (the
    runs of ``--processes``), whichever is larger."""
    return max(
        resource.getrusage(who).ru_maxrss / 1024
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )


def _cpu_seconds() -> float:
    """CPU used so far by this process and its finished children (the parallel runs)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--tariffs", type=int, default=20)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--processes", type=int, default=1, help="billing runs in parallel")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (and its server) afterwards"
    )
    args = parser.parse_args()
    with throwaway_database(pg_stats=False, keep=args.keep) as (url, server, _postmaster):
        engine = sync_engine(url, poolclass=NullPool)
        upgrade_platform(engine, REPO / "migrations")
        engine.dispose()
        [key] = await provision_brands(url, 1)
        placed = await setup_tariffs(url, key, args.tariffs)
        t0 = time.perf_counter()
        expected = insert_sessions(url, key, placed, args.sessions, args.seed)
        print(f"setup: {args.sessions} sessions in {time.perf_counter() - t0:.1f} s", flush=True)
        setup_mib = _peak_rss_mib()
        # From here the peak is the rating's (and the oracle's arrays it shares the process
        # with), not the setup's.
        rating_only = _reset_peak_rss()
        cpu = _cpu_seconds()
        created, seconds = await rate_parallel(url, key, args.batch, args.processes)
        cpu = _cpu_seconds() - cpu
        rss_mib = _peak_rss_mib()
        again, again_seconds = await rate_all(url, key, args.batch)
        rows, wrong = check(url, key, expected)
    rate = created / seconds if seconds else 0.0
    print(f"\nMeasured {datetime.now(UTC):%Y-%m-%d}, commit `{commit()}`, {machine()}, {server}.")
    print(
        "Command: `python -m bench.billing_run "
        f"--sessions {args.sessions} --tariffs {args.tariffs} --batch {args.batch}"
        f" --processes {args.processes}`\n"
    )
    print("| measure | value |\n|---|---|")
    print(f"| CDRs created | {created} of {args.sessions} sessions |")
    print(f"| time | {seconds:.1f} s ({rate:.0f} sessions/s, {args.processes} process(es)) |")
    print(f"| CPU of the rating process(es) | {cpu:.1f} s ({cpu / created * 1000:.3f} ms a CDR) |")
    during = "the rating" if rating_only else "setup and rating (peak not resettable here)"
    print(f"| peak RSS of one process during {during} | {rss_mib:.0f} MiB |")
    print(f"| peak RSS of the benchmark's process during setup | {setup_mib:.0f} MiB |")
    print(f"| CDRs that differ from the Decimal oracle | {wrong} of {rows} |")
    print(f"| second run | {again} CDRs created in {again_seconds:.1f} s |")
    print(f"| 1,000,000 sessions at this rate | {1_000_000 / rate / 60:.0f} min |" if rate else "")


if __name__ == "__main__":
    asyncio.run(main())
