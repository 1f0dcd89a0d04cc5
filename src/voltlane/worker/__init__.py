"""Background jobs: the task registry, the broker, the outbox and the worker runtime.

Tasks are declared with :func:`task` in ``<domain>/tasks.py`` under the name
``<domain>.<verb>``, take ids only, and are idempotent. They are enqueued with
:func:`enqueue` inside the transaction that causes them and reach the broker only after it
commits (``platform.outbox``).
"""

from voltlane.worker.outbox import enqueue
from voltlane.worker.registry import JobContext, TaskSpec, task

__all__ = ["JobContext", "TaskSpec", "enqueue", "task"]
