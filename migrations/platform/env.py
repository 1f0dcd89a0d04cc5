"""Alembic environment of the ``platform`` schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

import voltlane.models.platform
import voltlane.worker.models  # noqa: F401 - the outbox table
from voltlane.core.db import PLATFORM_SCHEMA
from voltlane.core.orm import PlatformBase
from voltlane.tenancy.migrations import include_platform_object

config = context.config


def run(connection: Connection) -> None:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{PLATFORM_SCHEMA}"'))
    context.configure(
        connection=connection,
        target_metadata=PlatformBase.metadata,
        version_table_schema=PLATFORM_SCHEMA,
        include_schemas=True,
        include_name=lambda name, type_, _parent: type_ != "schema" or name == PLATFORM_SCHEMA,
        include_object=include_platform_object,
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run platform migrations through `voltlane migrate`")
run(connection)
