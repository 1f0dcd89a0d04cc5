"""Which PostgreSQL a command uses: ``DATABASE_URL``, or the embedded default."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from voltlane.core.pgserver import EmbeddedPostgres

log = logging.getLogger(__name__)

EMBEDDED_DATABASE = "voltlane"


def ensure_database(server_url: str, name: str) -> None:
    """Create database ``name`` on the server of ``server_url`` unless it exists."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def database_url(configured: str | None, data_dir: Path) -> Iterator[str]:
    """Yield the URL to use. Without ``configured``, start (or reuse) the private PostgreSQL
    in ``data_dir/postgres`` and stop it afterwards if this call started it."""
    if configured:
        yield configured
        return
    server = EmbeddedPostgres(data_dir / "postgres", fast=True)
    server_url = server.start()
    try:
        ensure_database(server_url, EMBEDDED_DATABASE)
        yield server.url(EMBEDDED_DATABASE)
    finally:
        server.stop()
