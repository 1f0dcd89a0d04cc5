"""`make bench`: web request latency with many brands on one installation.

Provisions BRANDS brands (real schemas, real migrations) on a throw-away database, then
drives the Litestar app in-process over ASGI (no sockets, so the numbers are the
application's own cost: host resolution, database, templates) and prints a Markdown table.

    .venv/bin/python -m bench [--brands 50] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import time
import uuid
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from voltlane.app import create_app
from voltlane.core.database_url import drop_database, ensure_database
from voltlane.core.db import Database, sync_engine
from voltlane.core.pgserver import EmbeddedPostgres
from voltlane.identity import service as identity
from voltlane.models.tenant import ConnectorFormat, ConnectorStandard, PowerType, Role
from voltlane.settings import load_settings
from voltlane.station import service as stations
from voltlane.station.schemas import ConnectorCreate, EvseCreate, LocationCreate, StationCreate
from voltlane.tenancy import service as tenancy
from voltlane.tenancy.migrations import upgrade_platform
from voltlane.tenancy.spec import TenantSpec

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench password 1234"
CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


async def provision(database: Database, brands: int) -> tuple[list[str], list[float]]:
    """Provision ``brands`` brands; returns their slugs and each provisioning's duration
    (schema, migrations, activation; seeding staff and stations is not counted)."""
    migrations = REPO / "migrations"
    slugs = []
    durations = []
    connector = ConnectorCreate(
        standard=ConnectorStandard.IEC_62196_T2,
        format=ConnectorFormat.SOCKET,
        power_type=PowerType.AC_3_PHASE,
        max_voltage=400,
        max_amperage=32,
        max_electric_power=22000,
    )
    for n in range(brands):
        key = f"bench{n:04d}"
        spec = TenantSpec(
            key=key,
            slug=f"b{n}",
            name=f"Bench {n}",
            theme="aurora" if n % 2 else "harbour",
            locale="en_GB",
            currency="EUR",
            timezone="Europe/Berlin",
        )
        started = time.perf_counter()
        async with database.platform_transaction() as db_session:
            info, _ = await tenancy.register_tenant(db_session, spec)
        await tenancy.provision_tenant(database, migrations, info.id)
        durations.append((time.perf_counter() - started) * 1000)
        async with database.tenant_transaction(key) as db_session:
            await identity.create_operator_user(
                db_session,
                email="ops@bench.example",
                name="Ops",
                password=PASSWORD,
                role=Role.OPERATIONS,
            )
            for site in range(5):
                location = await stations.create_location(
                    db_session,
                    LocationCreate(
                        name=f"Site {site}",
                        address="Street 1",
                        city="Berlin",
                        country="DEU",
                        latitude=Decimal("52.5"),
                        longitude=Decimal("13.4"),
                        timezone="Europe/Berlin",
                    ),
                )
                for station in range(4):
                    await stations.create_station(
                        db_session,
                        location,
                        StationCreate(
                            station_id=f"CP-{site}-{station}",
                            evses=(EvseCreate(connectors=(connector,)),) * 2,
                        ),
                    )
        slugs.append(spec.slug)
    return slugs, durations


async def measure(
    client: httpx.AsyncClient,
    hosts: list[str],
    path: str,
    count: int,
    cookies: dict[str, dict[str, str]] | None = None,
) -> list[float]:
    timings = []
    for i in range(count):
        host = hosts[i % len(hosts)]
        started = time.perf_counter()
        response = await client.get(
            path,
            headers={"host": host, "accept": "text/html"},
            cookies=(cookies or {}).get(host),
        )
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{host}{path}: {response.status_code}")
    return timings


async def sign_in(client: httpx.AsyncClient, host: str) -> dict[str, str]:
    page = await client.get("/portal/login", headers={"host": host})
    match = CSRF_RE.search(page.text)
    assert match is not None
    response = await client.post(
        "/portal/login",
        headers={"host": host},
        cookies=dict(page.cookies),
        data={"email": "ops@bench.example", "password": PASSWORD, "_csrf_token": match.group(1)},
    )
    if response.status_code != 303:
        raise RuntimeError(f"sign-in on {host}: {response.status_code}")
    return {"vl_session": response.cookies["vl_session"]}


async def run(url: str, brands: int, requests: int) -> None:
    settings = replace(load_settings(), database_url=url, demo=False)
    database = Database(url, pool_size=5)
    slugs, provisioning = await provision(database, brands)
    rows = []
    for ttl in (0.0, 5.0):
        app = create_app(settings, database_url=url, registry_ttl=ttl)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            hosts = [f"{slug}.localhost" for slug in slugs]
            cookies = {host: await sign_in(client, host) for host in hosts[:10]}
            for label, path, host_list, jar in (
                ("GET /manifest.webmanifest", "/manifest.webmanifest", hosts, None),
                ("GET /portal/login (render)", "/portal/login", hosts, None),
                ("GET / (driver home, 20 sites)", "/", hosts, None),
                ("GET /portal/stations (signed in)", "/portal/stations", hosts[:10], cookies),
            ):
                await measure(client, host_list, path, 20, jar)  # warm-up
                timings = await measure(client, host_list, path, requests, jar)
                rows.append((label, ttl, timings))
        await app.state["web"].database.dispose()
    await database.dispose()
    print(
        f"\nProvisioning a brand (register, create schema, migrate, activate) over {brands} "
        f"brands: p50 {percentile(provisioning, 50):.0f} ms, "
        f"p95 {percentile(provisioning, 95):.0f} ms\n"
    )
    print("| request | host cache | p50 ms | p95 ms | p99 ms | req/s (1 client) |")
    print("|---|---|---|---|---|---|")
    for label, ttl, timings in rows:
        cache = "off (DB lookup per request)" if ttl == 0 else f"{ttl:.0f} s TTL"
        rate = 1000 / statistics.mean(timings)
        print(
            f"| {label} | {cache} | {percentile(timings, 50):.1f} | "
            f"{percentile(timings, 95):.1f} | {percentile(timings, 99):.1f} | {rate:.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--brands", type=int, default=50)
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    os.environ.setdefault("VOLTLANE_SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("VOLTLANE_LOG_LEVEL", "ERROR")
    configured = os.environ.get("VOLTLANE_DATABASE_URL") or os.environ.get("DATABASE_URL")
    server = None
    if configured:
        server_url = (
            make_url(configured).set(database="postgres").render_as_string(hide_password=False)
        )
    else:
        root = Path("/tmp") / f"voltlane-bench-{uuid.uuid4().hex[:8]}"
        root.mkdir(mode=0o755)
        server = EmbeddedPostgres(root / "pg", fast=True)
        server_url = server.start()
    name = f"voltlane_bench_{uuid.uuid4().hex[:8]}"
    ensure_database(server_url, name)
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        engine = sync_engine(url, poolclass=NullPool)
        upgrade_platform(engine, REPO / "migrations")
        engine.dispose()
        asyncio.run(run(url, args.brands, args.requests))
    finally:
        drop_database(server_url, name)
        if server is not None:
            server.destroy()


if __name__ == "__main__":
    main()
