"""The ``voltlane`` command: run, web, worker, migrate, tenants, users, admins."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.pool import NullPool

from voltlane.core.database_url import database_url, drop_database, ensure_database
from voltlane.core.db import Database, sync_engine
from voltlane.core.errors import VoltlaneError
from voltlane.core.logs import configure_logging
from voltlane.models.platform import TenantStatus
from voltlane.models.tenant import Role
from voltlane.ocpp.simulator import add_arguments as simulator_arguments
from voltlane.settings import Settings, SettingsError, load_settings
from voltlane.tenancy import service as tenancy
from voltlane.tenancy.migrations import migrate_tenants
from voltlane.tenancy.spec import TenantSpec, TenantSpecError, load_spec, validate_spec


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _password(env_name: str) -> str:
    """A new password from the environment (scripts) or typed twice (people)."""
    value = os.environ.get(env_name)
    if value:
        return value
    if not sys.stdin.isatty():
        raise SystemExit(f"set {env_name} or run interactively to type the password")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise SystemExit("passwords differ")
    return first


# -- migrate ---------------------------------------------------------------------------
def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from voltlane.cli.launcher import migrate_platform  # noqa: PLC0415 - heavy import

    with database_url(settings.database_url, settings.data_dir) as url:
        migrate_platform(settings, url)
        _out("platform: up to date")
        if args.platform_only:
            return 0

        async def keys() -> list[str]:
            database = Database(url, pool_size=1)
            try:
                async with database.platform_session() as db_session:
                    return [
                        t.key
                        for t in await tenancy.list_tenants(db_session)
                        if t.status is not TenantStatus.FAILED or args.include_failed
                    ]
            finally:
                await database.dispose()

        engine = sync_engine(url, poolclass=NullPool)
        try:
            report = migrate_tenants(engine, settings.migrations_dir, asyncio.run(keys()))
        finally:
            engine.dispose()
        for key in report.upgraded:
            _out(f"tenant_{key}: upgraded")
        for key in report.up_to_date:
            _out(f"tenant_{key}: up to date")
        for key, error in report.failed.items():
            _out(f"tenant_{key}: FAILED {error}")
        return 0 if report.ok else 1


def cmd_revision(settings: Settings, args: argparse.Namespace) -> int:
    """Autogenerate a revision against a throw-away database (never a schema named tenant
    in a real one), formatted with ruff like the rest of the tree."""
    from alembic import command  # noqa: PLC0415
    from alembic.config import Config  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    from voltlane.tenancy.migrations import upgrade_platform, upgrade_schema  # noqa: PLC0415

    ruff = Path(sys.executable).parent / "ruff"
    with database_url(settings.database_url, settings.data_dir) as url:
        scratch = f"voltlane_autogen_{os.getpid()}"
        server = make_url(url).set(database="postgres").render_as_string(hide_password=False)
        ensure_database(server, scratch)
        scratch_url = make_url(url).set(database=scratch).render_as_string(hide_password=False)
        engine = sync_engine(scratch_url, poolclass=NullPool)
        try:
            upgrade_platform(engine, settings.migrations_dir)
            with engine.begin() as connection:
                cfg = Config()
                cfg.set_main_option("script_location", str(settings.migrations_dir / args.tree))
                cfg.set_main_option("path_separator", "os")
                hooks = ["voltlane_tenant_schema"] if args.tree == "tenant" else []
                if ruff.exists():
                    hooks += ["ruff_format", "ruff_fix"]
                    cfg.set_section_option("post_write_hooks", "ruff_fix.type", "exec")
                    cfg.set_section_option("post_write_hooks", "ruff_fix.executable", str(ruff))
                    cfg.set_section_option(
                        "post_write_hooks",
                        "ruff_fix.options",
                        "check --fix --exit-zero --quiet REVISION_SCRIPT_FILENAME",
                    )
                    cfg.set_section_option("post_write_hooks", "ruff_format.type", "exec")
                    cfg.set_section_option("post_write_hooks", "ruff_format.executable", str(ruff))
                    cfg.set_section_option(
                        "post_write_hooks", "ruff_format.options", "format REVISION_SCRIPT_FILENAME"
                    )
                if hooks:
                    cfg.set_section_option("post_write_hooks", "hooks", ", ".join(hooks))
                    cfg.set_section_option(
                        "post_write_hooks", "voltlane_tenant_schema.type", "voltlane_tenant_schema"
                    )
                cfg.attributes["connection"] = connection
                if args.tree == "tenant":
                    upgrade_schema(connection, settings.migrations_dir, "tenant")
                    cfg.attributes["tenant_schema"] = "tenant"
                command.revision(cfg, message=args.message, autogenerate=True)
        finally:
            engine.dispose()
            drop_database(server, scratch)
    return 0


# -- tenants ---------------------------------------------------------------------------
def _spec_from_args(settings: Settings, args: argparse.Namespace) -> TenantSpec:
    if args.file:
        return load_spec(Path(args.file), themes_dir=settings.themes_dir)
    missing = [n for n in ("key", "slug", "name") if getattr(args, n) is None]
    if missing:
        raise TenantSpecError(f"give --file, or --{', --'.join(missing)}")
    spec = TenantSpec(
        key=args.key,
        slug=args.slug,
        name=args.name,
        theme=args.theme,
        locale=args.locale,
        currency=args.currency,
        timezone=args.timezone,
        domains=args.domain or [],
    )
    return validate_spec(spec, themes_dir=settings.themes_dir)


async def _with_database(url: str, fn: Any) -> Any:
    database = Database(url, pool_size=2)
    try:
        return await fn(database)
    finally:
        await database.dispose()


def cmd_tenants_list(settings: Settings, args: argparse.Namespace) -> int:
    with database_url(settings.database_url, settings.data_dir) as url:

        async def run(database: Database) -> list[Any]:
            async with database.platform_session() as db_session:
                return await tenancy.list_tenants(db_session)

        brands = asyncio.run(_with_database(url, run))
    if args.json:
        _out(
            json.dumps(
                [
                    {
                        "key": b.key,
                        "slug": b.slug,
                        "name": b.name,
                        "status": b.status.value,
                        "theme": b.theme,
                        "locale": b.locale,
                        "currency": b.currency,
                        "timezone": b.timezone,
                        "domains": list(b.hosts),
                    }
                    for b in brands
                ],
                indent=2,
            )
        )
        return 0
    _out(f"{'SLUG':<20} {'KEY':<16} {'STATUS':<13} {'CUR':<4} {'LOCALE':<7} NAME")
    for b in brands:
        _out(
            f"{b.slug:<20} {b.key:<16} {b.status.value:<13} {b.currency:<4} {b.locale:<7} {b.name}"
        )
    return 0


def cmd_tenants_create(settings: Settings, args: argparse.Namespace) -> int:
    """Register a brand and queue its provisioning job; wait for a worker unless told not to."""
    from voltlane.app import load_tasks  # noqa: PLC0415

    spec = _spec_from_args(settings, args)
    load_tasks()
    with database_url(settings.database_url, settings.data_dir) as url:

        async def create(database: Database) -> Any:
            async with database.platform_transaction() as db_session:
                info, created = await tenancy.register_tenant(db_session, spec)
                if not created:
                    raise VoltlaneError(f"brand {spec.key!r} exists; use `tenants sync`")
                await tenancy.request_provisioning(db_session, info.id)
            return info

        info = asyncio.run(_with_database(url, create))
        _out(f"{info.slug}: registered, provisioning queued (job tenancy.provision)")
        if args.no_wait:
            return 0
        deadline = time.monotonic() + args.timeout

        async def status(database: Database) -> Any:
            async with database.platform_session() as db_session:
                return await tenancy.get_tenant(db_session, info.slug)

        while time.monotonic() < deadline:
            current = asyncio.run(_with_database(url, status))
            if current.status in (TenantStatus.ACTIVE, TenantStatus.FAILED):
                _out(f"{info.slug}: {current.status.value}")
                return 0 if current.status is TenantStatus.ACTIVE else 1
            time.sleep(0.5)
        _out(f"{info.slug}: still provisioning after {args.timeout}s (is a worker running?)")
        return 1


def cmd_tenants_sync(settings: Settings, args: argparse.Namespace) -> int:
    """Register every tenants/*.toml and provision it in this process."""
    from voltlane.app import wire  # noqa: PLC0415
    from voltlane.cli.launcher import demo_password, migrate_platform, sync_tenants  # noqa: PLC0415

    del args
    with database_url(settings.database_url, settings.data_dir) as url:
        migrate_platform(settings, url)
        wire(settings, demo_password=demo_password(settings))
        brands, failures = asyncio.run(sync_tenants(settings, url))
    for brand in brands:
        _out(f"{brand.slug}: {brand.status.value}")
    for slug, error in failures.items():
        _out(f"{slug}: FAILED {error}")
    return 0 if not failures else 1


def cmd_tenants_suspend(settings: Settings, args: argparse.Namespace, *, suspended: bool) -> int:
    with database_url(settings.database_url, settings.data_dir) as url:

        async def run(database: Database) -> Any:
            async with database.platform_transaction() as db_session:
                return await tenancy.set_suspended(db_session, args.slug, suspended=suspended)

        info = asyncio.run(_with_database(url, run))
    _out(f"{info.slug}: {info.status.value}")
    return 0


# -- users and admins --------------------------------------------------------------------
def cmd_users_create(settings: Settings, args: argparse.Namespace) -> int:
    from voltlane.identity import service as identity  # noqa: PLC0415

    password = _password("VOLTLANE_USER_PASSWORD")
    with database_url(settings.database_url, settings.data_dir) as url:

        async def run(database: Database) -> Any:
            async with database.platform_session() as db_session:
                brand = await tenancy.get_tenant(db_session, args.tenant)
            async with database.tenant_transaction(brand.key) as db_session:
                return await identity.create_operator_user(
                    db_session,
                    email=args.email,
                    name=args.name,
                    password=password,
                    role=Role(args.role),
                )

        user = asyncio.run(_with_database(url, run))
    _out(f"{user.email}: created as {user.role.value} on {args.tenant}")
    return 0


def cmd_admins_create(settings: Settings, args: argparse.Namespace) -> int:
    from voltlane.identity import service as identity  # noqa: PLC0415

    password = _password("VOLTLANE_ADMIN_PASSWORD")
    with database_url(settings.database_url, settings.data_dir) as url:

        async def run(database: Database) -> Any:
            async with database.platform_transaction() as db_session:
                return await identity.create_platform_admin(
                    db_session, email=args.email, name=args.name, password=password
                )

        admin = asyncio.run(_with_database(url, run))
    _out(f"{admin.email}: platform admin created")
    return 0


# -- processes ---------------------------------------------------------------------------
def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from voltlane.cli.launcher import run_all  # noqa: PLC0415

    return run_all(settings, worker_threads=args.threads)


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    from voltlane.cli.launcher import run_web  # noqa: PLC0415

    del args
    return run_web(settings)


def cmd_ocpp(settings: Settings, args: argparse.Namespace) -> int:
    from voltlane.cli.launcher import run_ocpp  # noqa: PLC0415

    return run_ocpp(settings, processes=args.processes, reuse_port=args.reuse_port)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from voltlane.cli.launcher import run_worker  # noqa: PLC0415

    return run_worker(settings, threads=args.threads)


def cmd_simulate(settings: Settings | None, args: argparse.Namespace) -> int:
    from voltlane.ocpp import simulator  # noqa: PLC0415

    simulator.run(args)
    return 0


def _at_least_one(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voltlane", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="everything in one process, with the demo brands")
    p.add_argument("--threads", type=int, default=2, help="worker threads")
    p.set_defaults(fn=cmd_run, demo_default=True)

    p = sub.add_parser("web", help="the web app (portal, driver app, API)")
    p.set_defaults(fn=cmd_web)

    p = sub.add_parser("ocpp", help="an OCPP gateway node (chargers connect here)")
    p.add_argument(
        "--processes",
        type=_at_least_one,
        default=1,
        help="gateway processes on this machine sharing the port (one per core)",
    )
    p.add_argument(
        "--reuse-port",
        action="store_true",
        help="share the port with other gateway processes already listening (SO_REUSEPORT)",
    )
    p.set_defaults(fn=cmd_ocpp)

    p = sub.add_parser("worker", help="the job workers")
    p.add_argument("--threads", type=int, default=4)
    p.set_defaults(fn=cmd_worker)

    p = sub.add_parser(
        "simulate",
        help="simulated OCPP 2.x cars on the demo's simulator stations (from demo.json)",
    )
    simulator_arguments(p)
    p.set_defaults(fn=cmd_simulate, needs_settings=False)

    p = sub.add_parser("migrate", help="migrate the platform schema and every brand schema")
    p.add_argument("--platform-only", action="store_true")
    p.add_argument("--include-failed", action="store_true", help="also retry failed brands")
    p.set_defaults(fn=cmd_migrate)
    msub = p.add_subparsers(dest="migrate_command")
    r = msub.add_parser("revision", help="autogenerate a new revision")
    r.add_argument("--tree", choices=("platform", "tenant"), required=True)
    r.add_argument("-m", "--message", required=True)
    r.set_defaults(fn=cmd_revision)

    t = sub.add_parser("tenants", help="manage brands").add_subparsers(
        dest="tenants_command", required=True
    )
    p = t.add_parser("list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_tenants_list)
    p = t.add_parser("create", help="register a brand and queue its provisioning")
    p.add_argument("--file", help="a tenant TOML file")
    p.add_argument("--key")
    p.add_argument("--slug")
    p.add_argument("--name")
    p.add_argument("--theme", default="base")
    p.add_argument("--locale", default="en_GB")
    p.add_argument("--currency", default="EUR")
    p.add_argument("--timezone", default="UTC")
    p.add_argument("--domain", action="append")
    p.add_argument("--no-wait", action="store_true", help="do not wait for a worker")
    p.add_argument("--timeout", type=float, default=60.0)
    p.set_defaults(fn=cmd_tenants_create)
    p = t.add_parser("sync", help="register and provision every tenants/*.toml now")
    p.set_defaults(fn=cmd_tenants_sync)
    p = t.add_parser("suspend")
    p.add_argument("slug")
    p.set_defaults(fn=lambda s, a: cmd_tenants_suspend(s, a, suspended=True))
    p = t.add_parser("resume")
    p.add_argument("slug")
    p.set_defaults(fn=lambda s, a: cmd_tenants_suspend(s, a, suspended=False))

    u = sub.add_parser("users", help="staff of a brand").add_subparsers(
        dest="users_command", required=True
    )
    p = u.add_parser("create", help="password from VOLTLANE_USER_PASSWORD or a prompt")
    p.add_argument("--tenant", required=True, help="brand slug")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.set_defaults(fn=cmd_users_create)

    a = sub.add_parser("admins", help="platform administrators").add_subparsers(
        dest="admins_command", required=True
    )
    p = a.add_parser("create", help="password from VOLTLANE_ADMIN_PASSWORD or a prompt")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(fn=cmd_admins_create)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not getattr(args, "needs_settings", True):
        # A client of a running Voltlane: no database, no settings of its own.
        logging.basicConfig(level=logging.INFO)
        done: int = args.fn(None, args)
        return done
    if getattr(args, "demo_default", False):
        os.environ.setdefault("VOLTLANE_DEMO", "1")
    try:
        settings = load_settings()
    except SettingsError as exc:
        sys.stderr.write(f"voltlane: {exc}\n")
        return 2
    configure_logging(settings.log_level, json_lines=settings.log_json)
    try:
        code: int = args.fn(settings, args)
    except (TenantSpecError, VoltlaneError) as exc:
        sys.stderr.write(f"voltlane: {exc}\n")
        return 1
    return code
