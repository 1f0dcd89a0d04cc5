"""Engines, sessions and the tenant schema routing.

Tenant models declare the placeholder schema ``tenant``. A per-tenant engine proxy with
``schema_translate_map={"tenant": "tenant_<key>"}`` routes them; the plain engine has no map,
so a tenant model used without a tenant fails loudly (``relation "tenant.x" does not exist``)
instead of reading another tenant's rows. One ``db_session`` serves exactly one tenant.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Engine, TextClause, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

TENANT_PLACEHOLDER = "tenant"
PLATFORM_SCHEMA = "platform"
TENANT_KEY_RE = re.compile(r"^[a-z0-9]{4,32}$")

AfterCommit = Callable[[], Awaitable[None]]


class InvalidTenantKeyError(ValueError):
    """A tenant key that cannot name a schema (``^[a-z0-9]{4,32}$``)."""


def tenant_schema(key: str) -> str:
    """The schema of tenant ``key``; validated so it can never be injected or collide."""
    if not isinstance(key, str) or not TENANT_KEY_RE.fullmatch(key):
        raise InvalidTenantKeyError(f"invalid tenant key {key!r}: must match ^[a-z0-9]{{4,32}}$")
    return f"tenant_{key}"


def quoted_tenant_schema(key: str) -> str:
    """The double-quoted schema identifier for raw SQL (validated first)."""
    return f'"{tenant_schema(key)}"'


def tenant_text(key: str, sql: str) -> TextClause:
    """Raw SQL for one tenant: ``{schema}`` in ``sql`` becomes the quoted tenant schema.

    ``text()`` is not touched by ``schema_translate_map``; this is the one way raw SQL
    reaches a tenant schema.
    """
    return text(sql.replace("{schema}", quoted_tenant_schema(key)))


def async_url(url: str) -> str:
    """Normalise ``postgresql://`` (and friends) to the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError("Voltlane needs PostgreSQL; got a non-PostgreSQL database URL")
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def sync_engine(url: str, **kwargs: Any) -> Engine:
    """A synchronous engine on the same URL (migrations, CLI)."""
    return create_engine(async_url(url), **kwargs)


class Database:
    """The engine of the process and the factories for platform and tenant sessions."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        max_overflow: int | None = None,
        pre_ping: bool = True,
        echo: bool = False,
    ) -> None:
        self.url = async_url(url)
        self.engine: AsyncEngine = create_async_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=pool_size if max_overflow is None else max_overflow,
            # A ping is a round trip per checkout; a hot path that retries on a broken
            # connection can do without it.
            pool_pre_ping=pre_ping,
            pool_recycle=1800,
            echo=echo,
        )
        self._platform_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._tenant_sessions: dict[str, async_sessionmaker[AsyncSession]] = {}

    def tenant_engine(self, key: str) -> AsyncEngine:
        """The engine proxy that routes the ``tenant`` placeholder to ``tenant_<key>``."""
        return self.engine.execution_options(
            schema_translate_map={TENANT_PLACEHOLDER: tenant_schema(key)}
        )

    def _tenant_factory(self, key: str) -> async_sessionmaker[AsyncSession]:
        factory = self._tenant_sessions.get(key)
        if factory is None:
            factory = async_sessionmaker(self.tenant_engine(key), expire_on_commit=False)
            self._tenant_sessions[key] = factory
        return factory

    def platform_session(self) -> AsyncSession:
        session = self._platform_sessions()
        session.info["tenant_key"] = None
        session.info["database"] = self
        return session

    def tenant_session(self, key: str) -> AsyncSession:
        session = self._tenant_factory(key)()
        session.info["tenant_key"] = key
        session.info["database"] = self
        return session

    @asynccontextmanager
    async def platform_transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work on the platform schema: commit on success, then after-commit hooks."""
        async with self.platform_session() as db_session, unit_of_work(db_session):
            yield db_session

    @asynccontextmanager
    async def tenant_transaction(self, key: str) -> AsyncIterator[AsyncSession]:
        """One unit of work for one tenant: commit on success, then after-commit hooks."""
        async with self.tenant_session(key) as db_session, unit_of_work(db_session):
            yield db_session

    async def dispose(self) -> None:
        await self.engine.dispose()


def on_commit(db_session: AsyncSession, hook: AfterCommit, *, key: str | None = None) -> None:
    """Run ``hook`` after the unit of work around ``db_session`` commits (never on rollback).

    ``key`` de-duplicates hooks registered several times in one transaction.
    """
    hooks: dict[object, AfterCommit] = db_session.info.setdefault("after_commit", {})
    hooks[key if key is not None else object()] = hook


@asynccontextmanager
async def unit_of_work(db_session: AsyncSession) -> AsyncIterator[AsyncSession]:
    """Commit ``db_session`` when the block succeeds, roll back when it raises.

    Hooks registered with :func:`on_commit` run after a successful commit; their failures
    are logged, never raised, because the business change is already durable.
    """
    try:
        yield db_session
        await db_session.commit()
    except BaseException:
        await db_session.rollback()
        db_session.info.pop("after_commit", None)
        raise
    hooks: dict[object, AfterCommit] = db_session.info.pop("after_commit", {})
    for hook in hooks.values():
        try:
            await hook()
        except Exception:
            log.exception("after-commit hook failed; the outbox relay will retry")
