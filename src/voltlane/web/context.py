"""Request-scoped accessors: the resolved brand and the shared web state."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection

from voltlane.core.errors import NotFoundError
from voltlane.tenancy import TenantInfo
from voltlane.web.state import WebState

TENANT_STATE_KEY = "voltlane_tenant"


def web_state(connection: ASGIConnection[Any, Any, Any, Any]) -> WebState:
    state: WebState = connection.app.state["web"]
    return state


def current_tenant(connection: ASGIConnection[Any, Any, Any, Any]) -> TenantInfo:
    """The brand resolved from the Host header; the middleware guarantees one exists."""
    tenant = connection.scope.get("state", {}).get(TENANT_STATE_KEY)
    if not isinstance(tenant, TenantInfo):
        raise NotFoundError("This host does not serve a brand.")
    return tenant


def client_ip(request: Request[Any, Any, Any]) -> str | None:
    client = request.client
    return client.host if client is not None else None
