"""Per-request / per-message context carried in ContextVars (logs read it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("voltlane_request_id", default=None)
tenant_key_var: ContextVar[str | None] = ContextVar("voltlane_tenant_key", default=None)


@contextmanager
def bound_tenant(key: str | None) -> Iterator[None]:
    """Log lines inside the block carry ``key`` as their tenant."""
    token = tenant_key_var.set(key)
    try:
        yield
    finally:
        tenant_key_var.reset(token)
