"""Logs: one JSON object per line with tenant and request ids; secrets never written."""

from __future__ import annotations

import json
import logging

from voltlane.core.context import bound_tenant, request_id_var
from voltlane.core.logs import JsonFormatter


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("voltlane.test", logging.INFO, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_line_carries_tenant_request_and_extras() -> None:
    token = request_id_var.set("req-12345678")
    try:
        with bound_tenant("voltaria"):
            line = JsonFormatter().format(_record("station booted", station_id="VLT-BER-001"))
    finally:
        request_id_var.reset(token)
    payload = json.loads(line)
    assert {k: payload[k] for k in ("level", "logger", "message", "tenant", "request_id")} == {
        "level": "INFO",
        "logger": "voltlane.test",
        "message": "station booted",
        "tenant": "voltaria",
        "request_id": "req-12345678",
    }
    assert payload["station_id"] == "VLT-BER-001"
    assert payload["time"].endswith("+00:00")


def test_secret_fields_are_redacted() -> None:
    line = JsonFormatter().format(
        _record("login", password="hunter2hunter2", api_key="sk_live_1", session_token="abc")
    )
    payload = json.loads(line)
    assert (payload["password"], payload["api_key"], payload["session_token"]) == (
        "[redacted]",
        "[redacted]",
        "[redacted]",
    )
    assert "hunter2" not in line
