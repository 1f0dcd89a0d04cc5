"""Resolve the brand of every request from its Host header; fail closed with 404."""

from __future__ import annotations

from litestar.datastructures import Headers
from litestar.types import ASGIApp, Receive, Scope, Send

from voltlane.core.context import tenant_key_var
from voltlane.web.context import TENANT_STATE_KEY
from voltlane.web.problems import problem_asgi_response

# Served on every host, brand or not (probes, metrics, shared static files).
PLATFORM_PATHS = ("/healthz", "/metrics", "/static/")


def tenant_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in {"/healthz", "/metrics"} or path.startswith("/static/"):
            await app(scope, receive, send)
            return
        state = scope["app"].state["web"]
        host = Headers.from_scope(scope).get("host")
        tenant = await state.registry.by_host(host)
        if tenant is None:
            response = problem_asgi_response(
                status=404,
                title="Unknown host",
                detail="This host does not serve a Voltlane brand.",
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})[TENANT_STATE_KEY] = tenant
        token = tenant_key_var.set(tenant.key)
        try:
            await app(scope, receive, send)
        finally:
            tenant_key_var.reset(token)

    return middleware
