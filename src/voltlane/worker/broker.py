"""The dramatiq broker: Postgres-backed on the embedded default, RabbitMQ or Redis by URL."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

QUEUE_SCHEMA = "platform"
QUEUE_PREFIX = "job_"


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://`` -> ``postgresql://`` for libpq-based clients."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# A worker holds a connection per queue and per delay queue while it consumes (seven queues
# are 14), plus enqueues, heartbeats and maintenance: dramatiq-postgres's default pool of 16
# ran out once the ocpi and smart_charging queues came, and consumers waited forever. The
# pool opens connections on demand only.
BROKER_POOL_SIZE = 48


def _with_pool_size(url: str) -> str:
    parsed = make_url(url)
    if "maxconn" in parsed.query:
        return url
    return parsed.update_query_dict({"maxconn": str(BROKER_POOL_SIZE)}).render_as_string(
        hide_password=False
    )


def build_broker(broker_url: str | None, database_url: str) -> dramatiq.Broker:
    """The broker named by ``VOLTLANE_BROKER_URL``, or the Postgres queue of the database."""
    if broker_url is None or broker_url.startswith(("postgres://", "postgresql")):
        from dramatiq_postgres import PostgresBroker  # noqa: PLC0415 - chosen at runtime

        broker: dramatiq.Broker = PostgresBroker(
            url=_with_pool_size(libpq_url(broker_url or database_url)),
            schema=QUEUE_SCHEMA,
            prefix=QUEUE_PREFIX,
            results=False,
        )
        return broker
    if broker_url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker  # noqa: PLC0415

        return RabbitmqBroker(url=broker_url)
    if broker_url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker  # noqa: PLC0415

        return RedisBroker(url=broker_url)  # type: ignore[no-untyped-call]
    raise ValueError("VOLTLANE_BROKER_URL must be a postgresql://, amqp:// or redis:// URL")


class BrokerSink:
    """Adapts a broker to the outbox relay: messages arrive already encoded."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self.broker = broker

    def enqueue_encoded(self, message: dict[str, Any]) -> None:
        self.broker.enqueue(dramatiq.Message(**message))


def check_broker(broker: dramatiq.Broker) -> None:
    """Raise when the broker cannot be reached (used by ``/healthz``)."""
    pool = getattr(broker, "pool", None)
    if pool is not None:  # Postgres broker: one round trip on its own pool
        with pool.connection(timeout=5) as conn:
            # Both names are module constants, not input.
            conn.execute(f"SELECT 1 FROM {QUEUE_SCHEMA}.{QUEUE_PREFIX}queue LIMIT 1")  # noqa: S608
        return
    client = getattr(broker, "client", None)
    if client is not None:  # Redis
        client.ping()
        return
    connection = getattr(broker, "connection", None)
    if connection is not None:  # RabbitMQ: opening the connection is the check
        return
    raise RuntimeError(f"cannot check broker {type(broker).__name__}")
