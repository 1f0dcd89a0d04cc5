"""A gateway in the test process on free ports, brands with stations, real OCPP clients."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import ocpp.messages
import pytest
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v21 import ChargePoint as Cp21
from ocpp.v201 import ChargePoint as Cp201
from websockets.asyncio.client import ClientConnection, connect

from tests.factories import ac_evse, add_location
from voltlane.core.db import Database
from voltlane.core.pgserver import free_port
from voltlane.models.tenant import IdToken, IdTokenStatus, IdTokenType
from voltlane.ocpp.server import Gateway, running_gateway
from voltlane.settings import Settings
from voltlane.station import service as stations
from voltlane.station.schemas import StationCreate
from voltlane.tenancy import TenantInfo

# The library validates on a thread per message by default; inline is cheaper.
ocpp.messages.ASYNC_VALIDATION = False

PASSWORD = "station-password-0123456789"
CLIENTS = {"ocpp1.6": Cp16, "ocpp2.0.1": Cp201, "ocpp2.1": Cp21}


@pytest.fixture
async def gateway(settings: Settings, database_url: str) -> AsyncIterator[Gateway]:
    gateway_settings = replace(
        settings, host="127.0.0.1", ocpp_port=free_port(), ocpp_max_message_bytes=64 * 1024
    )
    async with running_gateway(gateway_settings, database_url) as running:
        yield running


@dataclass
class Charger:
    """A station on the client side: the ocpp package's ChargePoint over a real socket."""

    cp: Any
    ws: ClientConnection
    task: asyncio.Task[None]

    async def close(self) -> None:
        await self.ws.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def url(gateway: Gateway, tenant_key: str, station_id: str) -> str:
    return f"ws://127.0.0.1:{gateway.ports[0]}/ocpp/{tenant_key}/{station_id}"


@pytest.fixture
async def open_charger(gateway: Gateway) -> AsyncIterator[Callable[..., Any]]:
    """Connect a charger: ``await open_charger(brand, station_id, "ocpp1.6")``."""
    opened: list[Charger] = []

    async def open_(
        brand: TenantInfo,
        station_id: str,
        protocol: str,
        *,
        password: str = PASSWORD,
        username: str | None = None,
    ) -> Charger:
        ws = await connect(
            url(gateway, brand.key, station_id),
            subprotocols=[protocol],  # type: ignore[list-item]
            additional_headers={"Authorization": basic(username or station_id, password)},
            compression=None,
        )
        cp = CLIENTS[protocol](station_id, ws, response_timeout=10)
        task = asyncio.create_task(cp.start())
        charger = Charger(cp, ws, task)
        opened.append(charger)
        return charger

    yield open_
    for charger in opened:
        await charger.close()


async def add_ocpp_station(
    database: Database,
    brand: TenantInfo,
    station_id: str,
    *,
    evses: int = 1,
    security_profile: int = 1,
    max_power_w: int = 22000,
) -> None:
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session, f"Site of {station_id}")
        await stations.create_station(
            db_session,
            location,
            StationCreate(
                station_id=station_id, evses=ac_evse(evses), security_profile=security_profile
            ),
            password=PASSWORD if security_profile < 3 else None,
        )
    del max_power_w


async def add_token(
    database: Database,
    brand: TenantInfo,
    value: str,
    *,
    status: IdTokenStatus = IdTokenStatus.ACCEPTED,
    token_type: IdTokenType = IdTokenType.ISO14443,
    **extra: Any,
) -> None:
    async with database.tenant_transaction(brand.key) as db_session:
        db_session.add(IdToken(id_token=value, type=token_type, status=status, **extra))


@pytest.fixture
async def open_raw(gateway: Gateway) -> AsyncIterator[Callable[..., Any]]:
    """A raw WebSocket to the gateway, for frames no OCPP library would send."""
    opened: list[ClientConnection] = []

    async def open_(brand: TenantInfo, station_id: str, protocol: str) -> ClientConnection:
        ws = await connect(
            url(gateway, brand.key, station_id),
            subprotocols=[protocol],  # type: ignore[list-item]
            additional_headers={"Authorization": basic(station_id, PASSWORD)},
            compression=None,
            max_size=None,
        )
        opened.append(ws)
        return ws

    yield open_
    for ws in opened:
        await ws.close()


async def exchange(ws: ClientConnection, frame: str | bytes) -> list[Any]:
    """Send one frame and return the gateway's reply, parsed."""
    await ws.send(frame)
    reply = await asyncio.wait_for(ws.recv(), timeout=10)
    parsed: list[Any] = json.loads(reply)
    return parsed
