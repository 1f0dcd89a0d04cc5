"""`make bench-ocpp`: one OCPP gateway process under 10,000 stations.

Sets up a throw-away database (the embedded PostgreSQL with its fast settings, or a
throw-away database on DATABASE_URL's server), provisions brands for real, bulk-inserts N
stations with their EVSE, connector, IdToken and Basic-auth password hash, then starts
`voltlane ocpp` as its own process and drives it from this one with raw websockets clients
(see bench/ocpp_sim.py):

1. boot storm: N stations connect and send BootNotification, ``--connect-concurrency`` at a
   time; the time until every one has an Accepted reply;
2. idle hold: the gateway's RSS per connection and its CPU while N stations sit idle (only
   the gateway's pings), then while they send Heartbeat at the 300 s interval it handed out;
3. sustained traffic with persistence at each ``--rate``: transactions started, metered
   (energy register + power), status notifications, heartbeats, stopped; client round trip
   per call, achieved calls/s;
4. zero lost rows: every sample, status report and transaction a station got a reply for is
   compared with the brand's tables after the gateway stopped; a sample of replies is also
   looked up the moment the reply arrives (the reply must follow the commit).

    .venv/bin/python -m bench.ocpp_load [--stations 1000] [--rate 100] [--duration 30]
    .venv/bin/python -m bench.ocpp_load --stations 10000 --rate 150,2000 --duration 60 \
        --pg-stats --gc-stats --loop-stats [--profile DIR] [--unique-passwords] [--protocol mixed]

Each rate's phase makes ``rate x duration / --slots`` stations send (--slots calls each:
the mix, one stop and one start), so the mix is the same at every rate; the other stations
stay connected. The phase is steady state: each sender opens a transaction before it (not
timed) and stops it at its own moment in the phase, then starts the next one, which is
stopped after the phase (not timed). --profile records the gateway with py-spy during the
storm and one extra phase at the last rate; --gc-stats times its garbage collections
(bench/gc_probe), --loop-stats its group commit batches, frame-log copies and event-loop lag.

Numbers belong in docs/benchmarks.md with the machine, the commit and the command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bench.ocpp_sim import (
    Outcome,
    Station,
    StormResult,
    base_time_for_run,
    boot_storm,
    close_all,
    close_transactions,
    heartbeats,
    open_transactions,
    sustained,
)
from voltlane.core.database_url import drop_database, ensure_database
from voltlane.core.db import Database, sync_engine
from voltlane.core.pgserver import EmbeddedPostgres, free_port
from voltlane.identity.passwords import hash_station_password
from voltlane.tenancy import service as tenancy
from voltlane.tenancy.migrations import upgrade_platform
from voltlane.tenancy.spec import TenantSpec

REPO = Path(__file__).resolve().parents[1]
SHARED_PASSWORD = "bench-station-password-0001"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
PR_SET_PDEATHSIG = 1


# -- small measuring helpers -----------------------------------------------------------------
def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def rss_kb(pid: int) -> int:
    """VmRSS of the gateway: its process and, with --gateway-processes, the others."""
    total = 0
    for one in (pid, *children_of(pid)):
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
                break
        else:
            raise RuntimeError(f"process {one} is gone (no VmRSS)")
    return total


def system_busy_ticks() -> int:
    """Busy clock ticks of the whole machine (all cores) from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(fields[:8]) - fields[3] - fields[4]  # minus idle and iowait


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0
    return int(fields[11]) + int(fields[12])


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@dataclass
class CpuMeter:
    """CPU of the gateway, this generator, the PostgreSQL server (postmaster and backends)
    and everything else on the machine over a window, in % of one core."""

    gateway: int
    postmaster: int | None
    started: float = 0.0
    ticks: dict[str, int] = field(default_factory=dict)
    pg_ticks: dict[int, int] = field(default_factory=dict)

    def _pg(self) -> dict[int, int]:
        if self.postmaster is None:
            return {}
        return {p: cpu_ticks(p) for p in [self.postmaster, *children_of(self.postmaster)]}

    def _now(self) -> dict[str, int]:
        return {
            "gateway": sum(cpu_ticks(p) for p in (self.gateway, *children_of(self.gateway))),
            "generator": cpu_ticks(os.getpid()),
            "machine": system_busy_ticks(),
        }

    def start(self) -> None:
        self.started = time.perf_counter()
        self.ticks = self._now()
        self.pg_ticks = self._pg()

    def stop(self) -> dict[str, float]:
        elapsed = time.perf_counter() - self.started
        now = self._now()
        shares = {k: (now[k] - self.ticks[k]) / CLK_TCK / elapsed * 100 for k in now}
        # A backend that ended inside the window is missed; one that started counts whole.
        pg = sum(t - self.pg_ticks.get(p, 0) for p, t in self._pg().items())
        shares["postgres"] = pg / CLK_TCK / elapsed * 100
        others = shares["machine"] - shares["gateway"] - shares["generator"] - shares["postgres"]
        shares["others"] = others
        if self.postmaster is None:
            shares["postgres"] = float("nan")
        return shares


# -- database setup --------------------------------------------------------------------------
def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def provision_brands(url: str, brands: int) -> list[str]:
    database = Database(url, pool_size=2)
    keys = []
    try:
        for n in range(brands):
            spec = TenantSpec(
                key=f"ocpp{n:04d}",
                slug=f"ocpp{n}",
                name=f"OCPP bench {n}",
                theme="harbour",
                locale="en_GB",
                currency="EUR",
                timezone="Europe/Berlin",
            )
            async with database.platform_transaction() as db_session:
                info, _ = await tenancy.register_tenant(db_session, spec)
            await tenancy.provision_tenant(database, REPO / "migrations", info.id)
            keys.append(spec.key)
    finally:
        await database.dispose()
    return keys


def station_password(n: int, unique: bool) -> str:
    return f"bench-station-{n:06d}-pw-0001" if unique else SHARED_PASSWORD


def insert_stations(
    url: str, keys: list[str], count: int, *, unique_passwords: bool
) -> dict[str, tuple[str, uuid.UUID]]:
    """Bulk-insert ``count`` stations (spread over the brands) with one EVSE, one 22 kW
    connector and one accepted IdToken each; returns station id -> (brand key, pk).

    One argon2 hash is reused for every station unless ``unique_passwords`` (then each is
    hashed, in parallel: about 2 ms each here)."""
    if unique_passwords:
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            hashes = list(
                pool.map(
                    hash_station_password,
                    [station_password(n, unique=True) for n in range(count)],
                    chunksize=250,
                )
            )
    else:
        shared = hash_station_password(SHARED_PASSWORD)
        hashes = [shared] * count
    placed: dict[str, tuple[str, uuid.UUID]] = {}
    with psycopg.connect(libpq_url(url)) as conn:
        for b, key in enumerate(keys):
            schema = f'"tenant_{key}"'
            location = uuid.uuid4()
            conn.execute(
                f"INSERT INTO {schema}.locations (id, name, address, city, country, latitude,"
                " longitude, timezone, opening_hours, publish) VALUES (%s, 'Bench site',"
                " 'Street 1', 'Berlin', 'DEU', 52.5, 13.4, 'Europe/Berlin',"
                " '{\"twentyfourseven\": true}', true)",
                (location,),
            )
            mine = [n for n in range(count) if n % len(keys) == b]
            stations = []
            for n in mine:
                pk = uuid.uuid4()
                station_id = f"CP{n:05d}"
                stations.append((pk, location, station_id, 1, hashes[n], "Accepted"))
                placed[station_id] = (key, pk)
            evses = [(uuid.uuid4(), s[0], 1) for s in stations]
            with conn.cursor() as cur:
                with cur.copy(
                    f"COPY {schema}.charging_stations (id, location_id, station_id,"
                    " security_profile, password_hash, registration_status) FROM STDIN"
                ) as copy:
                    for row in stations:
                        copy.write_row(row)
                with cur.copy(
                    f"COPY {schema}.evses (id, charging_station_id, evse_id) FROM STDIN"
                ) as copy:
                    for evse in evses:
                        copy.write_row(evse)
                with cur.copy(
                    f"COPY {schema}.connectors (id, evse_pk, connector_id, standard, format,"
                    " power_type, max_voltage, max_amperage, max_electric_power) FROM STDIN"
                ) as copy:
                    for evse in evses:
                        connector = (uuid.uuid4(), evse[0], 1, "IEC_62196_T2", "SOCKET")
                        copy.write_row((*connector, "AC_3_PHASE", 400, 32, 22000))
                with cur.copy(
                    f"COPY {schema}.id_tokens (id, id_token, type, status) FROM STDIN"
                ) as copy:
                    for n in mine:
                        copy.write_row((uuid.uuid4(), f"TAG{n:05d}", "ISO14443", "Accepted"))
            conn.commit()
        conn.autocommit = True
        for key in keys:
            conn.execute(f'ANALYZE "tenant_{key}".charging_stations')
    return placed


@contextlib.contextmanager
def throwaway_database(pg_stats: bool, keep: bool) -> Iterator[tuple[str, str, int | None]]:
    """(url, server description, postmaster pid or None) of a database dropped afterwards."""
    configured = os.environ.get("VOLTLANE_DATABASE_URL") or os.environ.get("DATABASE_URL")
    server = None
    root = None
    postmaster = None
    if configured:
        server_url = (
            make_url(configured).set(database="postgres").render_as_string(hide_password=False)
        )
        kind = "external (DATABASE_URL)"
    else:
        root = Path("/tmp") / f"voltlane-ocpp-bench-{uuid.uuid4().hex[:8]}"
        root.mkdir(mode=0o755)
        server = EmbeddedPostgres(root / "pg", fast=True)
        server.initialise()
        if pg_stats:
            with (server.pgdata / "postgresql.conf").open("a") as conf:
                conf.write("\nshared_preload_libraries = 'pg_stat_statements'\n")
        server_url = server.start()
        postmaster = int((server.pgdata / "postmaster.pid").read_text().split()[0])
        kind = f"embedded ({server.binaries.origin} binaries, fsync off)"
    name = f"voltlane_ocpp_bench_{uuid.uuid4().hex[:8]}"
    ensure_database(server_url, name)
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(libpq_url(url)) as conn:
        version = conn.execute("SHOW server_version").fetchone()
    try:
        yield url, f"{kind}, PostgreSQL {version[0] if version else '?'}", postmaster
    finally:
        if keep:
            print(f"kept: {url} (embedded data in {root}); drop it by hand")
            return  # noqa: B012 - on purpose: nothing is cleaned up
        drop_database(server_url, name)
        if server is not None:
            server.destroy()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


# -- the gateway process ---------------------------------------------------------------------
def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class GatewayProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def start_gateway(url: str, workdir: Path, args: argparse.Namespace) -> GatewayProcess:
    port = free_port()
    env = {
        **os.environ,
        "VOLTLANE_DATABASE_URL": url,
        "VOLTLANE_OCPP_PORT": str(port),
        "VOLTLANE_HOST": "127.0.0.1",
        "VOLTLANE_SECRET_KEY": "ocpp-bench-" + "x" * 40,
        "VOLTLANE_LOG_LEVEL": "WARNING",
        "VOLTLANE_DATA_DIR": str(workdir),
        "VOLTLANE_DEMO": "0",
    }
    env.pop("DATABASE_URL", None)
    if args.db_pool is not None:
        env["VOLTLANE_DB_POOL_SIZE"] = str(args.db_pool)
    if args.gc_stats or args.gc_threshold or args.gc_freeze_every or args.loop_stats:
        # bench/gc_probe/sitecustomize.py times the gateway's garbage collections (and with
        # --loop-stats its group commits, frame-log copies and event-loop lag).
        probe = str(Path(__file__).resolve().parent / "gc_probe")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (probe, env.get("PYTHONPATH")) if p)
        env["VOLTLANE_BENCH_GC_STATS"] = str(workdir / "gc.json")
        if args.loop_stats:
            env["VOLTLANE_BENCH_LOOP_STATS"] = str(workdir / "loop.json")
        if args.gc_threshold:
            env["VOLTLANE_BENCH_GC_THRESHOLD"] = args.gc_threshold
        if args.gc_freeze_every:
            env["VOLTLANE_BENCH_GC_FREEZE_EVERY"] = str(args.gc_freeze_every)
    log = workdir / "gateway.log"
    with log.open("wb") as out:
        # `python -m voltlane.cli ocpp` is `voltlane ocpp` (the same main()); spelt this way so
        # that a `pgrep -f "voltlane ocpp"` of someone else's script never picks this one.
        process = subprocess.Popen(
            [sys.executable, "-m", "voltlane.cli", "ocpp", "--processes", str(args.processes)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, before exec
            cwd=workdir,
        )
    gateway = GatewayProcess(process, port, log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited with {process.returncode}:\n{gateway.tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return gateway
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the gateway did not listen on {port}:\n{gateway.tail()}")


def stop_gateway(gateway: GatewayProcess, timeout: float = 120) -> float:
    started = time.perf_counter()
    gateway.process.send_signal(signal.SIGTERM)
    try:
        gateway.process.wait(timeout)
    except subprocess.TimeoutExpired:
        gateway.process.kill()
        gateway.process.wait()
    return time.perf_counter() - started


# -- profiling -------------------------------------------------------------------------------
def py_spy() -> str | None:
    """$VOLTLANE_PY_SPY, py-spy next to this Python, or on PATH (`uv pip install py-spy`)."""
    configured = os.environ.get("VOLTLANE_PY_SPY")
    if configured:
        return configured
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


PROFILE_RATE = 200  # samples per second
# Frames every stack of the event loop goes through: no information in a hot-spot list.
BORING = (
    "runpy",
    "voltlane/cli/",
    "asyncio/runners.py",
    "asyncio/base_events.py:BaseEventLoop.run",
    "asyncio/base_events.py:BaseEventLoop._run_once",
    "asyncio/events.py:Handle._run",
    "threading.py",
)


def summarise_profile(raw: Path, seconds: float, top: int = 30) -> str:
    """Function-level hot spots of the event-loop thread from a py-spy ``--format raw
    --threads`` recording (idle samples left out by py-spy): shares of that thread's wall
    time, i.e. of one core. SQLAlchemy's async layer runs ORM code in greenlets, whose
    stacks py-spy roots at the greenlet: ORM time shows under Session.* roots, not under
    the handler that awaited it."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    by_area: Counter[str] = Counter()
    main = other = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        thread, _, rest = stack.partition(";")
        if not thread.endswith("MainThread"):
            other += count
            continue
        frames = [f for f in rest.split(";") if " (" in f]
        if not frames:
            continue
        main += count
        names = [_frame_name(f) for f in frames]
        for name in set(names):
            if not any(b in name for b in BORING):
                inclusive[name] += count
        own[names[-1]] += count
        by_area[_area(frames[-1])] += count
    wall = seconds * PROFILE_RATE
    if main == 0:
        return "(no samples of the main thread)"
    lines = [
        f"Event-loop thread busy {main / wall:.0%} of {seconds:.0f} s; other threads "
        f"(argon2 / getaddrinfo pool) {other / wall:.0%}. Shares below are of the event-loop "
        "thread's wall time (= of one core).",
        "",
        "| self time by package | share |",
        "|---|---|",
    ]
    lines += [f"| {name} | {count / wall:.1%} |" for name, count in by_area.most_common()]
    lines += ["", "| function (inclusive) | share |", "|---|---|"]
    lines += [f"| `{name}` | {count / wall:.1%} |" for name, count in inclusive.most_common(top)]
    lines += ["", "| function (self) | share |", "|---|---|"]
    lines += [f"| `{name}` | {count / wall:.1%} |" for name, count in own.most_common(top)]
    return "\n".join(lines)


def _frame_name(frame: str) -> str:
    func, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0].rstrip(")")
    for marker in ("site-packages/", "lib/python3.11/", "src/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{func}"


AREAS = (
    ("voltlane/ocpp", "voltlane.ocpp (gateway)"),
    ("voltlane/charging", "voltlane.charging"),
    ("voltlane/station", "voltlane.station"),
    ("voltlane/", "voltlane (other)"),
    ("ocpp/", "ocpp package (messages, validation)"),
    ("jsonschema", "jsonschema (validation)"),
    ("referencing", "jsonschema (validation)"),
    ("rpds", "jsonschema (validation)"),
    ("sqlalchemy", "SQLAlchemy"),
    ("psycopg", "psycopg"),
    ("greenlet", "SQLAlchemy"),
    ("websockets", "websockets"),
    ("asyncio", "asyncio"),
    ("selectors", "asyncio"),
    ("json/", "json"),
    ("uuid", "uuid"),
    ("datetime", "datetime"),
    ("decimal", "decimal"),
    ("logging", "logging"),
)


def _area(frame: str) -> str:
    _, _, where = frame.partition(" (")
    for marker, area in AREAS:
        if marker in where:
            return area
    return "other"


def start_profile(gateway: GatewayProcess, out: Path, seconds: int) -> subprocess.Popen[bytes]:
    tool = py_spy()
    if tool is None:
        raise RuntimeError("py-spy is not installed (uv pip install py-spy)")
    return subprocess.Popen(
        [
            *(tool, "record", "--pid", str(gateway.pid), "--duration", str(seconds)),
            *("--threads", "--rate", str(PROFILE_RATE), "--format", "raw", "--output", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


# -- commit-before-reply spot check ----------------------------------------------------------
class CommitProbe:
    """Looks up a fraction of acknowledged samples the moment their reply arrives."""

    def __init__(self, url: str, placed: dict[str, tuple[str, uuid.UUID]], fraction: float):
        self.url = libpq_url(url)
        self.placed = placed
        self.fraction = fraction
        self.queue: asyncio.Queue[tuple[str, uuid.UUID, int, str]] = asyncio.Queue()
        self.checked = 0
        self.missing = 0
        self.lag_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def on_ack(self, station: Station, kind: str, samples: list[tuple[int, str, int]]) -> None:
        del kind
        if self.fraction <= 0 or random.random() >= self.fraction:
            return
        key, pk = self.placed[station.station_id]
        epoch, measurand, _value = samples[0]
        self.queue.put_nowait((key, pk, epoch, measurand))

    async def run(self) -> None:
        async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
            while True:
                key, pk, epoch, measurand = await self.queue.get()
                try:
                    cursor = await conn.execute(
                        f'SELECT count(*) FROM "tenant_{key}".meter_samples WHERE '
                        "charging_station_id = %s AND sampled_at = to_timestamp(%s::float8) "
                        "AND measurand = %s",
                        (pk, epoch, measurand),
                    )
                    row = await cursor.fetchone()
                finally:
                    self.queue.task_done()
                self.checked += 1
                if not row or row[0] != 1:
                    self.missing += 1

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def stop(self) -> None:
        assert self._task is not None
        if not self._task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.join(), 30)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task  # re-raises a failure of the probe itself


# -- the run ---------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    rate: float
    duration: float
    outcome: Outcome
    cpu: dict[str, float]
    wall: tuple[datetime, datetime]
    elapsed: float
    senders: int = 0


@dataclass
class Report:
    args: argparse.Namespace
    server: str
    rss: dict[str, int] = field(default_factory=dict)
    storm: StormResult | None = None
    warm_storm: StormResult | None = None
    storm_cpu: dict[str, float] = field(default_factory=dict)
    idle_cpu: dict[str, float] = field(default_factory=dict)
    hb: Phase | None = None
    profiled: Phase | None = None
    phases: list[Phase] = field(default_factory=list)
    # Starts before and stops after each sustained phase (steady state), not timed.
    untimed: list[Outcome] = field(default_factory=list)
    disconnect_s: float = 0.0
    presence_cleared_s: float = 0.0
    stop_s: float = 0.0
    probe: CommitProbe | None = None
    profile: str | None = None
    storm_profile: str | None = None
    frames_before_stop: int = 0
    gc: dict[str, Any] | None = None
    loop: dict[str, list[list[float]]] | None = None
    gateway_errors: Counter[str] = field(default_factory=Counter)
    pg_sessions: int = 0
    profile_file: Path | None = None
    checks: list[tuple[str, str, str, str]] = field(default_factory=list)
    gateway_latency: dict[str, tuple[float, float, float, int]] = field(default_factory=dict)
    pg_top: list[tuple[str, int, float, float]] = field(default_factory=list)


def protocols_for(args: argparse.Namespace, n: int) -> str:
    if args.protocol == "mixed":
        return "ocpp1.6" if n % 2 == 0 else "ocpp2.0.1"
    return str(args.protocol)


def raise_nofile(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} < {needed}: fewer stations")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


async def presence_count(url: str) -> int:
    async with await psycopg.AsyncConnection.connect(libpq_url(url), autocommit=True) as conn:
        row = await (
            await conn.execute("SELECT count(*) FROM platform.station_presence")
        ).fetchone()
        return int(row[0]) if row else 0


@dataclass
class Rig:
    """The running experiment: options, database, gateway process and what was measured."""

    args: argparse.Namespace
    url: str
    gateway: GatewayProcess
    placed: dict[str, tuple[str, uuid.UUID]]
    report: Report
    meter: CpuMeter

    @property
    def base_url(self) -> str:
        return f"ws://127.0.0.1:{self.gateway.port}/ocpp/"

    async def storm(self, stations: list[Station]) -> StormResult:
        return await boot_storm(
            stations,
            self.base_url,
            concurrency=self.args.connect_concurrency,
            open_timeout=self.args.open_timeout,
            call_timeout=self.args.call_timeout,
            give_up_after=self.args.give_up_after,
        )


async def drive(rig: Rig) -> list[Station]:
    args = rig.args
    stations = []
    for station_id in sorted(rig.placed):
        n = int(station_id[2:])
        key = rig.placed[station_id][0]
        password = station_password(n, unique=args.unique_passwords)
        stations.append(Station(key, station_id, password, f"TAG{n:05d}", protocols_for(args, n)))
    warm, fleet = stations[: args.warmup], stations[args.warmup :]
    connected = await phase_boot(rig, warm, fleet)
    await phase_idle(rig, connected)
    await phase_sustained(rig, connected[: args.active] if args.active else connected)
    report = rig.report
    report.disconnect_s = await close_all(stations, 500)
    t0 = time.perf_counter()
    while await presence_count(rig.url) > 0 and time.perf_counter() - t0 < 120:  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    report.presence_cleared_s = time.perf_counter() - t0 + report.disconnect_s
    await asyncio.sleep(2)
    report.frames_before_stop = frame_count(rig.url, sorted({k for k, _ in rig.placed.values()}))
    return stations


async def phase_boot(rig: Rig, warm: list[Station], fleet: list[Station]) -> list[Station]:
    """Warm-up (code, schemas, pool connections), then the boot storm of the fleet."""
    report, pid = rig.report, rig.gateway.pid
    report.rss["start"] = rss_kb(pid)
    report.warm_storm = await rig.storm(warm)
    await close_all(warm, 100)
    await asyncio.sleep(rig.args.settle)
    report.rss["warm"] = rss_kb(pid)
    print(f"warm-up done; gateway RSS {report.rss['warm'] / 1024:.0f} MiB", flush=True)
    profiler = None
    if rig.args.profile:
        out = Path(rig.args.profile) / "gateway-profile-boot-storm.txt"
        out.parent.mkdir(parents=True, exist_ok=True)
        profiler = (start_profile(rig.gateway, out, rig.args.profile_seconds), out)
    rig.meter.start()
    report.storm = await rig.storm(fleet)
    report.storm_cpu = rig.meter.stop()
    if profiler is not None:
        await asyncio.to_thread(profiler[0].communicate)
        wall = min(float(rig.args.profile_seconds), report.storm.elapsed)
        report.storm_profile = summarise_profile(profiler[1], wall)
    print(
        f"boot storm: {len(report.storm.total_ms)}/{len(fleet)} accepted in "
        f"{report.storm.elapsed:.1f} s; failures {dict(report.storm.failures)}; "
        f"cpu {_cpu(report.storm_cpu)}",
        flush=True,
    )
    await asyncio.sleep(rig.args.settle)
    report.rss["connected"] = rss_kb(pid)
    return [s for s in fleet if s.ws is not None]


async def phase_idle(rig: Rig, connected: list[Station]) -> None:
    """Idle with the gateway's pings only, then with heartbeats at the interval."""
    args, report = rig.args, rig.report
    rig.meter.start()
    await asyncio.sleep(args.idle)
    report.idle_cpu = rig.meter.stop()
    print(f"idle: cpu {_cpu(report.idle_cpu)}", flush=True)
    if args.heartbeat_interval > 0:
        rig.meter.start()
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        outcome = await heartbeats(
            connected,
            interval=args.heartbeat_interval,
            duration=args.idle,
            call_timeout=args.call_timeout,
        )
        report.hb = Phase(
            "heartbeats",
            len(connected) / args.heartbeat_interval,
            args.idle,
            outcome,
            rig.meter.stop(),
            (started, datetime.now(UTC)),
            time.perf_counter() - t0,
        )
        print(f"idle with heartbeats: cpu {_cpu(report.hb.cpu)}", flush=True)
    report.rss["after_idle"] = rss_kb(rig.gateway.pid)


async def phase_sustained(rig: Rig, active: list[Station]) -> None:
    """Each --rate in turn on the same stations; then, with --profile, one more under py-spy."""
    args, report = rig.args, rig.report
    probe = report.probe = CommitProbe(rig.url, rig.placed, args.verify_fraction)
    probe.start()
    base_time = base_time_for_run()
    rates = [float(r) for r in args.rate.split(",") if r]
    runs = [(rate, False) for rate in rates]
    if args.profile:
        runs.append((rates[-1], True))
    for rate, profiled in runs:
        # Enough stations send that each gets --slots calls in the phase (start, the mix,
        # stop): the mix stays the same at every rate; the others stay connected and idle.
        senders = active[: max(1, min(len(active), int(rate * args.duration / args.slots)))]
        profiler = None
        if profiled:
            report.profile_file = Path(args.profile) / "gateway-profile.txt"
            report.profile_file.parent.mkdir(parents=True, exist_ok=True)
            seconds = max(5, min(args.profile_seconds, int(args.duration) - 5))
            profiler = start_profile(rig.gateway, report.profile_file, seconds)
        opened = await open_transactions(
            senders,
            base_time=base_time,
            call_timeout=args.call_timeout,
            concurrency=args.connect_concurrency,
        )
        report.untimed.append(opened)
        rig.meter.start()
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        outcome = await sustained(
            senders,
            rate=rate,
            duration=args.duration,
            slots=args.slots,
            base_time=base_time,
            call_timeout=args.call_timeout,
            on_ack=probe.on_ack,
        )
        phase = Phase(
            f"{'profiled' if profiled else 'sustained'} ({len(senders)} sending)",
            rate,
            args.duration,
            outcome,
            rig.meter.stop(),
            (started, datetime.now(UTC)),
            time.perf_counter() - t0,
            len(senders),
        )
        closed = await close_transactions(
            senders,
            base_time=base_time,
            call_timeout=args.call_timeout,
            concurrency=args.connect_concurrency,
        )
        report.untimed.append(closed)
        for untimed, what in ((opened, "opening"), (closed, "closing")):
            if untimed.errors:
                print(f"errors {what} transactions (untimed): {dict(untimed.errors)}", flush=True)
        if profiler is not None and report.profile_file is not None:
            report.profiled = phase
            _, err = await asyncio.to_thread(profiler.communicate)
            if report.profile_file.exists():
                report.profile = summarise_profile(report.profile_file, seconds)
            else:
                report.profile = f"py-spy failed: {err.decode(errors='replace')[-500:]}"
        else:
            report.phases.append(phase)
            report.rss[f"after_{rate:.0f}"] = rss_kb(rig.gateway.pid)
        lat = outcome.all_latencies()
        print(
            f"{phase.name} {rate:.0f}/s: {outcome.acked} acked in {phase.elapsed:.1f} s, "
            f"p50 {percentile(lat, 50):.1f} p99 {percentile(lat, 99):.1f} ms, "
            f"errors {sum(outcome.errors.values())}, late {outcome.late}, skipped "
            f"{outcome.skipped}; cpu {_cpu(phase.cpu)}",
            flush=True,
        )
    await probe.stop()


# -- verification ----------------------------------------------------------------------------
def verify(url: str, keys: list[str], stations: list[Station], report: Report) -> None:
    """Compare what the stations were told was stored with the brands' tables."""
    sent, answered = calls_made(report)
    tally: Counter[str] = Counter()
    logged: Counter[str] = Counter()
    rows = sessions_rows = frames = tx_events = 0
    with psycopg.connect(libpq_url(url)) as conn:
        for key in keys:
            schema = f'"tenant_{key}"'
            found: dict[str, dict[tuple[int, str], list[int]]] = defaultdict(dict)
            for station_id, epoch, measurand, value in conn.execute(
                f"SELECT s.station_id, extract(epoch FROM m.sampled_at)::bigint, m.measurand,"
                f" m.value FROM {schema}.meter_samples m JOIN {schema}.charging_stations s"
                " ON s.id = m.charging_station_id"
            ):
                rows += 1
                found[station_id].setdefault((int(epoch), measurand), []).append(int(value))
            statuses: dict[str, int] = dict(
                conn.execute(
                    f"SELECT s.station_id, count(*) FROM {schema}.station_events e JOIN"
                    f" {schema}.charging_stations s ON s.id = e.charging_station_id"
                    " WHERE e.kind = 'status' GROUP BY s.station_id"
                ).fetchall()
            )
            sessions: dict[str, dict[str, tuple[Any, ...]]] = defaultdict(dict)
            for row in conn.execute(
                f"SELECT s.station_id, c.transaction_id, c.status, c.energy_wh"
                f" FROM {schema}.charging_sessions c JOIN {schema}.charging_stations s"
                " ON s.id = c.charging_station_id"
            ):
                sessions[row[0]][str(row[1])] = row[2:]
                sessions_rows += 1
            for action, direction, kind, count in conn.execute(
                f"SELECT action, direction, message_type, count(*) FROM {schema}.ocpp_frames"
                " GROUP BY 1, 2, 3"
            ):
                if kind in (2, 3):  # calls in, results out (CALLERRORs are not counted)
                    logged[f"{action} {direction}"] += int(count)
                frames += int(count)
            te_row = conn.execute(f"SELECT count(*) FROM {schema}.transaction_events").fetchone()
            tx_events += int(te_row[0]) if te_row else 0
            for station in (s for s in stations if s.brand == key):
                tally += compare_station(
                    station,
                    found.get(station.station_id, {}),
                    int(statuses.get(station.station_id, 0)),
                    sessions.get(station.station_id, {}),
                )
    acked_samples = sum(len(s.expected.samples) for s in stations)
    acked_status = sum(s.expected.statuses for s in stations)
    report.checks = [
        (
            "meter_samples",
            f"{acked_samples} acknowledged",
            f"{rows} rows",
            f"missing {tally['missing']}, wrong value {tally['wrong_value']}, duplicates "
            f"{tally['duplicates']}, never sent {tally['unexpected']}",
        ),
        (
            "station_events (status)",
            f"{acked_status} acknowledged",
            f"{tally['status_rows']} rows",
            f"missing {tally['status_missing']}, unexpected {tally['status_extra']}",
        ),
        (
            "charging_sessions",
            f"{tally['sessions_expected']} starts acknowledged",
            f"{sessions_rows} rows",
            f"missing {tally['sessions_missing']}, stopped but not finished "
            f"{tally['sessions_unfinished']}, energy != stop - start {tally['energy_wrong']}",
        ),
        (
            "transaction_events (2.0.1)",
            f"{answered['TransactionEvent']} acknowledged",
            f"{tx_events} rows",
            f"missing {max(0, answered['TransactionEvent'] - tx_events)}",
        ),
    ]
    # Every answered call must be in the log both ways. Under overload a call may also be
    # logged without an answer the station waited for (it gave up first), so more is fine.
    short = [
        f"{action} {direction} {logged[f'{action} {direction}']}/{answered[action]}"
        for action in sorted(answered)
        for direction in ("in", "out")
        if logged[f"{action} {direction}"] < answered[action]
    ]
    report.checks.append(
        (
            "ocpp_frames (batched log)",
            f"{sum(sent.values())} calls sent, {sum(answered.values())} answered",
            f"{frames} rows ({report.frames_before_stop} 2 s before the gateway stopped)",
            "every answered call logged in and out"
            if not short
            else "answered calls missing from the log (logged/answered): " + ", ".join(short),
        )
    )


def frame_count(url: str, keys: list[str]) -> int:
    total = 0
    with psycopg.connect(libpq_url(url)) as conn:
        for key in keys:
            row = conn.execute(f'SELECT count(*) FROM "tenant_{key}".ocpp_frames').fetchone()
            total += int(row[0]) if row else 0
    return total


def calls_made(report: Report) -> tuple[Counter[str], Counter[str]]:
    """Calls the generator sent and got a CALLRESULT for, per action, over the whole run."""
    sent: Counter[str] = Counter()
    answered: Counter[str] = Counter()
    for storm in (report.warm_storm, report.storm):
        if storm is not None:
            sent["BootNotification"] += storm.boots_sent
            answered["BootNotification"] += len(storm.total_ms)
    outcomes = [p.outcome for p in (*report.phases, report.hb, report.profiled) if p is not None]
    for outcome in [*outcomes, *report.untimed]:
        sent.update(outcome.sent)
        for action, values in outcome.latencies.items():
            answered[action] += len(values)
    return sent, answered


def compare_station(
    station: Station,
    got: dict[tuple[int, str], list[int]],
    stored_statuses: int,
    sessions: dict[str, tuple[Any, ...]],
) -> Counter[str]:
    """Differences between one station's acknowledged messages and its rows."""
    tally: Counter[str] = Counter()
    exp = station.expected
    for sample_key, value in exp.samples.items():
        values = got.get(sample_key)
        if not values:
            tally["missing"] += 1
        elif values[0] != value:
            tally["wrong_value"] += 1
    for sample_key, values in got.items():
        tally["duplicates"] += len(values) - 1
        if sample_key not in exp.samples and sample_key not in exp.unacked_samples:
            tally["unexpected"] += 1
    tally["status_rows"] += stored_statuses
    tally["status_missing"] += max(0, exp.statuses - stored_statuses)
    tally["status_extra"] += max(0, stored_statuses - exp.statuses - exp.unacked_statuses)
    for tx in exp.transactions:
        tally["sessions_expected"] += 1
        row = sessions.get(str(tx["transaction_id"]))
        if row is None:
            tally["sessions_missing"] += 1
        elif tx["stopped"] and row[0] != "finished":
            tally["sessions_unfinished"] += 1
        elif tx["stopped"] and (row[1] is None or int(row[1]) != tx["stop_wh"] - tx["start_wh"]):
            tally["energy_wrong"] += 1
    return tally


def gateway_latency(url: str, keys: list[str], report: Report) -> None:
    """Server-side latency (frame in -> reply sent, as the gateway logs it) per phase."""
    with psycopg.connect(libpq_url(url)) as conn:
        for phase in report.phases:
            values: list[float] = []
            for key in keys:
                values.extend(
                    float(r[0])
                    for r in conn.execute(
                        f'SELECT latency_ms FROM "tenant_{key}".ocpp_frames WHERE direction ='
                        " 'out' AND message_type = 3 AND latency_ms IS NOT NULL AND at BETWEEN"
                        " %s AND %s",
                        phase.wall,
                    )
                )
            report.gateway_latency[f"{phase.rate:.0f}"] = (
                percentile(values, 50),
                percentile(values, 95),
                percentile(values, 99),
                len(values),
            )


def pg_sessions(url: str) -> int:
    """Connections PostgreSQL accepted for this database so far (pg_stat_database)."""
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
        return int(row[0]) if row else 0


def pg_statements(url: str, report: Report) -> None:
    with contextlib.suppress(psycopg.Error), psycopg.connect(libpq_url(url)) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        rows = conn.execute(
            "SELECT query, calls, total_exec_time, mean_exec_time FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " ORDER BY total_exec_time DESC LIMIT 12"
        ).fetchall()
        report.pg_top = [
            (" ".join(str(r[0]).split())[:110], int(r[1]), float(r[2]), float(r[3])) for r in rows
        ]


# -- printing --------------------------------------------------------------------------------
def machine() -> str:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // (1024 * 1024)
    return f"{os.cpu_count()} cores ({model}), {mem} GiB, Python {platform.python_version()}"


def commit() -> str:
    """The commit measured: HEAD of this checkout (marked when src/ or migrations/ have
    uncommitted changes), or VOLTLANE_BENCH_COMMIT for an exported tree."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src", "migrations"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return os.environ.get("VOLTLANE_BENCH_COMMIT", "?")
    return f"{head} + uncommitted changes" if dirty else head


def _pct(shares: dict[str, float], name: str) -> str:
    value = shares.get(name, float("nan"))
    return "n/a" if value != value else f"{value:.0f} %"  # noqa: PLR0124 - NaN check


def _cpu(shares: dict[str, float]) -> str:
    """gateway / postgres / generator (everything else on the machine), % of one core."""
    return (
        f"{_pct(shares, 'gateway')} / {_pct(shares, 'postgres')} / "
        f"{_pct(shares, 'generator')} ({_pct(shares, 'others')})"
    )


def print_report(report: Report, n: int) -> None:
    args = report.args
    print()
    print(
        f"Measured {datetime.now(UTC):%Y-%m-%d}, commit `{commit()}`, {machine()}, "
        f"{report.server}; gateway = one `voltlane ocpp` process, generator = this process."
    )
    print(f"Command: `python -m bench.ocpp_load {' '.join(sys.argv[1:])}`")
    print()
    rss = report.rss
    per_conn = (rss["connected"] - rss["warm"]) / n
    storm = report.storm
    assert storm is not None
    print("| measure | value |")
    print("|---|---|")
    print(f"| stations (protocol) | {n} ({args.protocol}), {args.brands} brand(s) |")
    print(
        f"| gateway RSS: started / after warm-up, 0 connected / {n} connected | "
        f"{rss['start'] / 1024:.0f} / {rss['warm'] / 1024:.0f} / "
        f"{rss['connected'] / 1024:.0f} MiB |"
    )
    print(f"| RSS per connected station | {per_conn:.1f} KB |")
    tail = [k for k in rss if k.startswith("after_")]
    print(
        "| gateway RSS after "
        + ", ".join(k[6:] for k in tail)
        + " | "
        + " / ".join(f"{rss[k] / 1024:.0f}" for k in tail)
        + " MiB |"
    )
    print(
        f"| CPU idle, {args.idle:.0f} s, pings only: gateway / postgres / generator (others) | "
        f"{_cpu(report.idle_cpu)} |"
    )
    if report.hb is not None:
        hb = report.hb
        lat = hb.outcome.all_latencies()
        print(
            f"| CPU idle with Heartbeat every {args.heartbeat_interval:.0f} s "
            f"({hb.outcome.acked / hb.elapsed:.0f}/s): gateway / postgres / generator (others) | "
            f"{_cpu(hb.cpu)}; Heartbeat p99 {percentile(lat, 99):.1f} ms |"
        )
    accepted = len(storm.total_ms)
    print(
        f"| boot storm: {accepted}/{n} Accepted, {args.connect_concurrency} at a time | "
        f"{storm.elapsed:.1f} s ({accepted / storm.elapsed:.0f} stations/s) |"
    )
    print(
        f"| boot storm: handshake p50 / p99 · BootNotification p50 / p99 | "
        f"{percentile(storm.connect_ms, 50):.0f} / {percentile(storm.connect_ms, 99):.0f} ms · "
        f"{percentile(storm.boot_ms, 50):.0f} / {percentile(storm.boot_ms, 99):.0f} ms |"
    )
    failures = ", ".join(f"{k} x{v}" for k, v in storm.failures.most_common(4)) or "none"
    print(f"| boot storm: attempts / failed attempts | {storm.attempts} / {failures} |")
    print(f"| boot storm CPU: gateway / postgres / generator (others) | {_cpu(report.storm_cpu)} |")
    print(
        "| PostgreSQL connections opened while the gateway ran (pools of 40 and 4, no overflow; "
        f"includes a few of the generator's checks) | {report.pg_sessions} |"
    )
    print(
        f"| disconnect all, until presence rows are gone / gateway stop | "
        f"{report.presence_cleared_s:.1f} s / {report.stop_s:.1f} s |"
    )


def print_sustained(report: Report) -> None:
    print()
    print(
        "| target calls/s (sending stations) | achieved calls/s | answered | errors"
        " | late / skipped slots"
        " | client p50 / p95 / p99 ms"
        " | gateway-side p50 / p99 ms | CPU gateway / postgres / generator (others) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for phase in report.phases:
        out = phase.outcome
        lat = out.all_latencies()
        span = max(out.last_reply - out.first_send, 1e-9)
        gw = report.gateway_latency.get(f"{phase.rate:.0f}", (float("nan"),) * 3 + (0,))
        print(
            f"| {phase.rate:.0f} ({phase.senders}) | {out.acked / span:.0f} | {out.acked} | "
            f"{sum(out.errors.values())} | {out.late} / {out.skipped} | "
            f"{percentile(lat, 50):.1f} / {percentile(lat, 95):.1f} / {percentile(lat, 99):.1f}"
            f" | {gw[0]:.1f} / {gw[2]:.1f} | {_cpu(phase.cpu)} |"
        )
    if report.phases:
        last = report.phases[-1]
        print()
        print(f"Per action at {last.rate:.0f} calls/s:")
        print()
        print("| action | calls | p50 ms | p95 ms | p99 ms |")
        print("|---|---|---|---|---|")
        for action, values in sorted(last.outcome.latencies.items()):
            print(
                f"| {action} | {len(values)} | {percentile(values, 50):.1f} | "
                f"{percentile(values, 95):.1f} | {percentile(values, 99):.1f} |"
            )
        errors = Counter[str]()
        for phase in report.phases:
            errors.update(phase.outcome.errors)
        if errors:
            print()
            print("Errors: " + "; ".join(f"{k} x{v}" for k, v in errors.most_common(6)))


def print_checks(report: Report) -> None:
    print()
    print("| table | stations were told | in the database | check |")
    print("|---|---|---|---|")
    for row in report.checks:
        print("| " + " | ".join(row) + " |")
    if report.probe is not None:
        print(
            f"\nCommit-before-reply probe: {report.probe.checked} acknowledged samples looked up"
            f" as their reply arrived, {report.probe.missing} not (yet) in the database."
        )
    if report.pg_top:
        print("\nPostgreSQL, top statements by total time (pg_stat_statements, whole run):\n")
        print("| statement | calls | total ms | mean ms |")
        print("|---|---|---|---|")
        for query, calls, total, mean in report.pg_top:
            print(f"| `{query}` | {calls} | {total:.0f} | {mean:.3f} |")
    if report.gateway_errors:
        print("\nGateway log errors:\n")
        print("| error | count |")
        print("|---|---|")
        for text, count in report.gateway_errors.most_common(8):
            print(f"| {text.replace('|', '/')} | {count} |")
    if report.loop:
        print_loop(report)
    if report.gc:
        gens = report.gc["generations"]
        spent = sum(g["seconds"] for g in gens.values())
        print(
            f"\nGateway garbage collection over its {report.gc['lifetime_s']:.0f} s (threshold "
            f"{report.gc['threshold']}): {spent:.1f} s in total, "
            + ", ".join(
                f"gen{g} {v['collections']} x, {v['seconds']:.1f} s, max {v['max_ms']:.0f} ms"
                for g, v in gens.items()
            )
            + f"; {report.gc['tracked_objects_at_exit']} tracked objects at exit"
            + (
                f" (experiment: gc.freeze() every {report.args.gc_freeze_every:.0f} s)."
                if report.args.gc_freeze_every
                else "."
            )
        )
    if report.storm_profile:
        print(
            f"\nGateway profile during the boot storm (py-spy, the first "
            f"{report.args.profile_seconds} s; the storm figures of a profiled run are a little "
            "slower):\n"
        )
        print(report.storm_profile)
    if report.profile:
        print(
            f"\nGateway profile (py-spy, {report.args.profile_seconds} s during an extra "
            f"{report.phases[-1].rate if report.phases else 0:.0f} calls/s phase; "
            f"{report.profile_file}):\n"
        )
        print(report.profile)


def merged_gc(files: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The gc probes' summaries of every gateway process as one (counts and time added)."""
    if not files:
        return None
    merged = files[0]
    for other in files[1:]:
        for gen, entry in other["generations"].items():
            into = merged["generations"][gen]
            into["collections"] += entry["collections"]
            into["seconds"] += entry["seconds"]
            into["max_ms"] = max(into["max_ms"], entry["max_ms"])
        merged["tracked_objects_at_exit"] += other["tracked_objects_at_exit"]
    return merged


def print_loop(report: Report) -> None:
    """--loop-stats per sustained phase: the group commits' batches, the frame log's copies
    and the event loop's lag, from the gateway's own clock."""
    assert report.loop is not None

    def within(rows: list[list[float]], phase: Phase) -> list[list[float]]:
        start, end = (moment.timestamp() for moment in phase.wall)
        return [row for row in rows if start <= row[0] <= end]

    def spread(values: list[float]) -> str:
        return " / ".join(f"{percentile(values, q):.1f}" for q in (50, 90, 99, 100))

    print("\nInside the gateway (--loop-stats), per sustained phase, p50 / p90 / p99 / max:\n")
    print(
        "| calls/s | group commit batches | requests per batch | batch ms (first statement "
        "to commit) | frame-log COPYs | rows per COPY | COPY ms | event-loop lag ms (10 ms timer) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for phase in report.phases:
        batches = within(report.loop["batches"], phase)
        copies = within(report.loop["copies"], phase)
        lag = [row[1] for row in within(report.loop["lag"], phase)]
        if not batches or not lag:
            continue
        print(
            f"| {phase.rate:.0f} | {len(batches)} | {spread([b[2] for b in batches])} "
            f"| {spread([b[1] for b in batches])} | {len(copies)} "
            f"| {spread([c[2] for c in copies]) if copies else '-'} "
            f"| {spread([c[1] for c in copies]) if copies else '-'} | {spread(lag)} |"
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.ocpp_load", description=__doc__)
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument(
        "--processes", type=int, default=1, help="gateway processes (voltlane ocpp --processes)"
    )
    parser.add_argument("--brands", type=int, default=1)
    parser.add_argument("--protocol", choices=("ocpp1.6", "ocpp2.0.1", "mixed"), default="ocpp1.6")
    parser.add_argument("--rate", default="100", help="calls/s, comma-separated for several")
    parser.add_argument("--duration", type=float, default=30, help="seconds per rate")
    parser.add_argument("--active", type=int, default=0, help="at most this many send (0: all)")
    parser.add_argument(
        "--slots", type=int, default=12, help="calls per sending station and phase (>= 3)"
    )
    parser.add_argument("--idle", type=float, default=30, help="seconds of each idle window")
    parser.add_argument("--heartbeat-interval", type=float, default=300)
    parser.add_argument("--connect-concurrency", type=int, default=1000)
    parser.add_argument("--open-timeout", type=float, default=30)
    parser.add_argument("--call-timeout", type=float, default=30)
    parser.add_argument("--give-up-after", type=float, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--settle", type=float, default=3)
    parser.add_argument("--unique-passwords", action="store_true")
    parser.add_argument("--db-pool", type=int, default=None, help="VOLTLANE_DB_POOL_SIZE")
    parser.add_argument("--verify-fraction", type=float, default=0.01)
    parser.add_argument("--profile", default=None, help="directory: py-spy the gateway")
    parser.add_argument("--profile-seconds", type=int, default=20)
    parser.add_argument("--pg-stats", action="store_true", help="pg_stat_statements (embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--gc-stats", action="store_true", help="time the gateway's GC")
    parser.add_argument(
        "--loop-stats",
        action="store_true",
        help="time the gateway's group commits, frame-log copies and event-loop lag",
    )
    parser.add_argument(
        "--gc-threshold", default=None, help="experiment: gc.set_threshold in the gateway, a,b,c"
    )
    parser.add_argument(
        "--gc-freeze-every", type=float, default=0, help="experiment: gc.freeze() every N s"
    )
    return parser


def main() -> None:
    args = build_parser().parse_args()
    n = args.stations
    total = n + args.warmup
    raise_nofile(min(total + 2000, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < total + 200:
        raise SystemExit("not enough file descriptors for that many stations")
    report = Report(args, "")
    with throwaway_database(args.pg_stats, args.keep) as (url, server, postmaster):
        report.server = server
        engine = sync_engine(url, poolclass=NullPool)
        upgrade_platform(engine, REPO / "migrations")
        engine.dispose()
        t0 = time.perf_counter()
        keys = asyncio.run(provision_brands(url, args.brands))
        placed = insert_stations(url, keys, total, unique_passwords=args.unique_passwords)
        print(f"setup: {len(keys)} brand(s), {total} stations in {time.perf_counter() - t0:.1f} s")
        workdir = Path("/tmp") / f"voltlane-ocpp-gateway-{uuid.uuid4().hex[:8]}"
        workdir.mkdir()
        report.pg_sessions = -pg_sessions(url)
        gateway = start_gateway(url, workdir, args)
        print(f"gateway pid {gateway.pid} on port {gateway.port}", flush=True)
        try:
            rig = Rig(args, url, gateway, placed, report, CpuMeter(gateway.pid, postmaster))
            stations = asyncio.run(drive(rig))
        finally:
            report.stop_s = stop_gateway(gateway)
            report.gateway_errors = gateway_errors(gateway.log)
            errors = sum(report.gateway_errors.values())
            if errors:
                print(f"gateway log ({gateway.log}): {errors} errors", flush=True)
        fleet = stations[args.warmup :]
        report.gc = merged_gc([json.loads(f.read_text()) for f in workdir.glob("gc.json.*")])
        loops = [json.loads(f.read_text()) for f in workdir.glob("loop.json.*")]
        if loops:
            report.loop = {k: [row for one in loops for row in one[k]] for k in loops[0]}
        # Less the generator's own: the probe, presence polls and frame counts (one each).
        report.pg_sessions += pg_sessions(url)
        verify(url, keys, stations, report)
        gateway_latency(url, keys, report)
        if args.pg_stats:
            pg_statements(url, report)
        print_report(report, len(fleet))
        print_sustained(report)
        print_checks(report)
        if not errors:
            shutil.rmtree(workdir, ignore_errors=True)


def gateway_errors(log: Path) -> Counter[str]:
    """ERROR lines of the gateway's JSON log: message (action): last line of the exception."""
    found: Counter[str] = Counter()
    with log.open(errors="replace") as lines:
        for line in lines:
            if '"ERROR"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                found[line[:120]] += 1
                continue
            if record.get("level") != "ERROR":
                continue
            text = str(record.get("exception") or "").strip().splitlines() or [""]
            action = f" ({record['action']})" if record.get("action") else ""
            found[f"{record.get('message')}{action}: {text[-1][:160]}"] += 1
    return found


if __name__ == "__main__":
    main()
