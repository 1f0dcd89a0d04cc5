"""PostgreSQL LISTEN/NOTIFY for one process: one listening connection, many subscribers.

NOTIFY is transactional: issued inside a unit of work it is delivered only if that work
commits, which is what the command path relies on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)


async def notify(db_session: AsyncSession, channel: str, payload: dict[str, Any]) -> None:
    """Queue a notification on ``db_session``'s transaction (sent at commit)."""
    await db_session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": channel, "payload": json.dumps(payload, separators=(",", ":"))},
    )


class NotificationHub:
    """Fans the notifications of a few channels out to asyncio queues in this process."""

    def __init__(self, database_url: str) -> None:
        self.url = (
            make_url(database_url)
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._channels: set[str] = set()
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None

    async def start(self, channels: list[str]) -> None:
        """Connect and LISTEN; reconnects by itself until :meth:`stop`."""
        self._channels.update(channels)
        if self._task is None:
            # Made on the running loop: a hub may be started again on another loop (tests).
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._run(self._ready), name="voltlane-notify")
        assert self._ready is not None
        await asyncio.wait_for(self._ready.wait(), timeout=30)

    async def stop(self) -> None:
        self._ready = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def _run(self, ready: asyncio.Event) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, autocommit=True) as conn:
                    self._connection = conn
                    for channel in sorted(self._channels):
                        await conn.execute(f'LISTEN "{channel}"')
                    ready.set()
                    async for note in conn.notifies():
                        self._dispatch(note.channel, note.payload)
            except asyncio.CancelledError:
                raise
            except Exception:  # the database went away: listen again shortly
                log.exception("notification listener lost its connection")
                ready.clear()
                await asyncio.sleep(1)

    def _dispatch(self, channel: str, raw: str) -> None:
        try:
            payload = json.loads(raw)
        except json.JSONDecodeError:
            log.warning("ignored a malformed notification", extra={"channel": channel})
            return
        for queue in list(self._queues.get(channel, ())):
            queue.put_nowait(payload)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue receiving every notification on ``channel`` while the block runs."""
        if channel not in self._channels:
            raise LookupError(f"the hub does not listen on {channel!r}")
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues[channel].add(queue)
        try:
            yield queue
        finally:
            self._queues[channel].discard(queue)
