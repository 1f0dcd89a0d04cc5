"""Running tasks: one event loop thread per worker process, with its own database engine.

dramatiq calls actors from its worker threads; each call hands the coroutine to the loop
thread and waits for it. Async engines belong to one loop, hence one Database per runtime.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import dramatiq

from voltlane.core.context import tenant_key_var
from voltlane.core.db import Database
from voltlane.settings import Settings
from voltlane.worker.outbox import OutboxRelay
from voltlane.worker.registry import TASKS, JobContext, TaskSpec
from voltlane.worker.schedule import run_schedules

log = logging.getLogger(__name__)
T = TypeVar("T")


class WorkerRuntime:
    """Binds every declared task to ``broker`` and runs it on a private event loop."""

    def __init__(self, settings: Settings, database_url: str, broker: dramatiq.Broker) -> None:
        self.settings = settings
        self.broker = broker
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="voltlane-jobs", daemon=True)
        self._thread.start()
        self.database = self.call(self._make_database(database_url, settings.db_pool_size))
        self.context = JobContext(database=self.database, settings=settings)
        self._stop = asyncio.Event()
        self._sweeper: concurrent.futures.Future[None] | None = None
        self._scheduler: concurrent.futures.Future[None] | None = None
        self.worker: dramatiq.Worker | None = None

    @staticmethod
    async def _make_database(url: str, pool_size: int) -> Database:
        return Database(url, pool_size=pool_size)

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the runtime's loop and wait for its result."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result()
        except BaseException:
            # TimeLimit and shutdown interrupt the waiting thread: stop the coroutine too.
            future.cancel()
            raise

    def bind(self) -> None:
        """Declare every registered task as a dramatiq actor on the broker."""
        for spec in TASKS.values():
            if spec.name not in self.broker.actors:
                self._actor(spec)

    def _actor(self, spec: TaskSpec) -> None:
        runtime = self

        def run(**kwargs: Any) -> None:
            # A task binds its brand to the log context once it has resolved it.
            token = tenant_key_var.set(None)
            try:
                runtime.call(spec.fn(runtime.context, **kwargs))
            finally:
                tenant_key_var.reset(token)

        run.__name__ = spec.name.replace(".", "_")
        dramatiq.actor(
            actor_name=spec.name,
            queue_name=spec.queue,
            broker=self.broker,
            max_retries=spec.max_retries,
            time_limit=spec.time_limit_ms,
            min_backoff=spec.min_backoff_ms,
            max_backoff=spec.max_backoff_ms,
        )(run)

    def start(
        self, *, threads: int = 4, relay: OutboxRelay | None = None, schedules: bool = True
    ) -> None:
        """Start consuming; with ``relay``, sweep the outbox and (unless ``schedules`` is
        off) enqueue the periodic jobs."""
        self.bind()
        self.worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=250)
        self.worker.start()
        if relay is not None:
            stop = self._stop_event()
            self._sweeper = asyncio.run_coroutine_threadsafe(
                relay.run(self.database, stop), self.loop
            )
            if schedules:
                self._scheduler = asyncio.run_coroutine_threadsafe(
                    run_schedules(self.database, stop), self.loop
                )
        log.info("worker started", extra={"threads": threads, "tasks": sorted(TASKS)})

    def _stop_event(self) -> asyncio.Event:
        # Created on the loop thread so it belongs to the runtime's loop.
        async def make() -> asyncio.Event:
            self._stop = asyncio.Event()
            return self._stop

        return asyncio.run_coroutine_threadsafe(make(), self.loop).result()

    def stop(self) -> None:
        """Finish running tasks, stop the sweeper, dispose the engine, end the loop."""
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        self.loop.call_soon_threadsafe(self._stop.set)
        for background in (self._sweeper, self._scheduler):
            if background is None:
                continue
            try:
                background.result(timeout=10)
            except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
                background.cancel()
        self.call(self.database.dispose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.broker.close()
        log.info("worker stopped")
