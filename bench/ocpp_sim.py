"""Light OCPP stations for the gateway load test: raw websockets clients, pre-built frames.

The ``ocpp`` package's ChargePoint validates every message and keeps a task and a queue per
station: too heavy for 10,000 clients in one process. A :class:`Station` here is a socket,
a few counters and frames built by string formatting; a reply is matched by its MessageId
(a station has at most one call outstanding, as OCPP wants).

Every station keeps what it was told was stored (samples, status reports, transactions) so
the run can be checked against the database afterwards: a reply means "committed".
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

REGISTER = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
METER_START_WH = 1_000_000
WH_PER_SLOT = 300  # per simulated minute: 18 kW, under the 22 kW connector (plausible energy)
POWER_W = 18_000
SIM_STEP = timedelta(minutes=1)  # simulated time between two messages of one station

# -- OCPP 1.6J frames ------------------------------------------------------------------------
V16_BOOT = (
    '[2,"%s","BootNotification",{"chargePointVendor":"Voltlane","chargePointModel":"Bench",'
    '"chargePointSerialNumber":"%s","firmwareVersion":"1.0.0"}]'
)
V16_STATUS = (
    '[2,"%s","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"%s",'
    '"timestamp":"%s"}]'
)
V16_START = (
    '[2,"%s","StartTransaction",{"connectorId":1,"idTag":"%s","meterStart":%d,"timestamp":"%s"}]'
)
V16_METER = (
    '[2,"%s","MeterValues",{"connectorId":1,"transactionId":%d,"meterValue":[{"timestamp":"%s",'
    '"sampledValue":[{"value":"%d","context":"Sample.Periodic","measurand":"' + REGISTER + '",'
    '"location":"Outlet","unit":"Wh"},{"value":"%d","context":"Sample.Periodic",'
    '"measurand":"' + POWER + '","location":"Outlet","unit":"W"}]}]}]'
)
V16_STOP = (
    '[2,"%s","StopTransaction",{"transactionId":%d,"idTag":"%s","meterStop":%d,'
    '"timestamp":"%s","reason":"Local"}]'
)
HEARTBEAT = '[2,"%s","Heartbeat",{}]'

# -- OCPP 2.0.1 frames -----------------------------------------------------------------------
V2_BOOT = (
    '[2,"%s","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"Bench",'
    '"vendorName":"Voltlane","serialNumber":"%s","firmwareVersion":"1.0.0"}}]'
)
V2_STATUS = (
    '[2,"%s","StatusNotification",{"timestamp":"%s","connectorStatus":"%s","evseId":1,'
    '"connectorId":1}]'
)
V2_STARTED = (
    '[2,"%s","TransactionEvent",{"eventType":"Started","timestamp":"%s",'
    '"triggerReason":"Authorized","seqNo":%d,"transactionInfo":{"transactionId":"%s",'
    '"chargingState":"Charging"},"evse":{"id":1,"connectorId":1},'
    '"idToken":{"idToken":"%s","type":"ISO14443"},"meterValue":[{"timestamp":"%s",'
    '"sampledValue":[{"value":%d,"context":"Transaction.Begin","measurand":"' + REGISTER + '",'
    '"unitOfMeasure":{"unit":"Wh"}}]}]}]'
)
V2_UPDATED = (
    '[2,"%s","TransactionEvent",{"eventType":"Updated","timestamp":"%s",'
    '"triggerReason":"MeterValuePeriodic","seqNo":%d,"transactionInfo":{"transactionId":"%s",'
    '"chargingState":"Charging"},"meterValue":[{"timestamp":"%s","sampledValue":[{"value":%d,'
    '"context":"Sample.Periodic","measurand":"' + REGISTER + '","location":"Outlet",'
    '"unitOfMeasure":{"unit":"Wh"}},{"value":%d,"context":"Sample.Periodic",'
    '"measurand":"' + POWER + '","location":"Outlet","unitOfMeasure":{"unit":"W"}}]}]}]'
)
V2_ENDED = (
    '[2,"%s","TransactionEvent",{"eventType":"Ended","timestamp":"%s",'
    '"triggerReason":"StopAuthorized","seqNo":%d,"transactionInfo":{"transactionId":"%s",'
    '"chargingState":"Idle","stoppedReason":"Local"},"meterValue":[{"timestamp":"%s",'
    '"sampledValue":[{"value":%d,"context":"Transaction.End","measurand":"' + REGISTER + '",'
    '"unitOfMeasure":{"unit":"Wh"}}]}]}]'
)

# The middle of a station's run (between the start and the stop of its transaction):
# 60 % meter values, 20 % status notifications, 20 % heartbeats.
MIDDLE: tuple[str, ...] = ("meter", "meter", "status", "meter", "heartbeat")
MIDDLE += ("meter", "meter", "status", "meter", "heartbeat")
CHARGING_STATES = ("Charging", "SuspendedEV")


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class CallFailedError(Exception):
    """A CALLERROR, or a reply that does not say what a working CSMS would."""


@dataclass(slots=True)
class Expected:
    """What a station was told is stored (acked) and what it sent without an answer."""

    samples: dict[tuple[int, str], int] = field(default_factory=dict)  # (epoch s, measurand)
    unacked_samples: dict[tuple[int, str], int] = field(default_factory=dict)
    statuses: int = 0
    unacked_statuses: int = 0
    last_status: str | None = None
    transactions: list[dict[str, Any]] = field(default_factory=list)
    unacked: int = 0


class Station:
    """One charge point: a socket and the state its next message needs."""

    __slots__ = (
        "brand",
        "expected",
        "id_tag",
        "last_sim",
        "meter_wh",
        "password",
        "protocol",
        "seq",
        "seq_no",
        "sim_clock",
        "station_id",
        "transaction",
        "ws",
    )

    def __init__(
        self, brand: str, station_id: str, password: str, id_tag: str, protocol: str
    ) -> None:
        self.brand = brand
        self.station_id = station_id
        self.password = password
        self.id_tag = id_tag
        self.protocol = protocol
        self.ws: ClientConnection | None = None
        self.seq = 0
        self.seq_no = 0
        self.transaction: dict[str, Any] | None = None
        self.meter_wh = METER_START_WH
        self.sim_clock = 0  # simulated minutes since the run's base time
        self.last_sim = ""
        self.expected = Expected()

    @property
    def v16(self) -> bool:
        return self.protocol == "ocpp1.6"

    def next_id(self) -> str:
        self.seq += 1
        return str(self.seq)

    async def open(self, base_url: str, limit: float) -> None:
        self.ws = await connect(
            f"{base_url}{self.brand}/{self.station_id}",
            subprotocols=[self.protocol],  # type: ignore[list-item]
            additional_headers={"Authorization": basic(self.station_id, self.password)},
            compression=None,
            open_timeout=limit,
            ping_interval=None,  # the gateway pings; a station only answers
            close_timeout=5,
            max_queue=4,
        )

    async def call(self, frame: str, message_id: str, limit: float) -> dict[str, Any]:
        """Send one CALL and wait for its CALLRESULT payload."""
        ws = self.ws
        if ws is None:
            raise ConnectionError("not connected")
        await ws.send(frame)
        async with asyncio.timeout(limit):
            while True:
                raw = await ws.recv()
                reply = json.loads(raw)
                if reply[0] == 2:  # a call from the gateway: not expected in this workload
                    await ws.send(json.dumps([4, reply[1], "NotImplemented", "", {}]))
                    continue
                if reply[1] != message_id:
                    continue  # a late answer to a call that timed out before
                if reply[0] != 3:
                    raise CallFailedError(f"{reply[2]}: {reply[3]}")
                payload: dict[str, Any] = reply[2]
                return payload

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    # -- frames ------------------------------------------------------------------------------
    def boot_frame(self) -> tuple[str, str]:
        mid = self.next_id()
        template = V16_BOOT if self.v16 else V2_BOOT
        return template % (mid, self.station_id), mid

    def heartbeat_frame(self) -> tuple[str, str]:
        mid = self.next_id()
        return HEARTBEAT % mid, mid


@dataclass(slots=True)
class Outcome:
    """What one phase measured on the client side."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    late: int = 0  # calls sent more than 100 ms after their slot (the station was still waiting)
    skipped: int = 0  # slots left out because the station was a whole period behind
    first_send: float = 0.0
    last_reply: float = 0.0

    def all_latencies(self) -> list[float]:
        return [v for values in self.latencies.values() for v in values]

    @property
    def acked(self) -> int:
        return sum(len(v) for v in self.latencies.values())


# -- boot storm ------------------------------------------------------------------------------
@dataclass(slots=True)
class StormResult:
    elapsed: float
    connect_ms: list[float]
    boot_ms: list[float]
    total_ms: list[float]
    failures: Counter[str]
    attempts: int
    boots_sent: int


async def boot_storm(
    stations: list[Station],
    base_url: str,
    *,
    concurrency: int,
    open_timeout: float,
    call_timeout: float,
    give_up_after: float,
) -> StormResult:
    """Connect every station and boot it; a failed attempt is retried after 1-3 s, as a
    charger with a back-off would. Returns once every station has an Accepted boot."""
    gate = asyncio.Semaphore(concurrency)
    connect_ms: list[float] = []
    boot_ms: list[float] = []
    total_ms: list[float] = []
    failures: Counter[str] = Counter()
    attempts = 0
    boots_sent = 0
    started = time.perf_counter()
    deadline = started + give_up_after

    async def attempt(station: Station, first: float) -> None:
        nonlocal boots_sent
        t0 = time.perf_counter()
        await station.open(base_url, open_timeout)
        t1 = time.perf_counter()
        frame, mid = station.boot_frame()
        boots_sent += 1
        reply = await station.call(frame, mid, call_timeout)
        t2 = time.perf_counter()
        if reply.get("status") != "Accepted":
            raise CallFailedError(f"boot {reply.get('status')}")
        connect_ms.append((t1 - t0) * 1000)
        boot_ms.append((t2 - t1) * 1000)
        total_ms.append((t2 - first) * 1000)

    async def one(station: Station) -> None:
        nonlocal attempts
        first = time.perf_counter()
        while time.perf_counter() < deadline:
            async with gate:
                attempts += 1
                try:
                    await attempt(station, first)
                except InvalidStatus as exc:
                    failures[_reason(exc)] += 1
                    if exc.response.status_code in (401, 404):
                        return  # refused for good: the bench is misconfigured
                except Exception as exc:  # noqa: BLE001 - every failure is counted and retried
                    failures[_reason(exc)] += 1
                    await station.close()
                else:
                    return
            await asyncio.sleep(1 + 2 * random.random())
        failures["gave up"] += 1

    await asyncio.gather(*(one(s) for s in stations))
    return StormResult(
        time.perf_counter() - started, connect_ms, boot_ms, total_ms, failures, attempts, boots_sent
    )


def _reason(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text[:80]


# -- heartbeats at the interval the gateway handed out ---------------------------------------
# Told of every acknowledged sample (station, kind, [(epoch s, measurand, value)]).
Acked = Callable[[Station, str, list[tuple[int, str, int]]], None]


@dataclass(slots=True)
class Run:
    """What every call of one phase shares."""

    outcome: Outcome
    limit: float  # seconds to wait for a reply
    base_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    on_ack: Acked | None = None


async def heartbeats(
    stations: list[Station], *, interval: float, duration: float, call_timeout: float
) -> Outcome:
    """Every station sends Heartbeat every ``interval`` seconds (random phase)."""
    run = Run(Outcome(), call_timeout)
    start = time.perf_counter()
    run.outcome.first_send = start
    end = start + duration

    async def one(station: Station) -> None:
        due = start + random.random() * interval
        while due < end:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            frame, mid = station.heartbeat_frame()
            await _timed(run, station, "Heartbeat", frame, mid)
            due += interval

    await asyncio.gather(*(one(s) for s in stations))
    return run.outcome


async def _timed(
    run: Run, station: Station, action: str, frame: str, mid: str
) -> dict[str, Any] | None:
    outcome = run.outcome
    outcome.sent[action] += 1
    t0 = time.perf_counter()
    try:
        reply = await station.call(frame, mid, run.limit)
    except Exception as exc:  # noqa: BLE001 - counted, the run goes on
        outcome.errors[f"{action}: {_reason(exc)}"] += 1
        return None
    t1 = time.perf_counter()
    outcome.latencies[action].append((t1 - t0) * 1000)
    outcome.last_reply = max(outcome.last_reply, t1)
    return reply


# -- sustained traffic with persistence ------------------------------------------------------


def station_plan(slots: int, switch: int) -> list[str]:
    """The calls of one station in a phase: the mix of :data:`MIDDLE`, with the stop of the
    transaction it had open before the phase at ``switch - 1`` and the start of the next at
    ``switch``. One start and one stop per station, at a different moment for each."""
    plan = [MIDDLE[i % len(MIDDLE)] for i in range(slots - 2)]
    plan[switch - 1 : switch - 1] = ["stop", "start"]
    return plan


async def open_transactions(
    stations: list[Station], *, base_time: datetime, call_timeout: float, concurrency: int
) -> Outcome:
    """Before a phase (untimed): every station starts the transaction it stops in the phase."""
    run = Run(Outcome(), call_timeout, base_time)
    gate = asyncio.Semaphore(concurrency)

    async def one(station: Station) -> None:
        async with gate:
            await _step(run, station, "start")

    await asyncio.gather(*(one(s) for s in stations))
    return run.outcome


async def close_transactions(
    stations: list[Station], *, base_time: datetime, call_timeout: float, concurrency: int
) -> Outcome:
    """After a phase (untimed): every transaction still open is stopped."""
    run = Run(Outcome(), call_timeout, base_time)
    gate = asyncio.Semaphore(concurrency)

    async def one(station: Station) -> None:
        if station.transaction is not None and station.transaction["started"]:
            async with gate:
                await _step(run, station, "stop")

    await asyncio.gather(*(one(s) for s in stations))
    return run.outcome


async def sustained(
    stations: list[Station],
    *,
    rate: float,
    duration: float,
    slots: int,
    base_time: datetime,
    call_timeout: float,
    on_ack: Acked | None = None,
) -> Outcome:
    """``rate`` calls/s spread evenly over the stations for ``duration`` seconds, in steady
    state: each station has a transaction open when the phase begins (see
    :func:`open_transactions`) and sends ``slots`` calls at its own slots (period = stations
    / rate, random phase) following :func:`station_plan`, so starts and stops are spread over
    the whole phase as they are on a live network, not bunched at its edges. A station that
    is still waiting for an answer when its next slot comes sends late ("late" counts those
    calls: the gateway is not keeping up) and leaves out the middle calls it is whole periods
    behind on ("skipped"), as a charger would; starts and stops are never left out.
    """
    run = Run(Outcome(), call_timeout, base_time, on_ack)
    period = len(stations) / rate
    start = time.perf_counter()
    run.outcome.first_send = start

    async def one(station: Station) -> None:
        due = start + random.random() * period
        plan = station_plan(slots, random.randint(1, slots - 1))
        while plan:
            now = time.perf_counter()
            if due > now:
                await asyncio.sleep(due - now)
            else:
                behind = int((now - due) / period)
                while behind > 0 and len(plan) > 1 and plan[0] not in ("start", "stop"):
                    # A charger sends its next message later, it does not queue every one.
                    plan.pop(0)
                    run.outcome.skipped += 1
                    behind -= 1
                    due += period
            if time.perf_counter() - due > 0.1:
                run.outcome.late += 1
            await _step(run, station, plan.pop(0))
            due += period

    await asyncio.gather(*(one(s) for s in stations))
    return run.outcome


async def _step(run: Run, station: Station, kind: str) -> None:
    station.sim_clock += 1
    at = run.base_time + station.sim_clock * SIM_STEP
    if kind == "heartbeat":
        frame, mid = station.heartbeat_frame()
        await _timed(run, station, "Heartbeat", frame, mid)
    elif kind == "status":
        await _status(run, station, at)
    elif kind == "start":
        await _start(run, station, at)
    elif station.transaction is None or not station.transaction["started"]:
        # The start was lost: nothing to meter against; counted, the slot is kept.
        run.outcome.errors[f"{kind}: no open transaction"] += 1
    else:
        await _meter_or_stop(run, station, at, stop=kind == "stop")


async def _status(run: Run, station: Station, at: datetime) -> None:
    mid = station.next_id()
    if station.v16:
        status = CHARGING_STATES[station.sim_clock % 2]
        frame = V16_STATUS % (mid, status, iso(at))
    else:
        status = "Occupied"
        frame = V2_STATUS % (mid, iso(at), status)
    reply = await _timed(run, station, "StatusNotification", frame, mid)
    exp = station.expected
    if reply is None:
        exp.unacked_statuses += 1
        exp.unacked += 1
    else:
        exp.statuses += 1
        exp.last_status = status


async def _start(run: Run, station: Station, at: datetime) -> None:
    mid = station.next_id()
    ts = iso(at)
    epoch = int(at.timestamp())
    station.meter_wh += 7  # a new session starts on a fresh register value
    tx = station.transaction = {
        "start_wh": station.meter_wh,
        "stop_wh": None,
        "transaction_id": None,
        "started": False,
        "stopped": False,
    }
    if station.v16:
        action = "StartTransaction"
        frame = V16_START % (mid, station.id_tag, station.meter_wh, ts)
    else:
        action = "TransactionEvent"
        station.seq_no = 0
        tx["transaction_id"] = f"{station.station_id}-{epoch}"
        frame = V2_STARTED % (
            mid,
            ts,
            station.seq_no,
            tx["transaction_id"],
            station.id_tag,
            ts,
            station.meter_wh,
        )
    reply = await _timed(run, station, action, frame, mid)
    if reply is not None:
        tx["started"] = True
        info = reply.get("idTagInfo") or reply.get("idTokenInfo") or {}
        if station.v16:
            tx["transaction_id"] = reply["transactionId"]
        if info.get("status") != "Accepted":
            run.outcome.errors[f"{action}: token {info.get('status')}"] += 1
        station.expected.transactions.append(tx)
    _note(run, station, reply, "start", [(epoch, REGISTER, station.meter_wh)])


async def _meter_or_stop(run: Run, station: Station, at: datetime, *, stop: bool) -> None:
    mid = station.next_id()
    ts = iso(at)
    epoch = int(at.timestamp())
    tx = station.transaction
    assert tx is not None
    station.meter_wh += WH_PER_SLOT
    wh = station.meter_wh
    station.seq_no += 1
    if stop:
        samples = [(epoch, REGISTER, wh)]
        if station.v16:
            action = "StopTransaction"
            frame = V16_STOP % (mid, tx["transaction_id"], station.id_tag, wh, ts)
        else:
            action = "TransactionEvent"
            frame = V2_ENDED % (mid, ts, station.seq_no, tx["transaction_id"], ts, wh)
    else:
        samples = [(epoch, REGISTER, wh), (epoch, POWER, POWER_W)]
        if station.v16:
            action = "MeterValues"
            frame = V16_METER % (mid, tx["transaction_id"], ts, wh, POWER_W)
        else:
            action = "TransactionEvent"
            frame = V2_UPDATED % (mid, ts, station.seq_no, tx["transaction_id"], ts, wh, POWER_W)
    reply = await _timed(run, station, action, frame, mid)
    if stop:
        if reply is not None:
            tx["stopped"] = True
            tx["stop_wh"] = wh
        station.transaction = None
    _note(run, station, reply, "stop" if stop else "meter", samples)


def _note(
    run: Run,
    station: Station,
    reply: dict[str, Any] | None,
    kind: str,
    samples: list[tuple[int, str, int]],
) -> None:
    """Remember what the database must now hold (or may hold, without a reply)."""
    exp = station.expected
    target = exp.samples if reply is not None else exp.unacked_samples
    for epoch, measurand, value in samples:
        target[(epoch, measurand)] = value
    if reply is None:
        exp.unacked += 1
    elif run.on_ack is not None:
        run.on_ack(station, kind, samples)


async def close_all(stations: list[Station], concurrency: int) -> float:
    """Close every socket (bounded concurrency); returns the seconds it took."""
    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()

    async def one(station: Station) -> None:
        async with gate:
            with contextlib.suppress(Exception):  # a socket already gone is closed enough
                await station.close()

    await asyncio.gather(*(one(s) for s in stations))
    return time.perf_counter() - started


def base_time_for_run() -> datetime:
    """Simulated time starts two days ago on a whole minute: every run gets fresh keys."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now - timedelta(days=2)
