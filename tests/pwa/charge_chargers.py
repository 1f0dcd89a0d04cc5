"""Chargers for the charge tests: real OCPP 1.6 and 2.0.1 clients over real WebSockets that
obey, refuse or ignore a remote start, plug in with the app's token, and stop when asked."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import connect

from tests.ocpp.conftest import PASSWORD, basic, url
from voltlane.ocpp.server import Gateway
from voltlane.tenancy import TenantInfo

# The charger's clock: the session started an hour ago, its readings are fixed, and the
# screens are read at START + 30 minutes.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
READ_AT = START + timedelta(minutes=30)
STOP_AT = START + timedelta(minutes=45)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def register(value: int, power_w: int | None, at: datetime, *, v2: bool) -> dict[str, Any]:
    sampled = [
        {"value": str(value) if not v2 else value, "measurand": "Energy.Active.Import.Register"}
    ]
    if power_w is not None:
        sampled.append(
            {"value": str(power_w) if not v2 else power_w, "measurand": "Power.Active.Import"}
        )
    if v2:
        for entry in sampled:
            entry["unit_of_measure"] = {"unit": "Wh" if "Register" in entry["measurand"] else "W"}
        return {"timestamp": iso(at), "sampled_value": sampled}
    for entry in sampled:
        entry["unit"] = "Wh" if "Register" in entry["measurand"] else "W"
    return {"timestamp": iso(at), "sampled_value": sampled}


class AppCharger16(Cp16):  # type: ignore[misc]
    """A 1.6 charger: ``answer`` Accepted (then the driver plugs in: StartTransaction with
    the app's token, 3.5 kWh at 14 kW after 15 minutes), Rejected, "silent" (never answers)
    or "Unplugged" (accepts, nobody plugs in). Accepts a remote stop and ends the
    transaction at 7.25 kWh."""

    answer = "Accepted"
    received: list[str]
    transaction_id: int | None = None

    @on("RemoteStartTransaction")
    async def on_remote_start(self, id_tag: str, **kwargs: Any) -> Any:
        self.received.append(f"start {id_tag} {kwargs.get('connector_id')}")
        if self.answer == "silent":
            await asyncio.sleep(3600)
        status = "Rejected" if self.answer == "Rejected" else "Accepted"
        return result16.RemoteStartTransaction(status=status)

    @after("RemoteStartTransaction")
    async def plug_in(self, id_tag: str, **kwargs: Any) -> None:
        if self.answer != "Accepted":
            return
        started = await self.call(
            call16.StartTransaction(
                connector_id=1, id_tag=id_tag, meter_start=1_000_000, timestamp=iso(START)
            )
        )
        self.transaction_id = started.transaction_id
        await self.call(
            call16.MeterValues(
                connector_id=1,
                transaction_id=started.transaction_id,
                meter_value=[register(1_003_500, 14_000, START + timedelta(minutes=15), v2=False)],
            )
        )

    @on("RemoteStopTransaction")
    async def on_remote_stop(self, transaction_id: int) -> Any:
        self.received.append(f"stop {transaction_id}")
        return result16.RemoteStopTransaction(status="Accepted")

    @after("RemoteStopTransaction")
    async def unplug(self, transaction_id: int) -> None:
        await self.call(
            call16.StopTransaction(
                transaction_id=transaction_id,
                meter_stop=1_007_250,
                timestamp=iso(STOP_AT),
                reason="Remote",
            )
        )


class AppCharger201(Cp201):  # type: ignore[misc]
    """The same charger speaking OCPP 2.0.1 (the same answers): TransactionEvents carry the
    app's token."""

    answer = "Accepted"
    received: list[str]

    @on("RequestStartTransaction")
    async def on_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, **kwargs: Any
    ) -> Any:
        self.received.append(
            f"start {id_token['id_token']} {id_token['type']} {kwargs.get('evse_id')}"
        )
        if self.answer == "silent":
            await asyncio.sleep(3600)
        status = "Rejected" if self.answer == "Rejected" else "Accepted"
        return result201.RequestStartTransaction(status=status)

    @after("RequestStartTransaction")
    async def plug_in(self, id_token: dict[str, Any], remote_start_id: int, **kwargs: Any) -> None:
        if self.answer != "Accepted":
            return
        await self._event(
            "Started",
            0,
            START,
            register(1_000_000, None, START, v2=True),
            id_token=id_token,
            info={"remote_start_id": remote_start_id},
            trigger="RemoteStart",
        )
        await self._event(
            "Updated",
            1,
            START + timedelta(minutes=15),
            register(1_003_500, 14_000, START + timedelta(minutes=15), v2=True),
        )

    @on("RequestStopTransaction")
    async def on_request_stop(self, transaction_id: str) -> Any:
        self.received.append(f"stop {transaction_id}")
        return result201.RequestStopTransaction(status="Accepted")

    @after("RequestStopTransaction")
    async def unplug(self, transaction_id: str) -> None:
        await self._event(
            "Ended",
            2,
            STOP_AT,
            register(1_007_250, None, STOP_AT, v2=True),
            info={"stopped_reason": "Remote"},
            trigger="RemoteStop",
        )

    async def _event(
        self,
        event_type: str,
        seq_no: int,
        at: datetime,
        meter: dict[str, Any],
        *,
        id_token: dict[str, Any] | None = None,
        info: dict[str, Any] | None = None,
        trigger: str = "MeterValuePeriodic",
    ) -> None:
        await self.call(
            call201.TransactionEvent(
                event_type=event_type,
                timestamp=iso(at),
                trigger_reason=trigger,
                seq_no=seq_no,
                transaction_info={
                    "transaction_id": "tx-app-1",
                    "charging_state": "Charging" if event_type != "Ended" else "EVConnected",
                    **(info or {}),
                },
                evse={"id": 1, "connector_id": 1},
                id_token=id_token,
                meter_value=[meter],
            )
        )


CHARGERS = {"ocpp1.6": AppCharger16, "ocpp2.0.1": AppCharger201}


@contextlib.asynccontextmanager
async def charger(
    gateway: Gateway, brand: TenantInfo, station_id: str, protocol: str, answer: str = "Accepted"
) -> AsyncIterator[Any]:
    """A booted charger of ``protocol`` connected to the gateway as ``station_id``."""
    ws = await connect(
        url(gateway, brand.key, station_id),
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers={"Authorization": basic(station_id, PASSWORD)},
        compression=None,
    )
    station = CHARGERS[protocol](station_id, ws, response_timeout=10)
    station.received = []
    station.answer = answer
    task = asyncio.create_task(station.start())
    if protocol == "ocpp1.6":
        await station.call(
            call16.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22")
        )
    else:
        await station.call(
            call201.BootNotification(
                charging_station={"model": "AC22", "vendor_name": "Acme"}, reason="PowerUp"
            )
        )
    try:
        yield station
    finally:
        await ws.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
