"""The broker follows VOLTLANE_BROKER_URL: the Postgres queue by default, RabbitMQ or Redis."""

from __future__ import annotations

import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq_postgres import PostgresBroker

from voltlane.worker.broker import build_broker, check_broker, libpq_url


def test_libpq_url_drops_the_driver() -> None:
    assert libpq_url("postgresql+psycopg://u:p@h:5432/db") == "postgresql://u:p@h:5432/db"


def test_the_default_is_the_postgres_queue_of_the_database(database_url: str) -> None:
    broker = build_broker(None, database_url)
    try:
        assert isinstance(broker, PostgresBroker)
        check_broker(broker)  # the platform.job_queue table answers
    finally:
        broker.close()


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("amqp://guest:guest@rabbitmq.internal:5672/", RabbitmqBroker),
        ("amqps://guest:guest@rabbitmq.internal:5671/", RabbitmqBroker),
        ("redis://redis.internal:6379/0", RedisBroker),
    ],
)
def test_a_broker_url_selects_its_broker(url: str, kind: type) -> None:
    # Constructing connects lazily: nothing is reached at these made-up hosts.
    assert isinstance(build_broker(url, "postgresql://unused/db"), kind)


def test_an_unknown_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="must be a postgresql://, amqp:// or redis:// URL"):
        build_broker("kafka://broker:9092", "postgresql://unused/db")
