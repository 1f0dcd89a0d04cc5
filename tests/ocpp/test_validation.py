"""Compiled payload checks never accept what the `ocpp` package's validator refuses.

Every schema of the messages a station sends (and of the gateway's replies to them), in
all three versions: a payload built from the schema, then every field replaced by values
of each JSON type, dropped, or joined by an unknown field. A compiled check that accepts a
payload the package refuses would answer bad input without its CALLERROR.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from ocpp.messages import MessageType, get_validator

from voltlane.ocpp.protocol import STATION_ACTIONS, Version
from voltlane.ocpp.validation import compiled_check

REPLACEMENTS: list[Any] = [None, True, 0, -1, 7, 1.5, "", "x", "y" * 2600, [], [{}], {}, {"a": 1}]
HOT = {"Heartbeat", "MeterValues", "StatusNotification", "StartTransaction", "StopTransaction"}
HOT_V2 = {"Heartbeat", "MeterValues", "StatusNotification", "TransactionEvent"}


def _resolve(root: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = root
        for part in schema["$ref"][2:].split("/"):
            node = node[part]
        schema = node
    return schema


def example(root: dict[str, Any], schema: dict[str, Any], *, full: bool) -> Any:
    """A payload the schema accepts: every property (``full``) or the required ones."""
    schema = _resolve(root, schema)
    if "enum" in schema:
        return schema["enum"][-1]
    kind = schema.get("type")
    if kind == "object":
        wanted = schema.get("properties", {})
        names = wanted if full else schema.get("required", [])
        return {n: example(root, wanted[n], full=full) for n in names if n in wanted}
    if kind == "array":
        item = example(root, schema.get("items", {}), full=full)
        return [copy.deepcopy(item) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "string":
        return "2026-11-24T10:00:00Z"[: schema.get("maxLength", 20)]
    if kind == "integer":
        return int(schema.get("minimum", schema.get("maximum", 1)))
    if kind == "number":
        return schema.get("minimum", schema.get("maximum", 2.5))
    if kind == "boolean":
        return False
    return None


def mutations(value: Any) -> Iterator[Any]:
    """``value`` with one field replaced, dropped or added, anywhere in it."""
    if isinstance(value, dict):
        for key in value:
            for replacement in REPLACEMENTS:
                yield {**value, key: replacement}
            yield {k: v for k, v in value.items() if k != key}
            for inner in mutations(value[key]):
                yield {**value, key: inner}
        yield {**value, "extraField": "x"}
    elif isinstance(value, list) and value:
        for inner in mutations(value[0]):
            yield [inner, *value[1:]]
        yield []
        yield [*value, *value]


def schemas() -> Iterator[tuple[str, int, str]]:
    """Every schema the package ships for a station-side action (a few actions of a version
    have none, e.g. a 2.1 message only in one direction)."""
    for version in Version:
        for action in sorted(STATION_ACTIONS[version]):
            for message_type in (MessageType.Call, MessageType.CallResult):
                try:
                    get_validator(message_type, action, version.library)
                except OSError:
                    continue
                yield version.library, message_type, action


@pytest.mark.parametrize(("version", "message_type", "action"), list(schemas()))
def test_compiled_check_is_never_laxer_than_the_package(
    version: str, message_type: int, action: str
) -> None:
    validator = get_validator(message_type, action, version)
    check = compiled_check(message_type, action, version)
    if check is None:
        return  # not compiled: the package validates it as before
    root = validator.schema
    for full in (False, True):
        valid = example(root, root, full=full)
        assert validator.is_valid(valid), valid
        assert check(valid), valid
        for payload in mutations(valid):
            if check(payload):
                assert validator.is_valid(payload), payload


@pytest.mark.parametrize(
    ("version", "actions"),
    [("1.6", HOT), ("2.0.1", HOT_V2), ("2.1", HOT_V2)],
)
def test_the_busy_actions_are_compiled(version: str, actions: set[str]) -> None:
    for action in actions:
        for message_type in (MessageType.Call, MessageType.CallResult):
            assert compiled_check(message_type, action, version) is not None, action
