"""Shared fixtures: a real PostgreSQL built by the real migrations, brands, web clients.

Without DATABASE_URL the suite starts its own private PostgreSQL (the embedded default) in
a temporary directory; with DATABASE_URL it creates a throw-away database on that server.
Either way the database is dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from pathlib import Path

import dramatiq
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

# Settings are read from the environment: pin what the tests rely on before any import.
os.environ["VOLTLANE_SECRET_KEY"] = "test-" + secrets.token_urlsafe(40)
os.environ["VOLTLANE_DEMO"] = "0"
os.environ["VOLTLANE_LOG_JSON"] = "1"
os.environ.setdefault("VOLTLANE_LOG_LEVEL", "WARNING")

from tests.factories import brand_spec, pg_data_root
from voltlane.app import create_app
from voltlane.core.database_url import drop_database, ensure_database
from voltlane.core.db import Database, sync_engine
from voltlane.core.pgserver import EmbeddedPostgres
from voltlane.settings import Settings, load_settings
from voltlane.tenancy import TenantInfo
from voltlane.tenancy import service as tenancy
from voltlane.tenancy.migrations import upgrade_platform
from voltlane.worker.broker import build_broker

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """A PostgreSQL server: DATABASE_URL's, or a private one for this run."""
    configured = os.environ.get("VOLTLANE_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if configured:
        yield make_url(configured).set(database="postgres").render_as_string(hide_password=False)
        return
    data_dir = pg_data_root()
    server = EmbeddedPostgres(data_dir / "cluster", fast=True)
    try:
        yield server.start()
    finally:
        server.destroy()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(server_url: str) -> Iterator[str]:
    """A throw-away database with the platform schema migrated to head."""
    name = f"voltlane_test_{uuid.uuid4().hex[:12]}"
    ensure_database(server_url, name)
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    engine = sync_engine(url, poolclass=NullPool)
    try:
        upgrade_platform(engine, REPO / "migrations")
    finally:
        engine.dispose()
    yield url
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = load_settings()
    return replace(
        base,
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        home=REPO,
        tenants_dir=REPO / "tenants",
        themes_dir=REPO / "themes",
        migrations_dir=REPO / "migrations",
        demo=False,
    )


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url, pool_size=5)
    yield db
    await db.dispose()


MakeBrand = Callable[..., Awaitable[TenantInfo]]


@pytest.fixture
def make_brand(database: Database, settings: Settings) -> MakeBrand:
    """Register and provision a brand for real: schema created and migrated, then active."""

    async def make(**kwargs: object) -> TenantInfo:
        spec = brand_spec(**kwargs)  # type: ignore[arg-type]
        async with database.platform_transaction() as db_session:
            info, _ = await tenancy.register_tenant(db_session, spec)
        return await tenancy.provision_tenant(database, settings.migrations_dir, info.id)

    return make


@pytest.fixture(scope="session")
def broker(database_url: str) -> Iterator[dramatiq.Broker]:
    """The real Postgres-backed broker on the test database (its queue tables)."""
    instance = build_broker(None, database_url)
    yield instance
    instance.close()


@pytest.fixture(scope="session")
def app(settings: Settings, database_url: str, broker: dramatiq.Broker) -> Litestar:
    # ttl=0: every request resolves its host afresh, so suspensions show at once.
    return create_app(settings, database_url=database_url, broker=broker, registry_ttl=0)


BrandClient = Callable[[str], AbstractAsyncContextManager[AsyncTestClient[Litestar]]]


@pytest.fixture
def client_for(app: Litestar) -> BrandClient:
    """An HTTP client for one host; cookies stay with that host like in a browser."""

    def open_client(host: str) -> AbstractAsyncContextManager[AsyncTestClient[Litestar]]:
        client = AsyncTestClient(app=app, base_url=f"http://{host}")
        client.follow_redirects = False  # assert redirects as a browser would receive them
        return client

    return open_client
