"""Periodic jobs are enqueued once per interval, however many workers tick."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

import voltlane.billing.tasks  # noqa: F401 - declares the task
from voltlane.core.db import Database
from voltlane.worker import schedule
from voltlane.worker.models import OutboxMessage

NAME = "billing.sweep"


async def _queued(database: Database) -> int:
    async with database.platform_session() as db_session:
        return int(
            await db_session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.actor_name == NAME)
            )
            or 0
        )


async def test_a_schedule_is_claimed_once_per_interval_by_concurrent_ticks(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        schedule, "SCHEDULES", {NAME: schedule.Schedule(NAME, timedelta(minutes=5))}
    )
    monkeypatch.setattr("voltlane.worker.outbox._relay", None)
    async with database.platform_transaction() as db_session:
        await db_session.execute(text("DELETE FROM platform.schedule_runs"))
        await db_session.execute(
            text("DELETE FROM platform.outbox WHERE actor_name = :name"), {"name": NAME}
        )

    # Three workers tick at the same moment: one enqueues.
    ticks = await asyncio.gather(*(schedule.run_due(database) for _ in range(3)))
    later = await schedule.run_due(database)
    async with database.platform_transaction() as db_session:
        await db_session.execute(
            text(
                "UPDATE platform.schedule_runs SET last_run_at = now() - interval '6 minutes'"
                " WHERE name = :name"
            ),
            {"name": NAME},
        )
    due_again = await schedule.run_due(database)

    assert sorted(ticks) == [[], [], [NAME]]
    assert later == []
    assert due_again == [NAME]
    assert await _queued(database) == 2


def test_a_task_cannot_be_scheduled_twice_with_different_intervals(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(schedule, "SCHEDULES", {})
    schedule.every(NAME, timedelta(minutes=5))
    schedule.every(NAME, timedelta(minutes=5))
    with pytest.raises(ValueError, match="scheduled twice"):
        schedule.every(NAME, timedelta(minutes=1))
