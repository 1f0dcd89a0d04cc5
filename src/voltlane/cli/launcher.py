"""Long-running processes: ``voltlane run`` (everything), ``web`` and ``worker``."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy.pool import NullPool

from voltlane.app import create_app, wire
from voltlane.billing.sandbox import start_demo_sandbox
from voltlane.core.database_url import database_url
from voltlane.core.db import Database, sync_engine
from voltlane.identity.api_keys import key_for_secret
from voltlane.ocpp.server import running_gateway
from voltlane.seed import demo_api_key_secret, demo_station_password
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.tenancy import service as tenancy
from voltlane.tenancy.migrations import upgrade_platform
from voltlane.tenancy.spec import load_specs
from voltlane.web.i18n import translations
from voltlane.worker.broker import BrokerSink, build_broker
from voltlane.worker.outbox import OutboxRelay
from voltlane.worker.runtime import WorkerRuntime

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1


def exit_with_parent() -> None:
    """Ask Linux to send SIGTERM when the parent (make) dies, so nothing is orphaned."""
    if os.environ.get("VOLTLANE_EXIT_WITH_PARENT") != "1" or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def demo_password(settings: Settings) -> str | None:
    """The shared password of demo staff: VOLTLANE_DEMO_PASSWORD, or one generated once and
    kept in the data directory. None outside demo mode."""
    if not settings.demo:
        return None
    configured = os.environ.get("VOLTLANE_DEMO_PASSWORD")
    if configured:
        return configured
    path = settings.data_dir / "demo_password"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    password = "demo-" + secrets.token_urlsafe(12)
    path.write_text(password)
    path.chmod(0o600)
    return password


def migrate_platform(settings: Settings, url: str) -> None:
    engine = sync_engine(url, poolclass=NullPool)
    try:
        upgrade_platform(engine, settings.migrations_dir)
    finally:
        engine.dispose()


async def sync_tenants(settings: Settings, url: str) -> tuple[list[TenantInfo], dict[str, str]]:
    """Register every tenant file and provision it in-process (migrate, seed, activate).

    Returns the brands and the failures by slug; one failing brand never stops the others.
    """
    specs = load_specs(settings.tenants_dir, themes_dir=settings.themes_dir)
    database = Database(url, pool_size=2)
    failures: dict[str, str] = {}
    brands: list[TenantInfo] = []
    try:
        for spec in specs:
            try:
                async with database.platform_transaction() as db_session:
                    info, _created = await tenancy.register_tenant(db_session, spec)
                brands.append(
                    await tenancy.provision_tenant(database, settings.migrations_dir, info.id)
                )
            except Exception as exc:  # reported per brand
                log.exception("tenant sync failed", extra={"tenant": spec.key})
                failures[spec.slug] = f"{type(exc).__name__}: {exc}"
    finally:
        await database.dispose()
    return brands, failures


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the launcher owns shutdown order."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _web_server(app: Any, settings: Settings) -> _Server:
    # Our JSON logs replace uvicorn's; X-Forwarded-For is trusted from FORWARDED_ALLOW_IPS.
    return _Server(
        uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            lifespan="on",
            log_config=None,
            access_log=False,
            server_header=False,
            proxy_headers=True,
        )
    )


class StopSignal:
    """Set by SIGINT/SIGTERM. The handler only assigns attributes: taking a lock (as
    ``threading.Event.set`` does) in a signal handler deadlocks on a second signal."""

    def __init__(self) -> None:
        self.requested = False
        self.server: uvicorn.Server | None = None

    def is_requested(self) -> bool:
        return self.requested

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._handle)
        signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, _signum: int, _frame: Any) -> None:
        self.requested = True
        if self.server is not None:
            self.server.should_exit = True


def _reachable_host(bind_host: str) -> str:
    """The address to print for a bind address (a wildcard bind is reached on loopback)."""
    return "127.0.0.1" if bind_host in {"0.0.0.0", "::", ""} else bind_host  # noqa: S104


def demo_manifest(
    settings: Settings, brands: list[TenantInfo], password: str | None, *, embedded: bool
) -> dict[str, Any]:
    """What `voltlane run` prints and writes to demo.json for scripts and the e2e suite."""
    specs = {s.key: s for s in load_specs(settings.tenants_dir)}
    scheme = settings.public_scheme
    ocpp_scheme = "wss" if scheme == "https" else "ws"
    host = _reachable_host(settings.host)
    out: dict[str, Any] = {
        "web_url": f"{scheme}://{host}:{settings.port}",
        "database": "embedded" if embedded else "external",
        "pid": os.getpid(),
        "brands": [],
    }
    for brand in brands:
        base = f"{scheme}://{brand.slug}.{settings.base_domain}:{settings.port}"
        ocpp_port = settings.ocpp_tls_port if ocpp_scheme == "wss" else settings.ocpp_port
        ocpp_base = f"{ocpp_scheme}://{host}:{ocpp_port}/ocpp/{brand.key}/"
        spec = specs.get(brand.key)
        demo = spec.demo if spec is not None and password is not None else None
        out["brands"].append(
            {
                "slug": brand.slug,
                "key": brand.key,
                "name": brand.name,
                "theme": brand.theme,
                "locale": brand.locale,
                "currency": brand.currency,
                "timezone": brand.timezone,
                "portal_url": f"{base}/portal/",
                "driver_url": f"{base}/",
                "ocpp_base_url": ocpp_base,
                "api_base_url": f"{base}/api/v1",
                # OCPI: the versions URL partners start from (None: the brand does not roam).
                "ocpi_versions_url": f"{base}/ocpi/versions" if brand.ocpi_party else None,
                "ocpi_party": "*".join(brand.ocpi_party) if brand.ocpi_party else None,
                "api_key": (
                    key_for_secret(demo_api_key_secret(password, brand.key))
                    if password is not None
                    else None
                ),
                "domains": list(brand.hosts),
                "logins": [
                    {"email": u.email, "password": password, "role": u.role}
                    for u in (demo.users if demo else [])
                ],
                "stations": [
                    {
                        "station_id": st.station_id,
                        "protocol": st.protocol,
                        "security_profile": st.security_profile,
                        "ocpp_url": f"{ocpp_base}{st.station_id}",
                        "password": (
                            demo_station_password(password, brand.key, st.station_id)
                            if password is not None and st.security_profile in (1, 2)
                            else None
                        ),
                    }
                    for loc in (demo.locations if demo else [])
                    for st in loc.stations
                ],
            }
        )
    return out


def _print_banner(manifest: dict[str, Any], failures: dict[str, str], manifest_path: Path) -> None:
    lines = ["", "Voltlane is running.", ""]
    for brand in manifest["brands"]:
        lines.append(f"  {brand['name']} ({brand['slug']}, {brand['currency']}, {brand['locale']})")
        lines.append(f"    operator portal : {brand['portal_url']}")
        lines.append(f"    driver app      : {brand['driver_url']}")
        if brand["api_key"]:
            lines.append(f"    REST API        : {brand['api_base_url']}  key {brand['api_key']}")
        if brand["ocpi_versions_url"]:
            lines.append(
                f"    OCPI CPO {brand['ocpi_party']}: {brand['ocpi_versions_url']}"
                "  (tokens: portal, Roaming)"
            )
        lines.extend(
            f"    login           : {login['email']} / {login['password']} ({login['role']})"
            for login in brand["logins"]
        )
        lines.extend(
            f"    simulator {st['protocol']:<9}: {st['ocpp_url']}  password {st['password']}"
            for st in brand["stations"]
            if st["protocol"] is not None and st["password"] is not None
        )
        lines.append("")
    lines.extend(f"  ! {slug} could not be provisioned: {e}" for slug, e in failures.items())
    lines.append(f"  Stop with Ctrl-C. Machine-readable: {manifest_path}")
    print("\n".join(lines), flush=True)  # noqa: T201 - the banner is the command's output


def run_all(settings: Settings, *, worker_threads: int = 2) -> int:
    """`voltlane run`: private PostgreSQL (unless DATABASE_URL), migrations, demo brands, the
    web app and the worker in one process; SIGINT/SIGTERM stop everything in order."""
    exit_with_parent()
    stop = StopSignal()
    stop.install()
    server: _Server | None = None
    password = demo_password(settings)
    manifest_path = settings.data_dir / "demo.json"
    with database_url(settings.database_url, settings.data_dir) as url:
        if stop.is_requested():
            return 0
        migrate_platform(settings, url)
        wire(settings, demo_password=password)
        brands, failures = asyncio.run(sync_tenants(settings, url))
        # Demo brands without PSP credentials pay through the sandbox PSP.
        sandbox = start_demo_sandbox(settings, brands, catalogs=translations)
        broker = build_broker(settings.broker_url, url)
        runtime = WorkerRuntime(settings, url, broker)
        try:
            runtime.start(threads=worker_threads, relay=OutboxRelay(BrokerSink(broker)))
            app = create_app(
                settings,
                database_url=url,
                broker=broker,
                demo_password=password,
                freeze_heap=True,
            )
            server = stop.server = _web_server(app, settings)
            if stop.is_requested():
                return 0
            manifest = demo_manifest(
                settings, brands, password, embedded=settings.database_url is None
            )

            async def serve(server: _Server) -> None:
                async with running_gateway(settings, url):
                    task = asyncio.create_task(server.serve())
                    # uvicorn offers no started event; it sets a flag.
                    while not server.started and not task.done():  # noqa: ASYNC110
                        await asyncio.sleep(0.05)
                    if server.started:
                        _write_manifest(manifest_path, manifest)
                        _print_banner(manifest, failures, manifest_path)
                    try:
                        await task
                    except SystemExit:
                        # uvicorn exits this way when it cannot bind; it has logged why.
                        log.exception("web server did not start", extra={"port": settings.port})

            asyncio.run(serve(server))
        finally:
            with contextlib.suppress(FileNotFoundError):
                manifest_path.unlink()
            runtime.stop()
            if sandbox is not None:
                sandbox.stop()
    log.info("voltlane stopped")
    return 0 if server is not None and server.started else 1


def _write_manifest(path: Path, manifest: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)


def run_web(settings: Settings) -> int:
    """`voltlane web`: the web app only (run N replicas behind a load balancer)."""
    stop = StopSignal()
    stop.install()
    with database_url(settings.database_url, settings.data_dir) as url:
        app = create_app(
            settings, database_url=url, demo_password=demo_password(settings), freeze_heap=True
        )
        server = stop.server = _web_server(app, settings)
        if not stop.is_requested():
            server.run()
    return 0 if server.started else 1


def run_ocpp(settings: Settings, *, processes: int = 1, reuse_port: bool = False) -> int:
    """`voltlane ocpp`: one OCPP gateway node until SIGINT/SIGTERM; with ``processes`` > 1,
    that many nodes on this machine sharing the port (SO_REUSEPORT: the kernel spreads the
    stations' connections over them), one event loop per core."""
    if processes > 1 and settings.ocpp_port == 0:
        raise SystemExit("voltlane ocpp --processes needs a fixed VOLTLANE_OCPP_PORT")
    exit_with_parent()
    stop = StopSignal()
    stop.install()

    async def serve(url: str) -> None:
        async with running_gateway(settings, url, reuse_port=reuse_port or processes > 1):
            while not stop.is_requested():  # noqa: ASYNC110 - set by a signal handler
                await asyncio.sleep(0.2)

    with database_url(settings.database_url, settings.data_dir) as url:
        # The ports the gateway's domain calls upwards (a status reaches roaming partners).
        wire(settings, demo_password=demo_password(settings))
        others = [_ocpp_process(url) for _ in range(processes - 1)]
        try:
            if not stop.is_requested():
                asyncio.run(serve(url))
        finally:
            for other in others:
                other.terminate()
            failed = [other.wait(timeout=60) for other in others]
        if any(failed):
            log.error("an ocpp gateway process ended with an error", extra={"codes": failed})
            return 1
    return 0


def _ocpp_process(url: str) -> subprocess.Popen[bytes]:
    """Another gateway node on this machine, on the same database and port; it ends with
    this process."""
    env = {**os.environ, "VOLTLANE_DATABASE_URL": url, "VOLTLANE_EXIT_WITH_PARENT": "1"}
    command = [sys.executable, "-m", "voltlane.cli", "ocpp", "--reuse-port"]
    return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)


def run_worker(settings: Settings, *, threads: int) -> int:
    """`voltlane worker`: consume jobs and sweep the outbox until SIGINT/SIGTERM."""
    stop = StopSignal()
    stop.install()
    with database_url(settings.database_url, settings.data_dir) as url:
        wire(settings, demo_password=demo_password(settings))
        broker = build_broker(settings.broker_url, url)
        runtime = WorkerRuntime(settings, url, broker)
        runtime.start(threads=threads, relay=OutboxRelay(BrokerSink(broker)))
        try:
            while not stop.is_requested():
                time.sleep(0.2)
        finally:
            runtime.stop()
    return 0
