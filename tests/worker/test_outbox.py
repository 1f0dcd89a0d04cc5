"""Jobs reach the broker only after their transaction commits, exactly once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from voltlane.core.db import Database
from voltlane.worker import JobContext, enqueue, task
from voltlane.worker.models import OutboxMessage
from voltlane.worker.outbox import OutboxRelay, install_relay


@task("tenancy.record_probe", queue="probe")
async def record_probe(jobs: JobContext, *, probe_id: str) -> None:
    """A task for these tests only (names must follow <domain>.<verb>)."""
    del jobs, probe_id


class RecordingSink:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def enqueue_encoded(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


async def _outbox_ids(database: Database, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    async with database.platform_session() as db_session:
        rows = await db_session.scalars(
            select(OutboxMessage.message_id).where(OutboxMessage.message_id.in_(ids))
        )
        return set(rows)


async def test_a_rolled_back_transaction_sends_nothing(database: Database) -> None:
    sink = RecordingSink()
    install_relay(OutboxRelay(sink))
    sent: list[uuid.UUID] = []
    try:

        async def failing() -> None:
            async with database.platform_transaction() as db_session:
                sent.append(enqueue(db_session, "tenancy.record_probe", probe_id="rolled-back"))
                raise RuntimeError("business rule broken")

        with pytest.raises(RuntimeError, match="business rule broken"):
            await failing()
    finally:
        install_relay(None)
    assert sink.messages == []
    assert await _outbox_ids(database, set(sent)) == set()


async def test_a_committed_job_is_sent_once_right_after_commit(database: Database) -> None:
    sink = RecordingSink()
    install_relay(OutboxRelay(sink))
    try:
        async with database.platform_transaction() as db_session:
            message_id = enqueue(db_session, "tenancy.record_probe", probe_id="p-1")
            # Inside the transaction nothing has left yet.
            assert sink.messages == []
    finally:
        install_relay(None)
    mine = [m for m in sink.messages if m["message_id"] == str(message_id)]
    assert len(mine) == 1
    assert {k: mine[0][k] for k in ("queue_name", "actor_name", "args", "kwargs")} == {
        "queue_name": "probe",
        "actor_name": "tenancy.record_probe",
        "args": [],
        "kwargs": {"probe_id": "p-1"},
    }
    assert await _outbox_ids(database, {message_id}) == set()
    # A later sweep finds nothing more to send.
    await OutboxRelay(sink).flush(database)
    assert len([m for m in sink.messages if m["message_id"] == str(message_id)]) == 1


async def test_rows_left_by_a_crash_are_swept_later(database: Database) -> None:
    install_relay(None)  # as if the process died between commit and hand-over
    async with database.platform_transaction() as db_session:
        message_id = enqueue(db_session, "tenancy.record_probe", probe_id="left-over")
    assert await _outbox_ids(database, {message_id}) == {message_id}
    sink = RecordingSink()
    while await OutboxRelay(sink).flush(database, limit=100):
        pass
    assert [m["kwargs"] for m in sink.messages if m["message_id"] == str(message_id)] == [
        {"probe_id": "left-over"}
    ]
    async with database.platform_session() as db_session:
        left = await db_session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.message_id == message_id)
        )
    assert left == 0


def test_task_names_follow_domain_dot_verb() -> None:
    with pytest.raises(ValueError, match=r"must be <domain>\.<verb>"):
        task("provision")
    with pytest.raises(ValueError, match=r"must be <domain>\.<verb>"):
        task("marketing.send")


async def test_enqueueing_an_unknown_task_writes_nothing(database: Database) -> None:
    async with database.platform_transaction() as db_session:
        with pytest.raises(LookupError, match=r"unknown task 'tenancy\.vanish'"):
            enqueue(db_session, "tenancy.vanish", probe_id="x")
        assert list(db_session.new) == []
