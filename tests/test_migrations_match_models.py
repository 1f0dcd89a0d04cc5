"""The migrations build exactly the schema the models describe (no drift either way)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

import voltlane.models.platform
import voltlane.models.tenant
import voltlane.worker.models  # noqa: F401 - the outbox table
from tests.factories import REPO
from voltlane.core.database_url import drop_database, ensure_database
from voltlane.core.db import sync_engine
from voltlane.core.orm import NAMING_CONVENTION, PlatformBase, TenantBase
from voltlane.tenancy.migrations import (
    include_platform_object,
    upgrade_platform,
    upgrade_schema,
)


@pytest.fixture(scope="module")
def scratch_engine(server_url: str) -> Iterator[Engine]:
    # Its own database, so the probe schemas never sit beside real brands.
    name = f"voltlane_drift_{uuid.uuid4().hex[:10]}"
    ensure_database(server_url, name)
    engine = sync_engine(
        make_url(server_url).set(database=name).render_as_string(hide_password=False),
        poolclass=NullPool,
    )
    yield engine
    engine.dispose()
    drop_database(server_url, name)


def _diff(engine: Engine, metadata: object, schema: str) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": include_platform_object,
                "include_schemas": True,
                "include_name": lambda name, type_, _parent: type_ != "schema" or name == schema,
                "compare_type": True,
                "version_table_schema": schema,
            },
        )
        return list(compare_metadata(context, metadata))  # type: ignore[arg-type]


def test_platform_tree_matches_the_platform_models(scratch_engine: Engine) -> None:
    upgrade_platform(scratch_engine, REPO / "migrations")
    assert _diff(scratch_engine, PlatformBase.metadata, "platform") == []


def test_tenant_tree_matches_the_tenant_models(scratch_engine: Engine) -> None:
    # A real brand's schema name: ALTER operations that ignore the placeholder map fail here.
    with scratch_engine.begin() as connection:
        upgrade_schema(connection, REPO / "migrations", "tenant_drift")
    routed = MetaData(naming_convention=NAMING_CONVENTION)
    for table in TenantBase.metadata.tables.values():
        table.to_metadata(routed, schema="tenant_drift")
    assert _diff(scratch_engine, routed, "tenant_drift") == []
