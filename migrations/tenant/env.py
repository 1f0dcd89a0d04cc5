"""Alembic environment of one brand's schema.

The migrations name the placeholder schema ``tenant``; the runner passes the real schema
(``tenant_<key>``) in ``config.attributes["tenant_schema"]`` and it is routed through
``schema_translate_map``. The version table lives in the tenant's own schema.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

import voltlane.models.tenant  # noqa: F401 - registers the models on the metadata
from voltlane.core.db import TENANT_PLACEHOLDER
from voltlane.core.orm import TenantBase

config = context.config


def run(connection: Connection, schema: str) -> None:
    routed = connection.execution_options(schema_translate_map={TENANT_PLACEHOLDER: schema})
    context.configure(
        connection=routed,
        target_metadata=TenantBase.metadata,
        version_table_schema=schema,
        include_schemas=True,
        include_name=lambda name, type_, _parent: type_ != "schema" or name == schema,
        compare_type=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
schema = config.attributes.get("tenant_schema")
if connection is None or schema is None:
    raise RuntimeError("run tenant migrations through `voltlane migrate`")
run(connection, schema)
