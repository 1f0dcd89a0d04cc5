"""Simulated OCPP 2.x cars for the demo site: ``voltlane simulate`` (or
``python -m voltlane.ocpp.simulator``).

Each car is a real ``ocpp`` client on one of the brand's 2.x simulator stations (URL and
password from the ``demo.json`` that ``voltlane run`` writes): it boots, plugs in, starts a
transaction with a demo card, reports its ISO 15118 charging needs, accepts every charging
profile and draws what its TxProfile allows, so the portal's Sites page shows the
allocation follow the cars. Cars arrive ``--stagger`` seconds apart.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ocpp.routing import on
from ocpp.v21 import ChargePoint as Cp21
from ocpp.v21 import call as call21
from ocpp.v21 import call_result as result21
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from websockets.asyncio.client import connect

log = logging.getLogger(__name__)

VOLTS = 230
PHASES = 3


def _now() -> str:
    """The station's clock to the millisecond: samples of one session are kept once per
    timestamp, so two reports within a second must not share one."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class CarPlan:
    """One simulated car: where it plugs in and what it wants."""

    station_id: str
    protocol: str  # "ocpp2.0.1" or "ocpp2.1"
    ocpp_url: str
    password: str
    id_token: str
    energy_wh: int = 20_000
    departure_in: timedelta = timedelta(hours=2)


class _Profiles:
    """The limit (A per phase) the station's TxProfile allows; None before any."""

    limit_a: float | None = None

    def take(self, charging_profile: dict[str, Any]) -> None:
        if charging_profile["charging_profile_purpose"] == "TxProfile":
            [period, *_] = charging_profile["charging_schedule"][0]["charging_schedule_period"]
            self.limit_a = float(period["limit"])


class _AcceptsProfiles:
    """Handlers of a 2.x station that accepts every charging profile (a 2.1 ChargePoint
    answers nothing to an action it has no handler for, so clearing is here too)."""

    profiles: _Profiles
    results: Any  # the version's call_result module

    @on("SetChargingProfile")  # type: ignore[untyped-decorator]
    async def on_set_charging_profile(
        self, evse_id: int, charging_profile: dict[str, Any], **kwargs: Any
    ) -> Any:
        del evse_id, kwargs
        self.profiles.take(charging_profile)
        return self.results.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")  # type: ignore[untyped-decorator]
    async def on_clear_charging_profile(self, **kwargs: Any) -> Any:
        del kwargs
        return self.results.ClearChargingProfile(status="Accepted")


class SimulatedStation201(_AcceptsProfiles, Cp201):  # type: ignore[misc]
    results = result201


class SimulatedStation21(_AcceptsProfiles, Cp21):  # type: ignore[misc]
    results = result21


STATIONS: dict[str, tuple[type[Any], Any]] = {
    "ocpp2.0.1": (SimulatedStation201, call201),
    "ocpp2.1": (SimulatedStation21, call21),
}


def _needs(plan: CarPlan) -> dict[str, Any]:
    departure = (datetime.now(UTC) + plan.departure_in).strftime("%Y-%m-%dT%H:%M:%SZ")
    needs: dict[str, Any] = {
        "requested_energy_transfer": "AC_three_phase",
        "departure_time": departure,
        "ac_charging_parameters": {
            "energy_amount": plan.energy_wh,
            "ev_min_current": 6,
            "ev_max_current": 32,
            "ev_max_voltage": 400,
        },
    }
    if plan.protocol == "ocpp2.1":
        # A bidirectional car (ISO 15118-20 BPT) that could feed back 7 kW.
        needs["requested_energy_transfer"] = "AC_BPT"
        needs["v2x_charging_parameters"] = {
            "ev_target_energy_request": plan.energy_wh,
            "max_charge_power": 22_000,
            "max_discharge_power": 7_000,
        }
    return needs


def _meter(register_wh: float, power_w: float) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": _now(),
            "sampled_value": [
                {"value": register_wh, "measurand": "Energy.Active.Import.Register"},
                {"value": power_w, "measurand": "Power.Active.Import"},
            ],
        }
    ]


class Car:
    """A plan played against the gateway: connect and boot (``plug_in``), then charge."""

    def __init__(self, plan: CarPlan) -> None:
        self.plan = plan
        self.station_class, self.call = STATIONS[plan.protocol]
        self.transaction_id = f"SIM-{plan.station_id}-{int(datetime.now(UTC).timestamp())}"
        self.seq_no = 0
        self.register_wh = 0.0
        self.cp: Any = None
        self.needs_status: str | None = None

    async def plug_in(self) -> None:
        """Boot, report the connector occupied, start the transaction, report the needs."""
        call = self.call
        await self.cp.call(
            call.BootNotification(
                charging_station={"model": "Simulator", "vendor_name": "Voltlane"},
                reason="PowerUp",
            )
        )
        await self.cp.call(
            call.StatusNotification(
                timestamp=_now(), connector_status="Occupied", evse_id=1, connector_id=1
            )
        )
        await self.cp.call(
            call.TransactionEvent(
                event_type="Started",
                timestamp=_now(),
                trigger_reason="Authorized",
                seq_no=self.seq_no,
                transaction_info={
                    "transaction_id": self.transaction_id,
                    "charging_state": "Charging",
                },
                evse={"id": 1, "connector_id": 1},
                id_token={"id_token": self.plan.id_token, "type": "ISO14443"},
                meter_value=_meter(self.register_wh, 0),
            )
        )
        self.seq_no += 1
        extra = {"timestamp": _now()} if self.plan.protocol == "ocpp2.1" else {}
        answer = await self.cp.call(
            call.NotifyEVChargingNeeds(evse_id=1, charging_needs=_needs(self.plan), **extra)
        )
        self.needs_status = answer.status

    async def report(self, elapsed_s: float) -> float:
        """Report ``elapsed_s`` seconds of charging at what the TxProfile allows (the
        site's minimum before any); the power drawn, in W."""
        limit = self.cp.profiles.limit_a or 6.0
        power_w: float = limit * VOLTS * PHASES
        self.register_wh += power_w * elapsed_s / 3600
        await self.cp.call(
            self.call.TransactionEvent(
                event_type="Updated",
                timestamp=_now(),
                trigger_reason="MeterValuePeriodic",
                seq_no=self.seq_no,
                transaction_info={"transaction_id": self.transaction_id},
                meter_value=_meter(self.register_wh, power_w),
            )
        )
        self.seq_no += 1
        return power_w

    async def charge(self, period_s: float) -> None:
        """Report every ``period_s`` seconds, for ever."""
        while True:
            await asyncio.sleep(period_s)
            await self.report(period_s)

    @contextlib.asynccontextmanager
    async def connected(self, *, host: str | None = None) -> Any:
        """The car's station connected (to ``host`` instead of the URL's, when given)."""
        url = urlsplit(self.plan.ocpp_url)
        target = self.plan.ocpp_url if host is None else f"ws://{host}:{url.port}{url.path}"
        token = base64.b64encode(f"{self.plan.station_id}:{self.plan.password}".encode())
        async with connect(
            target,
            subprotocols=[self.plan.protocol],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Basic {token.decode()}"},
            compression=None,
        ) as ws:
            self.cp = self.station_class(self.plan.station_id, ws, response_timeout=30)
            self.cp.profiles = _Profiles()
            task = asyncio.create_task(self.cp.start())
            try:
                yield self
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def demo_plans(manifest: dict[str, Any], slug: str, tokens: Sequence[str]) -> list[CarPlan]:
    """A car for each 2.x simulator station of the brand ``slug`` in ``demo.json``, each
    with the next of the brand's demo cards ``tokens``."""
    brand = next(b for b in manifest["brands"] if b["slug"] == slug)
    stations = [
        s for s in brand["stations"] if s["protocol"] in STATIONS and s["password"] is not None
    ]
    return [
        CarPlan(
            station_id=s["station_id"],
            protocol=s["protocol"],
            ocpp_url=s["ocpp_url"],
            password=s["password"],
            id_token=token,
        )
        for s, token in zip(stations, tokens, strict=False)
    ]


async def simulate(plans: Sequence[CarPlan], *, stagger_s: float, period_s: float) -> None:
    """Play the cars, one arriving every ``stagger_s`` seconds, until cancelled."""

    async def one(car: Car, delay: float) -> None:
        await asyncio.sleep(delay)
        async with car.connected(host="127.0.0.1"):
            await car.plug_in()
            log.info("car on %s: needs %s", car.plan.station_id, car.needs_status)
            await car.charge(period_s)

    cars = [Car(plan) for plan in plans]
    await asyncio.gather(*(one(car, n * stagger_s) for n, car in enumerate(cars)))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's options (shared by ``voltlane simulate``)."""
    parser.add_argument("--manifest", type=Path, default=Path(".voltlane/demo.json"))
    parser.add_argument("--brand", default="voltaria")
    parser.add_argument("--tokens", nargs="+", default=["VLTDEMO0001", "VLTDEMO0002"])
    parser.add_argument("--stagger", type=float, default=30.0, help="seconds between cars")
    parser.add_argument("--period", type=float, default=10.0, help="seconds between reports")
    parser.add_argument("--seconds", type=float, default=None, help="stop after (default: never)")


def run(args: argparse.Namespace) -> None:
    """Play the cars ``args`` describe until interrupted (or ``--seconds`` passed)."""
    manifest = json.loads(args.manifest.read_text(encoding="utf-8"))
    cars = simulate(
        demo_plans(manifest, args.brand, args.tokens),
        stagger_s=args.stagger,
        period_s=args.period,
    )

    async def play() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cars, args.seconds)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(play())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    run(args)


if __name__ == "__main__":
    main()
