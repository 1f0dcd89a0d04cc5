"""Group commit: the writes of many concurrent requests share one transaction.

A request hands over its writes (prepared statements with their parameter rows) and waits;
a collector runs everything that waits in one transaction, one ``executemany`` per
statement, and wakes every request after the commit. A request is answered only once its
rows are durable, yet the database sees one commit per batch instead of one per request.
When a batch fails, each request's writes are retried alone, so one bad request cannot fail
the others.

A statement that would run once per row (or with a parameter per value) takes the whole
batch at once as a :class:`RowSet`: one statement reading the batch's rows, sent as one JSON
array (``rows_of``, ``insert_rows``).

A batch made only of RowSets (every writer of the OCPP gateway) is sent to PostgreSQL in
one pipeline: BEGIN, its statements and COMMIT leave together and their results come back
together, one network round trip and one wait on the event loop instead of one per
statement (under load each wait is also a turn of a busy loop).

Batches grow with the load: a request that finds the collector idle waits ``max_wait`` for
company, and every request queued while a batch commits joins the next one. Up to
``in_flight`` batches commit at once, so a batch being collected never waits for the round
trips of the one before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from typing import cast as cast_clause

from sqlalchemy import Executable, Text, bindparam, cast, column, func, inspect, select
from sqlalchemy.dialects.postgresql import JSONB, Insert, insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.sql.selectable import TableValuedAlias
from sqlalchemy.types import TypeEngine

log = logging.getLogger(__name__)

Rows = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RowSet:
    """A statement run once per batch with every row of it: its one parameter ``rows`` is
    the rows as a JSON array, read through :func:`rows_of`."""

    statement: Executable


Statement = Executable | RowSet


def rows_of(name: str, **columns: TypeEngine[Any] | type[TypeEngine[Any]]) -> TableValuedAlias:
    """The ``rows`` of a :class:`RowSet` as a table ``name`` with typed ``columns``."""
    rows: ColumnElement[Any] = cast(bindparam("rows", type_=Text), JSONB)
    return (
        func.jsonb_to_recordset(rows)
        .table_valued(*(column(key, type_) for key, type_ in columns.items()))
        .render_derived(name=name, with_types=True)
    )


def insert_rows(entity: type[Any], *names: str) -> Insert:
    """INSERT into ``entity``'s table of a :class:`RowSet`'s rows (keys ``names``, typed as
    the columns); columns not named take their server defaults."""
    columns = inspect(entity).local_table.c
    rows = rows_of("inserted", **{name: columns[name].type for name in names})
    return insert(entity).from_select(list(names), select(*(rows.c[name] for name in names)))


def _future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


@dataclass(slots=True)
class _Request:
    writes: Sequence[tuple[Statement, Rows]]
    done: asyncio.Future[None] = field(default_factory=_future)


class GroupCommit:
    """One collector per engine (per brand schema); statements must be module constants so
    that writes of the same kind are merged into one ``executemany``."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_batch: int = 1000,
        max_wait: float = 0.002,
        in_flight: int = 2,
    ) -> None:
        self.engine = engine
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[_Request] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._slots = asyncio.Semaphore(in_flight)
        self._commits: set[asyncio.Task[None]] = set()
        self._compiled: dict[RowSet, str] = {}
        self.batches = 0
        self.requests = 0

    async def write(self, writes: Sequence[tuple[Statement, Rows]]) -> None:
        """Return once ``writes`` are committed (raise what the database raised)."""
        if not any(rows for _statement, rows in writes):
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._collect(), name="voltlane-group-commit")
        request = _Request(writes)
        self._queue.put_nowait(request)
        await request.done

    async def close(self) -> None:
        """Stop collecting; batches already committing finish first."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._commits:
            await asyncio.gather(*self._commits, return_exceptions=True)

    async def _collect(self) -> None:
        while True:
            first = await self._queue.get()
            # While every slot is busy, the requests that arrive join this batch.
            await self._slots.acquire()
            if self._queue.empty() and self.max_wait > 0:
                await asyncio.sleep(self.max_wait)  # alone: give concurrent requests a moment
            batch = [first]
            # Taken without suspending: under load a batch is whatever waits, at once.
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            task = asyncio.create_task(self._commit_in_slot(batch), name="voltlane-group-batch")
            self._commits.add(task)
            task.add_done_callback(self._commits.discard)

    async def _commit_in_slot(self, batch: list[_Request]) -> None:
        try:
            await self._commit(batch)
        finally:
            self._slots.release()

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
        merged: dict[int, tuple[Statement, Rows]] = {}
        for request in batch:
            for statement, rows in request.writes:
                if rows:
                    merged.setdefault(id(statement), (statement, []))[1].extend(rows)
        row_sets = [(s, rows) for s, rows in merged.values() if isinstance(s, RowSet)]
        if len(row_sets) == len(merged):
            await self._pipelined([(self._sql(s), rows) for s, rows in row_sets])
        else:
            await self._one_by_one(merged.values())
        self.batches += 1
        self.requests += len(batch)

    def _sql(self, row_set: RowSet) -> str:
        """The row set's SQL for this engine's schema, compiled once."""
        sql = self._compiled.get(row_set)
        if sql is None:
            dialect = self.engine.dialect
            translate = self.engine.get_execution_options().get("schema_translate_map")
            statement = cast_clause(ClauseElement, row_set.statement)
            compiled = statement.compile(dialect=dialect, schema_translate_map=translate)
            sql = compiled.string
            if translate:
                # What SQLAlchemy does to a statement at execution with this map.
                sql = dialect.identifier_preparer._render_schema_translates(sql, translate)
            self._compiled[row_set] = sql
        return sql

    async def _pipelined(self, writes: list[tuple[str, Rows]]) -> None:
        """BEGIN, every statement and COMMIT in one pipeline (one round trip); an error
        rolls the whole batch back and is raised here."""
        texts = [(sql, {"rows": _json(rows)}) for sql, rows in writes]
        async with self.engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            async with driver.pipeline(), driver.transaction():
                for sql, params in texts:
                    await driver.execute(sql, params)

    async def _one_by_one(self, writes: Iterable[tuple[Statement, Rows]]) -> None:
        async with self.engine.begin() as connection:
            for statement, rows in writes:
                if isinstance(statement, RowSet):
                    await connection.execute(statement.statement, {"rows": _json(rows)})
                else:
                    await connection.execute(statement, rows)


def _json(rows: Rows) -> str:
    # Decimals, UUIDs and datetimes as text, which their columns' types read.
    return json.dumps(rows, default=str, separators=(",", ":"))


def _fail(request: _Request, exc: BaseException) -> None:
    if not request.done.done():
        request.done.set_exception(exc)


def _succeed(request: _Request) -> None:
    if not request.done.done():
        request.done.set_result(None)
