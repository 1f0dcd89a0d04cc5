"""Group commit: many requests, one transaction; a bad request fails alone."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import insert, select, update

from voltlane.core.db import Database
from voltlane.core.group_commit import GroupCommit, RowSet, rows_of
from voltlane.models.tenant import AuditEntry

ADD = insert(AuditEntry)
_NAMED = rows_of("named", b_action=AuditEntry.action.type, b_actor=AuditEntry.actor_user_id.type)
NAME = RowSet(
    update(AuditEntry)
    .where(AuditEntry.action == _NAMED.c.b_action)
    .values(actor_user_id=_NAMED.c.b_actor)
)


def entry(action: str) -> dict[str, object]:
    return {"action": action, "detail": {}}


async def _actions(database: Database, key: str) -> list[str]:
    async with database.tenant_session(key) as db_session:
        rows = await db_session.scalars(select(AuditEntry.action).order_by(AuditEntry.action))
        return list(rows)


async def test_concurrent_requests_share_batches_and_all_land(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    group = GroupCommit(database.tenant_engine(brand.key), max_wait=0.02)
    try:
        await asyncio.gather(*(group.write([(ADD, [entry(f"a{i:03d}")])]) for i in range(100)))
    finally:
        await group.close()
    assert await _actions(database, brand.key) == [f"a{i:03d}" for i in range(100)]
    assert group.requests == 100
    assert group.batches < 100


async def test_a_batch_takes_everything_waiting_up_to_max_batch(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    group = GroupCommit(database.tenant_engine(brand.key), max_batch=100, in_flight=1)
    try:
        await asyncio.gather(*(group.write([(ADD, [entry(f"b{i:03d}")])]) for i in range(250)))
    finally:
        await group.close()
    assert await _actions(database, brand.key) == [f"b{i:03d}" for i in range(250)]
    assert (group.batches, group.requests) == (3, 250)


async def test_one_bad_request_fails_alone(database: Database, make_brand) -> None:
    brand = await make_brand()
    group = GroupCommit(database.tenant_engine(brand.key), max_wait=0.05)
    too_long = "x" * 65  # action is VARCHAR(64)
    try:
        results = await asyncio.gather(
            group.write([(ADD, [entry("good-1")])]),
            group.write([(ADD, [entry(too_long)])]),
            group.write([(ADD, [entry("good-2")])]),
            return_exceptions=True,
        )
    finally:
        await group.close()
    assert results[0] is None
    assert results[2] is None
    assert type(results[1]).__name__ == "DataError"
    assert await _actions(database, brand.key) == ["good-1", "good-2"]


async def test_nothing_to_write_returns_at_once(database: Database, make_brand) -> None:
    brand = await make_brand()
    group = GroupCommit(database.tenant_engine(brand.key))
    await group.write([(ADD, [])])
    assert (group.batches, group.requests) == (0, 0)


async def test_a_row_set_updates_every_row_of_a_batch_in_one_statement(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    group = GroupCommit(database.tenant_engine(brand.key), max_wait=0.02)
    actors = {f"c{i}": uuid.uuid4() for i in range(3)}
    try:
        await group.write([(ADD, [entry(action) for action in [*actors, "untouched"]])])
        await asyncio.gather(
            *(group.write([(NAME, [{"b_action": a, "b_actor": u}])]) for a, u in actors.items())
        )
    finally:
        await group.close()
    async with database.tenant_session(brand.key) as db_session:
        rows = (
            await db_session.execute(
                select(AuditEntry.action, AuditEntry.actor_user_id).order_by(AuditEntry.action)
            )
        ).all()
    assert [tuple(r) for r in rows] == [*actors.items(), ("untouched", None)]
    assert (group.batches, group.requests) == (2, 4)
