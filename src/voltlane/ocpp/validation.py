"""Payload validation at the cost of a few dict lookups for the payloads that pass.

The ``ocpp`` package validates every payload by walking its JSON schema with ``jsonschema``
(a Draft 4 validator), about a tenth of the gateway's time under load. Here the same
schemas are compiled once into plain Python checks that only say "valid" or "not". A
payload they accept is accepted; anything else goes to the package's validator, which
raises the CALLERROR the package always raised. So the answer to bad input is unchanged,
and a payload is never accepted that the package would refuse: a compiled check may be
stricter than the schema (the package then decides), never laxer, and a schema that uses
a keyword not compiled here is not compiled at all (the package validates it as before).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ocpp.messages import Call, CallResult, MessageType, _validate_payload, get_validator

Check = Callable[[Any], bool]

# Keywords that never refuse an instance here: annotations, and ``format``, which the
# package's validator does not check (it has no format checker). ``additionalItems`` only
# counts next to an ``items`` array, which is not compiled.
_IGNORED = frozenset(
    {
        "$schema",
        "$id",
        "id",
        "title",
        "description",
        "javaType",
        "comment",
        "default",
        "definitions",
        "format",
        "additionalItems",
    }
)
_COMPILED = frozenset(
    {
        "type",
        "enum",
        "properties",
        "required",
        "additionalProperties",
        "maxLength",
        "items",
        "minItems",
        "maxItems",
        "minimum",
        "maximum",
    }
)
# Draft 4 types; ``integer`` excludes booleans and floats such as 1.0, as Draft 4 does.
_TYPES: dict[str, Check] = {
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "string": lambda x: type(x) is str,
    "integer": lambda x: type(x) is int,
    "number": lambda x: type(x) is int or type(x) is float,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
}
# Payloads the package re-parses with Decimal floats before validating: left to it.
_DECIMAL_PAYLOADS = frozenset(
    {
        (MessageType.Call, "SetChargingProfile", "1.6"),
        (MessageType.Call, "RemoteStartTransaction", "1.6"),
        (MessageType.CallResult, "GetCompositeSchedule", "1.6"),
    }
)
_MAX_DEPTH = 40


class _UnsupportedError(Exception):
    """The schema uses something not compiled here."""


def compile_schema(schema: dict[str, Any]) -> Check | None:
    """A check that accepts only instances ``schema`` accepts (None: not compilable)."""
    try:
        return _compile(schema, schema, 0)
    except _UnsupportedError:
        return None


def _resolve(root: dict[str, Any], ref: Any) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return None
    node: Any = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _require(condition: bool) -> None:
    if not condition:
        raise _UnsupportedError


def _compile(schema: Any, root: dict[str, Any], depth: int) -> Check:
    _require(depth <= _MAX_DEPTH and isinstance(schema, dict))
    if "$ref" in schema:  # Draft 4: the siblings of a $ref do not count
        return _compile(_resolve(root, schema["$ref"]), root, depth + 1)
    _require(set(schema) <= _COMPILED | _IGNORED)
    type_name = schema.get("type")
    _require(type_name is None or (isinstance(type_name, str) and type_name in _TYPES))
    type_ok = _TYPES[type_name] if type_name is not None else None
    enum = schema.get("enum")
    _require(enum is None or (isinstance(enum, list) and all(type(v) is str for v in enum)))
    allowed = frozenset(enum) if enum is not None else None
    object_check = _object_check(schema, root, depth)
    array_check = _array_check(schema, root, depth)
    max_length = schema.get("maxLength")
    minimum, maximum = schema.get("minimum"), schema.get("maximum")
    _require(all(b is None or type(b) in (int, float) for b in (max_length, minimum, maximum)))

    def check(x: Any) -> bool:
        if type_ok is not None and not type_ok(x):
            return False
        if allowed is not None and not (type(x) is str and x in allowed):
            return False
        kind = type(x)
        if kind is dict:
            return object_check is None or object_check(x)
        if kind is list:
            return array_check is None or array_check(x)
        if kind is str:
            return max_length is None or len(x) <= max_length
        if kind is int or kind is float:
            return (minimum is None or x >= minimum) and (maximum is None or x <= maximum)
        return True

    return check


def _object_check(schema: dict[str, Any], root: dict[str, Any], depth: int) -> Check | None:
    """The object keywords as one check (None when there are none)."""
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    additional = schema.get("additionalProperties", True)
    _require(isinstance(properties, dict) and isinstance(additional, bool))
    _require(isinstance(required, list) and all(isinstance(r, str) for r in required))
    if not properties and not required and additional:
        return None
    checks = {name: _compile(sub, root, depth + 1) for name, sub in properties.items()}
    names = tuple(required)
    closed = not additional

    def check(x: dict[str, Any]) -> bool:
        for name in names:
            if name not in x:
                return False
        for key, value in x.items():
            sub = checks.get(key)
            if sub is None:
                if closed:
                    return False
            elif not sub(value):
                return False
        return True

    return check


def _array_check(schema: dict[str, Any], root: dict[str, Any], depth: int) -> Check | None:
    """The array keywords as one check (None when there are none)."""
    items = schema.get("items")
    min_items, max_items = schema.get("minItems"), schema.get("maxItems")
    if items is None and min_items is None and max_items is None:
        return None
    _require(all(b is None or type(b) is int for b in (min_items, max_items)))
    # An items array (a tuple of schemas) is not compiled: _compile refuses a list.
    item_check = _compile(items, root, depth + 1) if items is not None else None
    low = min_items or 0

    def check(x: list[Any]) -> bool:
        if len(x) < low or (max_items is not None and len(x) > max_items):
            return False
        return item_check is None or all(item_check(v) for v in x)

    return check


_compiled: dict[tuple[int, str, str], Check | None] = {}


def compiled_check(message_type: int, action: str, version: str) -> Check | None:
    """The compiled check of an action's payload (None: the package validates it)."""
    key = (message_type, action, version)
    if key in _compiled:
        return _compiled[key]
    check = None
    if key not in _DECIMAL_PAYLOADS:
        try:
            check = compile_schema(get_validator(message_type, action, version).schema)
        except (OSError, ValueError):
            check = None  # no schema: the package raises what it raises for that
    _compiled[key] = check
    return check


def validate_call(message: Call | CallResult, version: str) -> None:
    """Raise the package's OCPPError when ``message``'s payload breaks its schema."""
    check = compiled_check(message.message_type_id, message.action, version)
    if check is not None and check(message.payload):
        return
    _validate_payload(message, version)
