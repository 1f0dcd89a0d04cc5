"""Schema routing: every tenant model goes through the tenant's own schema or fails."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import ProgrammingError

from voltlane.core.db import (
    Database,
    InvalidTenantKeyError,
    async_url,
    on_commit,
    quoted_tenant_schema,
    tenant_schema,
    tenant_text,
)
from voltlane.models.tenant import ChargingStation, Location


@pytest.mark.parametrize("key", ["abcd", "voltaria", "a1b2c3d4", "x" * 32])
def test_valid_keys_name_their_schema(key: str) -> None:
    assert tenant_schema(key) == f"tenant_{key}"
    assert quoted_tenant_schema(key) == f'"tenant_{key}"'


@pytest.mark.parametrize(
    "key",
    [
        "abc",
        "x" * 33,
        "Voltaria",
        "volt-aria",
        "volt_aria",
        'a"; DROP SCHEMA platform; --',
        "",
        "tenant ",
    ],
)
def test_invalid_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidTenantKeyError):
        tenant_schema(key)


def test_tenant_text_quotes_the_schema() -> None:
    clause = tenant_text("abcd1234", "SELECT count(*) FROM {schema}.locations")
    assert str(clause) == 'SELECT count(*) FROM "tenant_abcd1234".locations'


def test_async_url_switches_to_psycopg_and_refuses_other_databases() -> None:
    assert async_url("postgresql://u:p@h:5/db") == "postgresql+psycopg://u:p@h:5/db"
    with pytest.raises(ValueError, match="PostgreSQL"):
        async_url("sqlite:///x.db")


async def test_a_forgotten_schema_map_fails_loudly(database: Database, make_brand) -> None:
    await make_brand()
    async with database.platform_session() as db_session:
        with pytest.raises(ProgrammingError, match=r'relation "tenant\.locations" does not exist'):
            await db_session.scalar(select(func.count()).select_from(Location))


async def test_raw_sql_reaches_only_the_named_schema(database: Database, make_brand) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        count = await db_session.scalar(
            tenant_text(brand.key, "SELECT count(*) FROM {schema}.charging_stations")
        )
        routed = await db_session.scalar(select(func.count()).select_from(ChargingStation))
        schema = await db_session.scalar(
            text("SELECT nspname FROM pg_namespace WHERE nspname = :n"),
            {"n": f"tenant_{brand.key}"},
        )
    assert (count, routed, schema) == (0, 0, f"tenant_{brand.key}")


async def test_after_commit_hooks_run_only_after_a_commit(database: Database) -> None:
    ran: list[str] = []

    async def hook() -> None:
        ran.append("committed")

    async def failing_unit_of_work() -> None:
        async with database.platform_transaction() as db_session:
            on_commit(db_session, hook)
            raise RuntimeError("boom")

    async with database.platform_transaction() as db_session:
        on_commit(db_session, hook)
        await db_session.execute(text("SELECT 1"))
    with pytest.raises(RuntimeError, match="boom"):
        await failing_unit_of_work()
    assert ran == ["committed"]
