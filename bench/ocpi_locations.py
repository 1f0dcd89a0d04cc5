"""`python -m bench.ocpi_locations`: a roaming partner pulls the brand's locations (OCPI 2.2.1
locations module, sender interface) over 10,000 locations.

Sets up a throw-away database like ``bench.pwa_search`` (whose network it bulk-inserts with
COPY: ``--locations`` published locations with one station each, 1 to 4 EVSEs, live
statuses), provisions the brand for real as the OCPI party DE*VLT, registers one eMSP
partner (NL*EMS) with its token C, and drives ``GET /ocpi/2.2.1/locations`` of the real web
app in-process over ASGI (token guard, one transaction, the page and its EVSEs, the
partner's tariff offer, JSON):

- *full page*: ``--rounds`` full crawls in pages of 1,000 (``offset``/``limit``), the way a
  partner loads the network;
- *delta*: ``--deltas`` pulls with ``date_from`` = now, which nothing changed since (the
  partner's periodic "what changed" poll).

Prints wall-clock percentiles and the CPU time of the app process plus the database's
backends per request (see ``bench.pwa_search``: the wall clock on a shared machine also
measures the queue for its cores). ``--gc-freeze`` is an experiment: it freezes the
started app's heap (``gc.freeze()``, as the OCPP gateway does) to show what the
interpreter's full collections, whose cost is the whole process's heap, still add to a page.

    .venv/bin/python -m bench.ocpi_locations [--locations 10000] [--rounds 5] [--deltas 100]
        [--gc-freeze]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import time
from dataclasses import replace
from datetime import UTC, datetime

import httpx
from sqlalchemy.pool import NullPool

from bench.ocpp_load import REPO, commit, machine, throwaway_database
from bench.pwa_search import KEY, Timings, _backends, _cpu_ns, insert_network, row
from voltlane.app import create_app
from voltlane.core.clock import utcnow
from voltlane.core.db import Database, sync_engine
from voltlane.models.platform import CredentialKind
from voltlane.models.tenant import OcpiPartner, PartnerInitiator, PartnerState
from voltlane.ocpi.auth import authorization_header
from voltlane.ocpi.partners import add_credential
from voltlane.ocpi.protocol import ocpi_datetime
from voltlane.settings import load_settings
from voltlane.tenancy import service as tenancy
from voltlane.tenancy.migrations import upgrade_platform
from voltlane.tenancy.spec import Ocpi, TenantSpec

SLUG = "ocpi-bench"
TOKEN = "bench-token-c-" + "x" * 20
PAGE = 1000
PATH = "/ocpi/2.2.1/locations"


async def provision(url: str) -> None:
    """The brand (``bench.pwa_search``'s key, whose schema its COPY fills) as DE*VLT, and
    a registered eMSP with token C."""
    database = Database(url, pool_size=2)
    try:
        spec = TenantSpec(
            key=KEY,
            slug=SLUG,
            name="OCPI bench",
            theme="harbour",
            locale="en_GB",
            currency="EUR",
            timezone="Europe/Berlin",
            ocpi=Ocpi(country_code="DE", party_id="VLT"),
        )
        async with database.platform_transaction() as db_session:
            info, _ = await tenancy.register_tenant(db_session, spec)
        await tenancy.provision_tenant(database, REPO / "migrations", info.id)
        async with database.tenant_transaction(KEY) as db_session:
            partner = OcpiPartner(
                name="EMS Mobility",
                state=PartnerState.REGISTERED,
                initiated_by=PartnerInitiator.THEM,
                country_code="NL",
                party_id="EMS",
                roles=[{"role": "EMSP", "country_code": "NL", "party_id": "EMS"}],
                version="2.2.1",
            )
            db_session.add(partner)
            await db_session.flush()
            partner_id = partner.id
        async with database.platform_transaction() as db_session:
            await add_credential(
                db_session,
                tenant_key=KEY,
                partner_id=partner_id,
                token=TOKEN,
                kind=CredentialKind.ACCESS,
            )
    finally:
        await database.dispose()


async def measure(
    url: str, *, locations: int, rounds: int, deltas: int, freeze: bool = False
) -> Timings:
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
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),  # type: ignore[arg-type]
        base_url=f"http://{SLUG}.localhost",
        headers={"Authorization": authorization_header(TOKEN)},
    ) as client:
        backends: list[int] = []

        async def pull(kind: str, params: dict[str, str], items: int, total: int) -> None:
            cpu = _cpu_ns(backends)
            started = time.perf_counter()
            response = await client.get(PATH, params=params)
            elapsed = (time.perf_counter() - started) * 1000
            cpu_ms = (_cpu_ns(backends) - cpu) / 1e6
            body = response.json()
            assert response.status_code == 200, response.text
            assert body["status_code"] == 1000, body
            assert len(body["data"]) == items, (kind, params, len(body["data"]))
            assert response.headers["X-Total-Count"] == str(total)
            if kind:
                timings.add(kind, elapsed, cpu_ms)

        def page(offset: int) -> dict[str, str]:
            return {"offset": str(offset), "limit": str(PAGE)}

        offsets = range(0, locations, PAGE)
        for offset in offsets:  # warm-up: one crawl, unmeasured
            await pull("", page(offset), min(PAGE, locations - offset), locations)
        backends.extend(_backends(url))
        if freeze:
            gc.freeze()  # the experiment: the started process's heap out of full collections
        for _ in range(rounds):
            for offset in offsets:
                await pull("full page", page(offset), min(PAGE, locations - offset), locations)
        # Nothing changed since the network was loaded (before the warm-up).
        since = {"date_from": ocpi_datetime(utcnow()), "limit": str(PAGE)}
        for _ in range(deltas):
            await pull("delta", since, 0, 0)
    await app.state["web"].database.dispose()
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--locations", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--deltas", type=int, default=100)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="experiment: gc.freeze() after the warm-up, as the OCPP gateway does at start",
    )
    args = parser.parse_args()
    os.environ.setdefault("VOLTLANE_SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("VOLTLANE_LOG_LEVEL", "ERROR")
    with throwaway_database(pg_stats=False, keep=False) as (url, server, _postmaster):
        engine = sync_engine(url, poolclass=NullPool)
        upgrade_platform(engine, REPO / "migrations")
        engine.dispose()
        await provision(url)
        started = time.perf_counter()
        evses = insert_network(url, args.locations, args.seed)
        print(
            f"setup: {args.locations} locations, {evses} EVSEs in"
            f" {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        load_before = os.getloadavg()[0]
        timings = await measure(
            url,
            locations=args.locations,
            rounds=args.rounds,
            deltas=args.deltas,
            freeze=args.gc_freeze,
        )
    load = os.getloadavg()[0]
    print(f"\nMeasured {datetime.now(UTC):%Y-%m-%d}, commit `{commit()}`, {machine()}, {server}.")
    print(f"Load average (1 min): {load_before:.1f} before the requests, {load:.1f} after.")
    print(
        f"Command: `python -m bench.ocpi_locations --locations {args.locations}"
        f" --rounds {args.rounds} --deltas {args.deltas}"
        f"{' --gc-freeze' if args.gc_freeze else ''}`\n"
    )
    print(
        "| pull | requests | p50 ms | p95 ms | p99 ms | max ms | CPU p50 ms | CPU p95 ms |\n"
        "|---|---|---|---|---|---|---|---|"
    )
    for kind in ("full page", "delta"):
        print(row(kind, timings.wall[kind], timings.cpu[kind]))


if __name__ == "__main__":
    asyncio.run(main())
