"""Periodic jobs: a task enqueued every so often by whichever worker claims it first.

Catch-up work (CDRs of sessions whose job gave up, captures still owed by a PSP) runs on a
schedule. Every worker with an outbox relay ticks; a tick claims each due schedule with one
atomic UPDATE of ``platform.schedule_runs`` and enqueues its task in the same transaction,
so however many workers run, a schedule's task is enqueued once per interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text

from voltlane.core.db import Database
from voltlane.worker.outbox import enqueue

log = logging.getLogger(__name__)

TICK_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Schedule:
    task: str
    every: timedelta


SCHEDULES: dict[str, Schedule] = {}

_CLAIM = text(
    "INSERT INTO platform.schedule_runs (name, last_run_at) VALUES (:name, now())"
    " ON CONFLICT (name) DO UPDATE SET last_run_at = now()"
    " WHERE platform.schedule_runs.last_run_at <= now() - make_interval(secs => :seconds)"
    " RETURNING name"
)


def every(task_name: str, interval: timedelta) -> None:
    """Enqueue the task ``task_name`` (taking no arguments) every ``interval``."""
    existing = SCHEDULES.get(task_name)
    if existing is not None and existing.every != interval:
        raise ValueError(f"{task_name} is scheduled twice with different intervals")
    SCHEDULES[task_name] = Schedule(task_name, interval)


async def run_due(database: Database) -> list[str]:
    """Enqueue every schedule whose interval has passed; returns the tasks enqueued."""
    started: list[str] = []
    async with database.platform_transaction() as db_session:
        for schedule in SCHEDULES.values():
            claimed = await db_session.scalar(
                _CLAIM,
                {"name": schedule.task, "seconds": schedule.every.total_seconds()},
            )
            if claimed is not None:
                enqueue(db_session, schedule.task)
                started.append(schedule.task)
    return started


async def run_schedules(
    database: Database, stop: asyncio.Event, tick: float = TICK_SECONDS
) -> None:
    """Tick until ``stop`` is set."""
    while not stop.is_set():
        try:
            for task_name in await run_due(database):
                log.info("periodic job enqueued", extra={"task": task_name})
        except Exception:
            log.exception("schedule tick failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=tick)
