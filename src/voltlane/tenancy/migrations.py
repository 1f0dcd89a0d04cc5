"""The migration runner: the platform tree once, the tenant tree on every brand's schema."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from voltlane.core.db import PLATFORM_SCHEMA, tenant_schema
from voltlane.worker.broker import QUEUE_PREFIX

log = logging.getLogger(__name__)

# Serialises migrations of one schema across processes (web replicas, workers, CLI).
_LOCK_NAMESPACE = 0x566C_746E  # "Vltn"


def include_platform_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Autogenerate filter: the job queue tables belong to the broker library (created by
    the first platform migration from its own DDL), not to Voltlane's models."""
    del obj, reflected, compare_to
    if type_ == "table" and name is not None:
        return not name.startswith(QUEUE_PREFIX)
    return True


@dataclass(slots=True)
class MigrationReport:
    """What ``migrate_tenants`` did to each schema."""

    upgraded: list[str] = field(default_factory=list)
    up_to_date: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed


def _config(migrations_dir: Path, tree: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir / tree))
    cfg.set_main_option("path_separator", "os")
    return cfg


def head(migrations_dir: Path, tree: str) -> str:
    """The head revision of ``tree`` (``platform`` or ``tenant``)."""
    heads = ScriptDirectory.from_config(_config(migrations_dir, tree)).get_heads()
    if len(heads) != 1:
        raise RuntimeError(f"migrations/{tree} must have exactly one head, found {heads}")
    return heads[0]


def current_revision(connection: Connection, schema: str) -> str | None:
    """The revision recorded in ``schema``'s version table, or None when unmigrated."""
    context = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    return context.get_current_revision()


def _lock(connection: Connection, schema: str) -> None:
    connection.execute(
        text("SELECT pg_advisory_xact_lock(:ns, hashtext(:schema))"),
        {"ns": _LOCK_NAMESPACE, "schema": schema},
    )


def upgrade_platform(engine: Engine, migrations_dir: Path) -> None:
    """Bring the ``platform`` schema to head."""
    with engine.begin() as connection:
        _lock(connection, PLATFORM_SCHEMA)
        cfg = _config(migrations_dir, "platform")
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


def upgrade_schema(connection: Connection, migrations_dir: Path, schema: str) -> bool:
    """Create ``schema`` if needed and bring it to the tenant head inside ``connection``'s
    transaction. Returns False when it was already up to date."""
    _lock(connection, schema)
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    if current_revision(connection, schema) == head(migrations_dir, "tenant"):
        return False
    cfg = _config(migrations_dir, "tenant")
    cfg.attributes["connection"] = connection
    cfg.attributes["tenant_schema"] = schema
    command.upgrade(cfg, "head")
    return True


def upgrade_tenant(engine: Engine, migrations_dir: Path, key: str) -> bool:
    """Bring one brand's schema to head in its own transaction (all or nothing)."""
    with engine.begin() as connection:
        return upgrade_schema(connection, migrations_dir, tenant_schema(key))


def migrate_tenants(engine: Engine, migrations_dir: Path, keys: list[str]) -> MigrationReport:
    """Upgrade every listed brand; one failing schema never stops the others."""
    report = MigrationReport()
    for key in keys:
        try:
            changed = upgrade_tenant(engine, migrations_dir, key)
        except Exception as exc:  # reported per tenant, the run goes on
            log.exception("tenant migration failed", extra={"tenant": key})
            report.failed[key] = f"{type(exc).__name__}: {exc}".splitlines()[0]
            continue
        (report.upgraded if changed else report.up_to_date).append(key)
    return report
