"""Worker tests run a real worker on the shared Postgres queue. Jobs other tests left in it
(periodic fan-outs reach every brand of the test database: hundreds of them by now) are
nobody's business here, and a worker thread busy with them would only make these tests wait;
each test starts from an empty queue."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from voltlane.core.db import Database
from voltlane.worker.broker import QUEUE_PREFIX, QUEUE_SCHEMA


@pytest.fixture(autouse=True)
async def empty_job_queue(database: Database) -> None:
    table = f'"{QUEUE_SCHEMA}"."{QUEUE_PREFIX}queue"'
    async with database.platform_transaction() as db_session:
        exists = await db_session.scalar(text(f"SELECT to_regclass('{table}') IS NOT NULL"))
        if exists:
            await db_session.execute(text(f"DELETE FROM {table} WHERE state = 'queued'"))
