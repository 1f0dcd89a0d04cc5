"""Group commit: many requests, one transaction; a bad request fails alone."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import insert, select, update

from voltlane.core.db import Database
from voltlane.core.group_commit import GroupCommit, RowSet, insert_rows, rows_of
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


ADD_ROWS = RowSet(insert_rows(AuditEntry, "action", "detail"))


async def test_row_sets_of_a_batch_commit_together_and_a_bad_request_fails_alone(
    database: Database, make_brand
) -> None:
    # A batch of RowSets goes out as one pipeline; a request whose second statement fails
    # leaves nothing of its first, and the others of its batch still land.
    brand = await make_brand()
    group = GroupCommit(database.tenant_engine(brand.key), max_wait=0.05)
    try:
        results = await asyncio.gather(
            group.write([(ADD_ROWS, [entry("good-1")])]),
            group.write(
                [(ADD_ROWS, [entry("half-done")]), (NAME, [{"b_action": "x", "b_actor": "no"}])]
            ),
            group.write([(ADD_ROWS, [entry("good-2")]), (NAME, [])]),
            return_exceptions=True,
        )
        # The connection the failed pipeline used is clean again for the next batch.
        await group.write([(ADD_ROWS, [entry("after")])])
    finally:
        await group.close()
    assert results[0] is None
    assert results[2] is None
    assert type(results[1]).__name__ == "InvalidTextRepresentation"  # "no" is not a UUID
    assert await _actions(database, brand.key) == ["after", "good-1", "good-2"]
    # Committed: the two good requests, each alone after their batch failed, then one more.
    assert (group.batches, group.requests) == (3, 3)


async def test_one_row_set_writes_to_each_brands_own_schema(database: Database, make_brand) -> None:
    first, second = await make_brand(), await make_brand()
    groups = [GroupCommit(database.tenant_engine(b.key)) for b in (first, second)]
    try:
        await groups[0].write([(ADD_ROWS, [entry("first-brand")])])
        await groups[1].write([(ADD_ROWS, [entry("second-brand")])])
        await groups[0].write([(ADD_ROWS, [entry("first-again")])])
    finally:
        for group in groups:
            await group.close()
    assert await _actions(database, first.key) == ["first-again", "first-brand"]
    assert await _actions(database, second.key) == ["second-brand"]
