"""Malformed frames get the right CALLERROR, the connection stays open, the frame is logged."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from websockets.exceptions import ConnectionClosedError

from tests.ocpp.conftest import add_ocpp_station, exchange
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.ocpp.frames import FrameLog
from voltlane.station.frames import station_frames

HEARTBEAT = '[2,"hb-1","Heartbeat",{}]'


async def _still_open(ws) -> None:
    reply = await exchange(ws, HEARTBEAT)
    assert reply[:2] == [3, "hb-1"]
    assert set(reply[2]) == {"currentTime"}


CASES_V2 = [
    ("not json", "{oops", ["-1", "RpcFrameworkError"]),
    ("not an array", '{"a": 1}', ["-1", "RpcFrameworkError"]),
    ("too short", "[2]", ["-1", "RpcFrameworkError"]),
    ("message type 7", '[7,"m-7","Heartbeat",{}]', ["m-7", "MessageTypeNotSupported"]),
    ("message id too long", '[2,"' + "x" * 37 + '","Heartbeat",{}]', ["-1", "RpcFrameworkError"]),
    ("call without payload", '[2,"m-1","Heartbeat"]', ["m-1", "RpcFrameworkError"]),
    ("payload not an object", '[2,"m-2","Heartbeat",[1]]', ["m-2", "FormatViolation"]),
    ("unknown action", '[2,"m-3","BrewCoffee",{}]', ["m-3", "NotImplemented"]),
    (
        "a CSMS action from a station",
        '[2,"m-4","RequestStartTransaction",{"idToken":{"idToken":"A","type":"Central"},"remoteStartId":1}]',
        ["m-4", "NotSupported"],
    ),
    (
        "wrong type",
        '[2,"m-5","BootNotification",{"reason":"PowerUp","chargingStation":{"model":5,"vendorName":"V"}}]',
        ["m-5", "TypeConstraintViolation"],
    ),
    (
        "missing required field",
        '[2,"m-6","BootNotification",{"chargingStation":{"model":"M","vendorName":"V"}}]',
        ["m-6", "ProtocolError"],
    ),
    (
        "unknown field",
        '[2,"m-8","Heartbeat",{"brew":"coffee"}]',
        ["m-8", "FormatViolation"],
    ),
    (
        "bad enum value",
        '[2,"m-9","StatusNotification",{"timestamp":"2026-11-24T10:00:00Z","connectorStatus":"Sleepy","evseId":1,"connectorId":1}]',
        ["m-9", "FormatViolation"],
    ),
    (
        "timestamp that is no date",
        '[2,"m-10","StatusNotification",{"timestamp":"yesterday","connectorStatus":"Available","evseId":1,"connectorId":1}]',
        ["m-10", "FormatViolation"],
    ),
]


@pytest.mark.parametrize(("case", "frame", "expected"), CASES_V2, ids=[c[0] for c in CASES_V2])
async def test_ocpp201_bad_frames(
    database: Database, make_brand, open_raw, case: str, frame: str, expected: list[str]
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "BAD201")
    ws = await open_raw(brand, "BAD201", "ocpp2.0.1")
    reply = await exchange(ws, frame)
    assert reply[0] == 4, case
    assert reply[1:3] == expected
    assert isinstance(reply[3], str)
    assert isinstance(reply[4], dict)
    await _still_open(ws)


CASES_V16 = [
    ("not json", "{oops", ["-1", "FormationViolation"]),
    ("message type 9", '[9,"n-9","Heartbeat",{}]', ["n-9", "ProtocolError"]),
    ("unknown field", '[2,"n-1","Heartbeat",{"brew":"coffee"}]', ["n-1", "FormationViolation"]),
    (
        "wrong type",
        '[2,"n-2","StartTransaction",{"connectorId":"one","idTag":"A","meterStart":0,"timestamp":"2026-11-24T10:00:00Z"}]',
        ["n-2", "TypeConstraintViolation"],
    ),
    ("missing field", '[2,"n-3","Authorize",{}]', ["n-3", "ProtocolError"]),
    ("unknown action", '[2,"n-4","BrewCoffee",{}]', ["n-4", "NotImplemented"]),
    ("CSMS action", '[2,"n-5","Reset",{"type":"Hard"}]', ["n-5", "NotSupported"]),
]


@pytest.mark.parametrize(("case", "frame", "expected"), CASES_V16, ids=[c[0] for c in CASES_V16])
async def test_ocpp16_bad_frames(
    database: Database, make_brand, open_raw, case: str, frame: str, expected: list[str]
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "BAD16")
    ws = await open_raw(brand, "BAD16", "ocpp1.6")
    reply = await exchange(ws, frame)
    assert reply[0] == 4, case
    assert reply[1:3] == expected
    await _still_open(ws)


async def test_oversized_and_binary_frames(
    database: Database, make_brand, open_raw, gateway
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "BIG")
    ws = await open_raw(brand, "BIG", "ocpp2.0.1")
    limit = gateway.settings.ocpp_max_message_bytes
    big = json.dumps([2, "big-1", "DataTransfer", {"vendorId": "V", "data": "x" * limit}])
    binary = await exchange(ws, b"\x00\x01")
    oversized = await exchange(ws, big)
    assert binary[:3] == [4, "-1", "RpcFrameworkError"]
    assert oversized[:3] == [4, "big-1", "FormatViolation"]
    assert oversized[3] == f"Message exceeds {limit} bytes"
    await _still_open(ws)
    # Beyond twice the limit the WebSocket itself refuses the frame (close code 1009).
    await ws.send(
        json.dumps([2, "huge", "DataTransfer", {"vendorId": "V", "data": "x" * limit * 2}])
    )
    with pytest.raises(ConnectionClosedError) as closed:
        await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


async def test_every_frame_is_logged_with_direction_and_latency(
    database: Database, make_brand, open_raw, gateway
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "LOGGED")
    ws = await open_raw(brand, "LOGGED", "ocpp2.0.1")
    await exchange(ws, HEARTBEAT)
    await exchange(ws, '[2,"m-3","BrewCoffee",{}]')
    await gateway.frames.flush()
    async with database.tenant_session(brand.key) as db_session:
        rows = list(reversed(await station_frames(db_session, "LOGGED")))
        later = await station_frames(db_session, "LOGGED", since=utcnow() + timedelta(minutes=1))
        one_action = await station_frames(db_session, "LOGGED", action="BrewCoffee")
        other_station = await station_frames(db_session, "NOT-LOGGED")
    assert (later, other_station) == ([], [])
    assert [f.direction for f in one_action] == ["out", "in"]
    summary = [(r.direction, r.message_type, r.message_id, r.action, r.error_code) for r in rows]
    assert summary == [
        ("in", 2, "hb-1", "Heartbeat", None),
        ("out", 3, "hb-1", "Heartbeat", None),
        ("in", 2, "m-3", "BrewCoffee", None),
        ("out", 4, "m-3", "BrewCoffee", "NotImplemented"),
    ]
    assert rows[0].raw == HEARTBEAT
    assert rows[1].latency_ms is not None
    assert rows[1].latency_ms >= 0
    assert rows[0].latency_ms is None


async def test_a_frame_log_batch_larger_than_one_chunk_lands_whole_and_in_order(
    database: Database, make_brand
) -> None:
    # 250 frames: the COPY lets other work run every 100 rows and still writes all of them.
    brand = await make_brand()
    frames = FrameLog(database)
    at = utcnow()
    for n in range(250):
        frames.record(
            brand.key,
            {
                "charging_station_id": None,
                "station_id": "BULK",
                "direction": "in",
                "message_type": 2,
                "message_id": f"m-{n:03d}",
                "action": "Heartbeat",
                "raw": f'[2,"m-{n:03d}","Heartbeat",{{}}]',
                "at": at + timedelta(microseconds=n),
                "latency_ms": None,
                "error_code": None,
            },
        )
    await frames.flush()
    async with database.tenant_session(brand.key) as db_session:
        rows = list(reversed(await station_frames(db_session, "BULK", limit=500)))
    assert [r.message_id for r in rows] == [f"m-{n:03d}" for n in range(250)]
    assert (frames.written, frames.dropped) == (250, 0)
