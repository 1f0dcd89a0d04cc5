"""Group commit: the writes of many concurrent requests share one transaction.

A request hands over its writes (prepared statements with their parameter rows) and waits;
a collector runs everything that arrived within a few milliseconds in one transaction,
one ``executemany`` per statement, and wakes every request after the commit. A request is
answered only once its rows are durable, yet the database sees one commit per batch
instead of one per request. When a batch fails, each request's writes are retried alone,
so one bad request cannot fail the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

Rows = list[dict[str, Any]]


def _future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


@dataclass(slots=True)
class _Request:
    writes: Sequence[tuple[Executable, Rows]]
    done: asyncio.Future[None] = field(default_factory=_future)


class GroupCommit:
    """One collector per engine (per brand schema); statements must be module constants so
    that writes of the same kind are merged into one ``executemany``."""

    def __init__(
        self, engine: AsyncEngine, *, max_batch: int = 500, max_wait: float = 0.002
    ) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.requests = 0

    async def write(self, writes: Sequence[tuple[Executable, Rows]]) -> None:
        """Return once ``writes`` are committed (raise what the database raised)."""
        if not any(rows for _statement, rows in writes):
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._collect(), name="voltlane-group-commit")
        request = _Request(writes)
        self._queue.put_nowait(request)
        await request.done

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _collect(self) -> None:
        while True:
            batch = [await self._queue.get()]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            await self._commit(batch)

    async def _commit(self, batch: list[_Request]) -> None:
        try:
            await self._execute(batch)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting requests
            if len(batch) == 1:
                _fail(batch[0], exc)
                return
            # Find the culprit: every request alone, so the good ones still land.
            for request in batch:
                try:
                    await self._execute([request])
                except Exception as alone:  # noqa: BLE001 - handed to its own waiter
                    _fail(request, alone)
                else:
                    _succeed(request)
            return
        for request in batch:
            _succeed(request)

    async def _execute(self, batch: list[_Request]) -> None:
        merged: dict[int, tuple[Executable, Rows]] = {}
        for request in batch:
            for statement, rows in request.writes:
                if rows:
                    merged.setdefault(id(statement), (statement, []))[1].extend(rows)
        async with self.engine.begin() as connection:
            for statement, rows in merged.values():
                await connection.execute(statement, rows)
        self.batches += 1
        self.requests += len(batch)


def _fail(request: _Request, exc: BaseException) -> None:
    if not request.done.done():
        request.done.set_exception(exc)


def _succeed(request: _Request) -> None:
    if not request.done.done():
        request.done.set_result(None)
