"""Per-request / per-message context carried in ContextVars (logs read it)."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("voltlane_request_id", default=None)
tenant_key_var: ContextVar[str | None] = ContextVar("voltlane_tenant_key", default=None)
