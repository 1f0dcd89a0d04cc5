"""Probes and metrics, served on every host."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from voltlane.web.context import web_state
from voltlane.worker.broker import check_broker

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 5.0


@get("/healthz", include_in_schema=False, cache_control=None)
async def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """200 when the database and the broker answer, 503 (with the failing check) when not."""
    state = web_state(request)
    checks: dict[str, str] = {}
    try:
        async with state.database.engine.connect() as connection:
            await asyncio.wait_for(connection.execute(text("SELECT 1")), CHECK_TIMEOUT)
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a probe reports, it does not raise
        log.warning("health check: database failed", extra={"error": str(exc)})
        checks["database"] = "failed"
    try:
        await asyncio.wait_for(asyncio.to_thread(check_broker, state.broker), CHECK_TIMEOUT)
        checks["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001 - a probe reports, it does not raise
        log.warning("health check: broker failed", extra={"error": str(exc)})
        checks["broker"] = "failed"
    healthy = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )


@get("/metrics", include_in_schema=False)
async def metrics() -> Response[bytes]:
    """Prometheus exposition of this process's counters and histograms."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
