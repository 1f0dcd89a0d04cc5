"""The transactional outbox between a business transaction and the broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.db import Database, on_commit
from voltlane.core.ids import new_id
from voltlane.worker.models import OutboxMessage
from voltlane.worker.registry import TASKS

log = logging.getLogger(__name__)


class MessageSink(Protocol):
    """The part of a dramatiq broker the relay needs."""

    def enqueue_encoded(self, message: dict[str, Any]) -> None: ...


class OutboxRelay:
    """Moves committed outbox rows to the broker; safe to run in many processes at once."""

    def __init__(self, sink: MessageSink) -> None:
        self.sink = sink

    async def flush(self, database: Database, limit: int = 500) -> int:
        """Hand up to ``limit`` waiting messages to the broker; returns how many.

        ``database`` is the caller's: engines are bound to the event loop that uses them.
        """
        async with database.platform_transaction() as db_session:
            rows = (
                await db_session.scalars(
                    select(OutboxMessage)
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            for row in rows:
                # A crash after this and before the commit re-sends the same message id:
                # the Postgres broker upserts on it and every task is idempotent.
                await asyncio.to_thread(self.sink.enqueue_encoded, row.message)
            await db_session.execute(
                delete(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows]))
            )
        return len(rows)

    async def run(self, database: Database, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Sweep the outbox until ``stop`` is set (rows left by a crashed process)."""
        while not stop.is_set():
            try:
                while await self.flush(database) > 0:
                    pass
            except Exception:
                log.exception("outbox relay sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)


_relay: OutboxRelay | None = None


def install_relay(relay: OutboxRelay | None) -> None:
    """Let this process forward its own outbox rows right after each commit."""
    global _relay  # noqa: PLW0603 - process-wide wiring done once by the composition root
    _relay = relay


def outbox_row(task_name: str, **kwargs: Any) -> dict[str, Any]:
    """The outbox row of a job (``message_id``, ``queue_name``, ``actor_name``, ``message``),
    for a statement that writes it together with its cause."""
    spec = TASKS.get(task_name)
    if spec is None:
        raise LookupError(f"unknown task {task_name!r}")
    message_id = new_id()
    message = {
        "queue_name": spec.queue,
        "actor_name": spec.name,
        "args": [],
        "kwargs": kwargs,
        "options": {},
        "message_id": str(message_id),
        "message_timestamp": int(utcnow().timestamp() * 1000),
    }
    return {
        "message_id": message_id,
        "queue_name": spec.queue,
        "actor_name": spec.name,
        "message": message,
    }


def enqueue(db_session: AsyncSession, task_name: str, **kwargs: Any) -> uuid.UUID:
    """Write a job into the outbox within ``db_session``'s transaction.

    The job reaches the broker only if the transaction commits. ``kwargs`` must be
    JSON-serialisable ids and values, never ORM objects.
    """
    row = outbox_row(task_name, **kwargs)
    message_id: uuid.UUID = row["message_id"]
    db_session.add(OutboxMessage(**row))
    relay = _relay
    database = db_session.info.get("database")
    if relay is not None and isinstance(database, Database):

        async def flush() -> None:
            await relay.flush(database)

        on_commit(db_session, flush, key="outbox-flush")
    return message_id
