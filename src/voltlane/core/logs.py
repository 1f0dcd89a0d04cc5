"""Structured JSON logs carrying tenant and request ids; secrets are redacted."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from voltlane.core.context import request_id_var, tenant_key_var

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
_SECRET_WORDS = ("password", "secret", "token", "authorization", "cookie", "api_key")


def _redact(key: str, value: Any) -> Any:
    lowered = key.lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return "[redacted]"
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, tenant, request and extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        tenant = tenant_key_var.get()
        if tenant is not None:
            payload["tenant"] = tenant
        request_id = request_id_var.get()
        if request_id is not None:
            payload["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                payload[key] = _redact(key, value)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for a terminal, with the same context fields."""

    def format(self, record: logging.LogRecord) -> str:
        extras = {
            k: _redact(k, v)
            for k, v in record.__dict__.items()
            if k not in _RESERVED and not k.startswith("_")
        }
        tenant = tenant_key_var.get()
        context = f" tenant={tenant}" if tenant else ""
        tail = " ".join(f"{k}={v}" for k, v in extras.items())
        line = (
            f"{record.levelname:<7} {record.name}: {record.getMessage()}{context} {tail}".rstrip()
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Route every logger (uvicorn, dramatiq, sqlalchemy) through one formatter on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Access lines duplicate our own request log.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
