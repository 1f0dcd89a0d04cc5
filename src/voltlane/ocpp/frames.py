"""The frame log: every frame in and out, per station, written in batches.

Frames are buffered per brand and inserted every ``interval`` seconds, so logging never
holds up a reply; the domain effect of a message is committed before its reply, the log
line a moment later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

from voltlane.core.db import Database, quoted_tenant_schema

log = logging.getLogger(__name__)
COLUMNS = (
    "charging_station_id",
    "station_id",
    "direction",
    "message_type",
    "message_id",
    "action",
    "raw",
    "at",
    "latency_ms",
    "error_code",
)

YIELD_EVERY = 100


class FrameLog:
    def __init__(self, database: Database, *, interval: float = 0.2, max_batch: int = 2000) -> None:
        self.database = database
        self.interval = interval
        self.max_batch = max_batch
        self._buffers: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self.written = 0
        self.dropped = 0

    def record(self, tenant_key: str, row: dict[str, Any]) -> None:
        buffer = self._buffers[tenant_key]
        buffer.append(row)
        if len(buffer) >= self.max_batch:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="voltlane-frame-log")

    async def stop(self) -> None:
        """Write what is buffered and end. The writer is asked to finish, not cancelled: a
        COPY cancelled halfway leaves its connection unusable (and the pool hangs on it)."""
        if self._task is not None:
            self._closing = True
            self._wake.set()
            await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
            await self.flush()

    async def _copy(self, tenant_key: str, rows: list[dict[str, Any]]) -> None:
        """COPY the rows in: a fraction of the cost of INSERTs at thousands of frames a second."""
        statement = (
            f"COPY {quoted_tenant_schema(tenant_key)}.ocpp_frames ({', '.join(COLUMNS)}) FROM STDIN"
        )
        # begin(): the commit on leaving the block covers the COPY run on the driver below.
        async with self.database.engine.begin() as connection:
            raw = await connection.get_raw_connection()
            psycopg_connection: Any = raw.driver_connection
            async with psycopg_connection.cursor() as cursor, cursor.copy(statement) as copy:
                for index, row in enumerate(rows, 1):
                    await copy.write_row([row[c] for c in COLUMNS])
                    if index % YIELD_EVERY == 0:
                        # Formatting rows never waits: let the stations' calls in between,
                        # or a batch of 2,000 frames holds the event loop for tens of ms.
                        await asyncio.sleep(0)

    async def flush(self) -> None:
        pending, self._buffers = self._buffers, defaultdict(list)
        for tenant_key, rows in pending.items():
            for start in range(0, len(rows), self.max_batch):
                batch = rows[start : start + self.max_batch]
                try:
                    await self._copy(tenant_key, batch)
                    self.written += len(batch)
                except Exception:  # the log must never take the gateway down
                    self.dropped += len(batch)
                    log.exception("frame log batch lost", extra={"frames": len(batch)})
