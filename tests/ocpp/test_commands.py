"""Commands from the platform reach a station held by another gateway process."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call_result
from sqlalchemy import select
from websockets.asyncio.client import connect

from tests.factories import REPO
from tests.ocpp.conftest import PASSWORD, add_ocpp_station, basic
from voltlane.core.db import Database
from voltlane.core.notify import NotificationHub
from voltlane.core.pgserver import free_port
from voltlane.models.platform import GatewayNode, StationPresence
from voltlane.models.tenant import CommandStatus, OcppFrame, StationCommand
from voltlane.ocpp.translate import OcppTranslator
from voltlane.settings import Settings
from voltlane.station.commands import RESULTS_CHANNEL, DatabaseStationCommands
from voltlane.station.ports import set_translator


class ObedientStation(ChargePoint):
    """Accepts remote starts, refuses resets, never answers an unlock."""

    received: list[str]

    @on("RequestStartTransaction")
    def on_start(self, id_token: dict[str, Any], remote_start_id: int, **kwargs: Any):
        self.received.append(f"start {id_token['id_token']} {remote_start_id}")
        return call_result.RequestStartTransaction(status="Accepted")

    @on("Reset")
    def on_reset(self, type: str, **kwargs: Any):  # noqa: A002 - the OCPP field name
        self.received.append(f"reset {type}")
        return call_result.Reset(status="Rejected")

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **kwargs: Any):
        entry = set_variable_data[0]
        name = f"{entry['component']['name']}.{entry['variable']['name']}"
        self.received.append(f"set {name}={entry['attribute_value']}")
        return call_result.SetVariables(
            set_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "component": entry["component"],
                    "variable": entry["variable"],
                }
            ]
        )

    @on("UnlockConnector")
    async def on_unlock(self, evse_id: int, connector_id: int, **kwargs: Any):
        self.received.append("unlock")
        await asyncio.sleep(3600)


def _gateway_process(database_url: str, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """`voltlane ocpp` as its own process (``args`` added), once it accepts connections."""
    port = free_port()
    env = {
        **os.environ,
        "VOLTLANE_DATABASE_URL": database_url,
        "VOLTLANE_OCPP_PORT": str(port),
        "VOLTLANE_HOST": "127.0.0.1",
        "VOLTLANE_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "voltlane.cli", "ocpp", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"voltlane ocpp did not start: {err[-2000:]}")
            time.sleep(0.1)
    return proc, port


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


async def _nodes_registered(database: Database, pids: list[int], *, count: int) -> None:
    """Until ``count`` gateway nodes of these processes are registered (node ids name their
    process), then a moment for the last to listen."""
    deadline = time.monotonic() + 60
    while True:
        async with database.platform_session() as db_session:
            nodes = list(await db_session.scalars(select(GatewayNode.node_id)))
        mine = [n for n in nodes if any(f"-{pid}-" in n for pid in pids)]
        if len(mine) >= count:
            break
        assert time.monotonic() < deadline, f"gateway nodes of {pids}: {mine}"
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)


@pytest.fixture(scope="module")
def second_gateway(database_url: str) -> Iterator[int]:
    """`voltlane ocpp` as its own process: another node of the gateway."""
    proc, port = _gateway_process(database_url)
    yield port
    proc.terminate()
    assert proc.wait(timeout=30) == 0


@pytest.fixture
async def commands(
    database: Database, database_url: str, settings: Settings
) -> AsyncIterator[DatabaseStationCommands]:
    set_translator(OcppTranslator())
    hub = NotificationHub(database_url)
    await hub.start([RESULTS_CHANNEL])
    yield DatabaseStationCommands(database, hub, secret_key=settings.secret_key)
    await hub.stop()


async def _connect(port: int, brand_key: str, station_id: str) -> tuple[ObedientStation, Any, Any]:
    ws = await connect(
        f"ws://127.0.0.1:{port}/ocpp/{brand_key}/{station_id}",
        subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
        additional_headers={"Authorization": basic(station_id, PASSWORD)},
    )
    station = ObedientStation(station_id, ws)
    station.received = []
    task = asyncio.create_task(station.start())
    # The station's presence is recorded as it connects; give the other node a moment.
    await asyncio.sleep(0.3)
    return station, ws, task


async def test_commands_cross_processes_with_definite_results(
    database: Database, make_brand, second_gateway: int, commands: DatabaseStationCommands
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "REMOTE-1")
    station, ws, task = await _connect(second_gateway, brand.key, "REMOTE-1")
    try:
        started = await commands.send(
            brand.key,
            "REMOTE-1",
            "RequestStartTransaction",
            {"idToken": {"idToken": "APP-7", "type": "Central"}, "remoteStartId": 77},
        )
        reset = await commands.send(brand.key, "REMOTE-1", "Reset", {"type": "Immediate"})
        clock = time.monotonic()
        unlock = await commands.send(
            brand.key,
            "REMOTE-1",
            "UnlockConnector",
            {"evseId": 1, "connectorId": 1},
            deadline_seconds=2,
        )
        waited = time.monotonic() - clock
    finally:
        await ws.close()
        task.cancel()
    assert (started.status, started.response, started.error) == (
        CommandStatus.ACCEPTED,
        {"status": "Accepted"},
        None,
    )
    assert (reset.status, reset.response) == (CommandStatus.REJECTED, {"status": "Rejected"})
    assert unlock.status is CommandStatus.TIMEOUT
    assert 2.0 <= waited < 5.0
    assert station.received == ["start APP-7 77", "reset Immediate", "unlock"]


async def test_offline_stations_answer_at_once_and_nothing_is_replayed(
    database: Database, make_brand, second_gateway: int, commands: DatabaseStationCommands
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "REMOTE-2")
    clock = time.monotonic()
    offline = await commands.send(brand.key, "REMOTE-2", "Reset", {"type": "Immediate"})
    assert offline.status is CommandStatus.OFFLINE
    assert time.monotonic() - clock < 1.0

    station, ws, task = await _connect(second_gateway, brand.key, "REMOTE-2")
    unlock = await commands.send(
        brand.key,
        "REMOTE-2",
        "UnlockConnector",
        {"evseId": 1, "connectorId": 1},
        deadline_seconds=1,
    )
    await ws.close()
    task.cancel()
    again, ws2, task2 = await _connect(second_gateway, brand.key, "REMOTE-2")
    await asyncio.sleep(1.0)
    await ws2.close()
    task2.cancel()
    assert unlock.status is CommandStatus.TIMEOUT
    assert station.received == ["unlock"]
    assert again.received == []  # the expired command is never sent after the reconnect
    async with database.tenant_session(brand.key) as db_session:
        statuses = list(
            await db_session.scalars(
                select(StationCommand.status).order_by(StationCommand.created_at)
            )
        )
    assert statuses == [CommandStatus.OFFLINE, CommandStatus.TIMEOUT]


async def test_a_new_station_password_travels_sealed_and_is_never_stored_in_clear(
    database: Database,
    make_brand,
    second_gateway: int,
    commands: DatabaseStationCommands,
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "ROTATE-1")
    secret = "a-brand-new-password-42"
    station, ws, task = await _connect(second_gateway, brand.key, "ROTATE-1")
    try:
        result = await commands.send(
            brand.key,
            "ROTATE-1",
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "component": {"name": "SecurityCtrlr"},
                        "variable": {"name": "BasicAuthPassword"},
                        "attributeValue": secret,
                    }
                ]
            },
        )
    finally:
        await ws.close()
        task.cancel()
    assert result.status is CommandStatus.ACCEPTED
    assert station.received == [f"set SecurityCtrlr.BasicAuthPassword={secret}"]
    sent: list[str] = []
    for _ in range(50):  # the other node writes its frame log in batches
        async with database.tenant_session(brand.key) as db_session:
            row = await db_session.scalar(select(StationCommand))
            frames = list(await db_session.scalars(select(OcppFrame.raw)))
            sent = list(
                await db_session.scalars(
                    select(OcppFrame.raw).where(
                        OcppFrame.action == "SetVariables", OcppFrame.direction == "out"
                    )
                )
            )
        if sent:
            break
        await asyncio.sleep(0.1)
    assert len(sent) == 1
    assert '"attributeValue":"[redacted]"' in sent[0]
    assert row is not None
    assert row.payload["setVariableData"][0]["attributeValue"] == "[redacted]"
    assert row.sealed_payload is not None
    assert secret not in row.sealed_payload
    assert all(secret not in raw for raw in frames)


async def test_gateway_processes_share_one_port_and_each_answers_for_its_stations(
    database: Database, make_brand, database_url: str, commands: DatabaseStationCommands
) -> None:
    # `voltlane ocpp --processes 2`: two nodes listen on one port and the kernel spreads the
    # stations over them; a command reaches a station whichever process holds it.
    proc, port = _gateway_process(database_url, "--processes", "2")
    brand = await make_brand()
    names = [f"SHARED-{n:02d}" for n in range(24)]
    connected = []
    try:
        # The second process may still be starting: until it listens, the first takes all.
        await _nodes_registered(database, [proc.pid, *_children(proc.pid)], count=2)
        for name in names:
            await add_ocpp_station(database, brand, name)
            connected.append(await _connect(port, brand.key, name))
        async with database.platform_session() as db_session:
            nodes = dict(
                (
                    await db_session.execute(
                        select(StationPresence.station_id, StationPresence.node_id).where(
                            StationPresence.tenant_key == brand.key
                        )
                    )
                ).all()
            )
        results = await asyncio.gather(
            *(commands.send(brand.key, n, "Reset", {"type": "Immediate"}) for n in names)
        )
    finally:
        for _station, ws, task in connected:
            await ws.close()
            task.cancel()
        proc.terminate()
        code = proc.wait(timeout=60)
    assert sorted(nodes) == names
    assert len(set(nodes.values())) == 2  # 24 connections all on one node: 1 in 8 million
    assert [(r.status, r.response) for r in results] == [
        (CommandStatus.REJECTED, {"status": "Rejected"})
    ] * 24
    assert [station.received for station, _ws, _task in connected] == [["reset Immediate"]] * 24
    assert code == 0
    with pytest.raises(ConnectionRefusedError):  # both processes are gone
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
