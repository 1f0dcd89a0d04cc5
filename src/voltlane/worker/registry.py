"""Declared tasks, independent of any broker (bound to one in ``runtime.bind``)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from voltlane.core.db import Database
from voltlane.settings import Settings

TASK_NAME_PREFIXES = (
    "tenancy",
    "identity",
    "station",
    "tariff",
    "charging",
    "billing",
    "fleet",
    "smart_charging",
    "ocpp",
    "ocpi",
    "monitoring",
    "pwa",
)


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a running task may use: the worker's database and settings."""

    database: Database
    settings: Settings


TaskFn = Callable[..., Coroutine[Any, Any, Any]]


@dataclass(frozen=True, slots=True)
class TaskSpec:
    name: str
    fn: TaskFn
    queue: str
    max_retries: int
    time_limit_ms: int
    min_backoff_ms: int
    max_backoff_ms: int


TASKS: dict[str, TaskSpec] = {}


def task(
    name: str,
    *,
    queue: str = "default",
    max_retries: int = 10,
    time_limit_ms: int = 10 * 60 * 1000,
    min_backoff_ms: int = 1_000,
    max_backoff_ms: int = 10 * 60 * 1000,
) -> Callable[[TaskFn], TaskFn]:
    """Declare ``async def fn(jobs: JobContext, **ids)`` as the task ``<domain>.<verb>``."""
    domain, _, verb = name.partition(".")
    if domain not in TASK_NAME_PREFIXES or not verb:
        raise ValueError(f"task name {name!r} must be <domain>.<verb>")

    def register(fn: TaskFn) -> TaskFn:
        existing = TASKS.get(name)
        if existing is not None and existing.fn is not fn:
            raise ValueError(f"task {name!r} is declared twice")
        TASKS[name] = TaskSpec(
            name=name,
            fn=fn,
            queue=queue,
            max_retries=max_retries,
            time_limit_ms=time_limit_ms,
            min_backoff_ms=min_backoff_ms,
            max_backoff_ms=max_backoff_ms,
        )
        return fn

    return register
