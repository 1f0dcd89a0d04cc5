"""The Postgres broker's pool has room for a worker consuming every queue and its delay
queue at once (dramatiq-postgres's default of 16 left consumers waiting forever)."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from voltlane.worker.broker import BROKER_POOL_SIZE, build_broker


def test_the_postgres_broker_pool_holds_every_consumer(database_url: str) -> None:
    broker = build_broker(None, database_url)
    try:
        assert broker.pool.max_size == BROKER_POOL_SIZE == 48  # type: ignore[attr-defined]
    finally:
        broker.close()


def test_a_pool_size_in_the_url_is_kept(database_url: str) -> None:
    sized = make_url(database_url).update_query_dict({"maxconn": "20"})
    broker = build_broker(sized.render_as_string(hide_password=False), database_url)
    try:
        assert broker.pool.max_size == 20  # type: ignore[attr-defined]
    finally:
        broker.close()
