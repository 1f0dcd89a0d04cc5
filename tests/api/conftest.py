"""The operator API over HTTP: brands with API keys, and real OCPP chargers that answer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar import Litestar
from ocpp.routing import on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import ClientConnection, connect

from tests.ocpp.conftest import PASSWORD, basic, gateway, url
from voltlane.core.db import Database
from voltlane.identity import api_keys
from voltlane.ocpp.server import Gateway
from voltlane.tenancy import TenantInfo

__all__ = ["PASSWORD", "gateway"]

BrandApi = Callable[[TenantInfo, str], contextlib.AbstractAsyncContextManager[Any]]

LOCATION = {
    "name": "Harbour depot",
    "address": "Hafenstraße 1",
    "city": "Hamburg",
    "postal_code": "20359",
    "country": "DEU",
    "latitude": "53.5461",
    "longitude": "9.9661",
    "timezone": "Europe/Berlin",
}
CONNECTOR = {
    "standard": "IEC_62196_T2",
    "format": "SOCKET",
    "power_type": "AC_3_PHASE",
    "max_voltage": 400,
    "max_amperage": 32,
    "max_electric_power": 22000,
}


async def issue_key(database: Database, brand: TenantInfo, name: str = "integration") -> str:
    """A fresh API key of ``brand`` (the plaintext, as a client holds it)."""
    async with database.tenant_transaction(brand.key) as db_session:
        _, plaintext = await api_keys.create_api_key(
            db_session, name=name, created_by="ops@example.com"
        )
    return plaintext


@contextlib.asynccontextmanager
async def api_client(
    app: Litestar, brand: TenantInfo, key: str | None, *, scheme: str = "http"
) -> AsyncIterator[httpx.AsyncClient]:
    """A client on ``brand``'s host, sending ``key`` as its bearer token.

    The app runs in the test's own event loop (with its startup and shutdown hooks), so a
    gateway and chargers in that loop keep running while a request waits for a station.
    Litestar's AsyncTestClient would block the loop for the whole request.
    """
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url=f"{scheme}://{brand.slug}.localhost:8000",
            headers=headers,
        ) as client,
    ):
        yield client


@pytest.fixture
def api_for(app: Litestar) -> BrandApi:
    """``api_client`` on the session's app."""

    def open_client(
        brand: TenantInfo, key: str | None
    ) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
        return api_client(app, brand, key)

    return open_client


async def create_location(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/locations", json={**LOCATION, **overrides})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_station(
    client: httpx.AsyncClient, location_id: str, station_id: str, **overrides: Any
) -> dict[str, Any]:
    payload = {
        "location_id": location_id,
        "station_id": station_id,
        "evses": [{"connectors": [CONNECTOR]}],
        **overrides,
    }
    response = await client.post("/api/v1/stations", json=payload)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# -- chargers that answer the platform's calls ----------------------------------------------
class Behaviour:
    """What a test charger answers, how slowly, and what it received."""

    def __init__(self) -> None:
        self.status = "Accepted"
        self.delay = 0.0
        self.received: list[tuple[str, dict[str, Any]]] = []

    async def record(self, action: str, **payload: Any) -> None:
        self.received.append((action, payload))
        if self.delay:
            await asyncio.sleep(self.delay)


class Station16(Cp16):  # type: ignore[misc]
    behaviour: Behaviour

    @on("RemoteStartTransaction")
    async def on_remote_start(self, **payload: Any) -> Any:
        await self.behaviour.record("RemoteStartTransaction", **payload)
        return result16.RemoteStartTransaction(status=self.behaviour.status)

    @on("ChangeConfiguration")
    async def on_change_configuration(self, **payload: Any) -> Any:
        await self.behaviour.record("ChangeConfiguration", **payload)
        return result16.ChangeConfiguration(status=self.behaviour.status)

    @on("GetConfiguration")
    async def on_get_configuration(self, **payload: Any) -> Any:
        await self.behaviour.record("GetConfiguration", **payload)
        return result16.GetConfiguration(
            configuration_key=[{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
            unknown_key=[k for k in payload.get("key", []) if k != "HeartbeatInterval"],
        )


class Station201(Cp201):  # type: ignore[misc]
    behaviour: Behaviour

    @on("RequestStartTransaction")
    async def on_request_start(self, **payload: Any) -> Any:
        await self.behaviour.record("RequestStartTransaction", **payload)
        return result201.RequestStartTransaction(status=self.behaviour.status)

    @on("SetVariables")
    async def on_set_variables(self, **payload: Any) -> Any:
        await self.behaviour.record("SetVariables", **payload)
        return result201.SetVariables(
            set_variable_result=[
                {
                    "attribute_status": self.behaviour.status,
                    "component": entry["component"],
                    "variable": entry["variable"],
                }
                for entry in payload["set_variable_data"]
            ]
        )

    @on("GetVariables")
    async def on_get_variables(self, **payload: Any) -> Any:
        await self.behaviour.record("GetVariables", **payload)
        return result201.GetVariables(
            get_variable_result=[
                {
                    "attribute_status": "Accepted",
                    "attribute_value": "300",
                    "component": entry["component"],
                    "variable": entry["variable"],
                }
                for entry in payload["get_variable_data"]
            ]
        )


@dataclass
class Charger:
    cp: Any
    ws: ClientConnection
    task: asyncio.Task[None]
    behaviour: Behaviour

    async def close(self) -> None:
        await self.ws.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


OpenCharger = Callable[..., Awaitable[Charger]]


@pytest.fixture
async def charger(gateway: Gateway) -> AsyncIterator[OpenCharger]:
    """Connect and boot a charger: ``await charger(brand, "CP1", "ocpp1.6")``; its boot is
    expected to be answered with ``registration``."""
    opened: list[Charger] = []

    async def open_(
        brand: TenantInfo,
        station_id: str,
        protocol: str,
        *,
        password: str = PASSWORD,
        registration: str = "Accepted",
    ) -> Charger:
        ws = await connect(
            url(gateway, brand.key, station_id),
            subprotocols=[protocol],  # type: ignore[list-item]
            additional_headers={"Authorization": basic(station_id, password)},
            compression=None,
        )
        behaviour = Behaviour()
        cls = Station16 if protocol == "ocpp1.6" else Station201
        cp = cls(station_id, ws, response_timeout=10)
        cp.behaviour = behaviour
        task = asyncio.create_task(cp.start())
        found = Charger(cp, ws, task, behaviour)
        opened.append(found)
        if protocol == "ocpp1.6":
            boot = await cp.call(
                call16.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22")
            )
        else:
            boot = await cp.call(
                call201.BootNotification(
                    charging_station={"model": "DC150", "vendor_name": "Acme"}, reason="PowerUp"
                )
            )
        assert boot.status == registration
        return found

    yield open_
    for found in opened:
        await found.close()
