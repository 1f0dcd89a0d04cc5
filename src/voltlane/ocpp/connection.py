"""One connected station: reads frames, answers calls, sends the platform's calls.

Frames are handled in order, one at a time, as OCPP wants (a station waits for each
answer). The reply to a call goes out only after its handler's transaction committed.
Every frame in and out goes to the frame log with its latency.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import ocpp.v16.enums
import ocpp.v21.enums
import ocpp.v201.enums
from ocpp.exceptions import (
    FormatViolationError,
    NotSupportedError,
    OCPPError,
)
from ocpp.exceptions import (
    NotImplementedError as OcppNotImplemented,
)
from ocpp.messages import Call, CallResult

from voltlane.core.clock import utcnow
from voltlane.ocpp.frames import FrameLog
from voltlane.ocpp.handlers import HandlerContext, Handlers
from voltlane.ocpp.protocol import STATION_ACTIONS, Version, error_code
from voltlane.ocpp.translate import redact
from voltlane.ocpp.validation import validate_call

log = logging.getLogger(__name__)

CALL, CALLRESULT, CALLERROR, CALLRESULTERROR, SEND = 2, 3, 4, 5, 6
MAX_MESSAGE_ID = 36


class WebSocket(Protocol):
    """The part of a websockets connection the gateway uses."""

    async def send(self, message: str) -> None: ...
    async def close(self, code: int = 1000, reason: str = "") -> None: ...
    def __aiter__(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """What a station answered to a platform call."""

    ok: bool
    payload: dict[str, Any]
    error_code: str | None = None
    error_description: str | None = None


class StationConnection:
    def __init__(
        self,
        ws: WebSocket,
        ctx: HandlerContext,
        handlers: Handlers,
        frames: FrameLog,
        *,
        max_message_bytes: int,
        validate_responses: bool = True,
    ) -> None:
        self.ws = ws
        self.ctx = ctx
        self.handlers = handlers
        self.frames = frames
        self.max_message_bytes = max_message_bytes
        self.validate_responses = validate_responses
        self.connection_id = str(uuid.uuid4())
        self.connected_at = utcnow()
        self.last_seen = time.monotonic()
        self._pending: dict[str, asyncio.Future[CallOutcome]] = {}
        self._call_lock = asyncio.Lock()
        self._outgoing_sent: dict[str, float] = {}

    @property
    def version(self) -> Version:
        return self.ctx.version

    # -- frames ---------------------------------------------------------------------------
    def _log(
        self,
        direction: str,
        raw: str,
        *,
        message_type: int | None = None,
        message_id: str | None = None,
        action: str | None = None,
        latency_ms: float | None = None,
        error: str | None = None,
    ) -> None:
        self.frames.record(
            self.ctx.tenant.key,
            {
                "charging_station_id": self.ctx.station.pk,
                "station_id": self.ctx.station.station_id,
                "direction": direction,
                "message_type": message_type,
                "message_id": message_id[:64] if message_id else None,
                "action": action[:64] if action else None,
                "raw": raw,
                "at": utcnow(),
                "latency_ms": round(latency_ms, 3) if latency_ms is not None else None,
                "error_code": error,
            },
        )

    async def _send(self, raw: str, **fields: Any) -> None:
        self._log("out", raw, **fields)
        await self.ws.send(raw)

    async def _send_error(
        self,
        message_id: str,
        code: str,
        description: str,
        details: dict[str, Any] | None = None,
        *,
        action: str | None = None,
        started: float | None = None,
    ) -> None:
        code = error_code(self.version, code)
        raw = json.dumps(
            [CALLERROR, message_id, code, description[:255], details or {}],
            separators=(",", ":"),
            default=str,
        )
        latency = (time.perf_counter() - started) * 1000 if started is not None else None
        await self._send(
            raw,
            message_type=CALLERROR,
            message_id=message_id,
            action=action,
            latency_ms=latency,
            error=code,
        )
        log.info(
            "ocpp call error sent",
            extra={"station_id": self.ctx.station.station_id, "code": code, "action": action},
        )

    # -- reading --------------------------------------------------------------------------
    async def serve(self) -> None:
        """Handle frames until the station disconnects."""
        async for raw in self.ws:
            await self.on_frame(raw)

    async def on_frame(self, raw: str | bytes) -> None:
        started = time.perf_counter()
        self.last_seen = time.monotonic()
        if isinstance(raw, bytes):
            self._log("in", raw.decode("utf-8", "replace"), error="binary frame")
            await self._send_error("-1", "RpcFrameworkError", "OCPP-J frames must be text")
            return
        if len(raw.encode()) > self.max_message_bytes:
            self._log("in", raw[:2000], error="too large")
            await self._send_error(
                _peek_id(raw),
                "FormatViolation",
                f"Message exceeds {self.max_message_bytes} bytes",
                started=started,
            )
            return
        try:
            frame = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            self._log("in", raw, error="not JSON")
            await self._send_error("-1", "RpcFrameworkError", "Message is not valid JSON")
            return
        if (
            not isinstance(frame, list)
            or len(frame) < 3
            or not isinstance(frame[0], int)
            or isinstance(frame[0], bool)
        ):
            self._log("in", raw, error="not an RPC frame")
            message_id = frame[1] if isinstance(frame, list) and len(frame) > 1 else "-1"
            await self._send_error(
                message_id if isinstance(message_id, str) else "-1",
                "RpcFrameworkError",
                "Not an OCPP-J RPC frame: [MessageTypeId, MessageId, ...]",
            )
            return
        kind = frame[0]
        if kind == CALL or (kind == SEND and self.version is Version.V21):
            await self._on_call(raw, frame, started, reply=kind == CALL)
        elif kind in (CALLRESULT, CALLERROR) or (
            kind == CALLRESULTERROR and self.version is Version.V21
        ):
            self._on_response(raw, frame)
        else:
            self._log("in", raw, message_type=kind, error="unknown message type")
            message_id = frame[1] if isinstance(frame[1], str) else "-1"
            await self._send_error(
                message_id, "MessageTypeNotSupported", f"MessageTypeId {kind} is not supported"
            )

    async def _on_call(self, raw: str, frame: list[Any], started: float, *, reply: bool) -> None:
        message_id, action = frame[1], frame[2]
        if not isinstance(message_id, str) or not message_id or len(message_id) > MAX_MESSAGE_ID:
            self._log("in", raw, message_type=frame[0], error="bad message id")
            await self._send_error("-1", "RpcFrameworkError", "MessageId must be a string of 1-36")
            return
        self._log("in", raw, message_type=frame[0], message_id=message_id, action=str(action))
        if not isinstance(action, str) or len(frame) != 4:
            await self._send_error(
                message_id, "RpcFrameworkError", "A CALL is [2, MessageId, Action, Payload]"
            )
            return
        payload = frame[3]
        try:
            response = await self._handle(action, payload, message_id)
        except OCPPError as exc:
            if reply:
                await self._send_error(
                    message_id,
                    exc.code,
                    exc.description,
                    _plain(exc.details),
                    action=action,
                    started=started,
                )
            return
        except Exception:
            log.exception(
                "ocpp handler failed",
                extra={"station_id": self.ctx.station.station_id, "action": action},
            )
            if reply:
                await self._send_error(
                    message_id,
                    "InternalError",
                    "The CSMS could not handle the message",
                    action=action,
                    started=started,
                )
            return
        if reply:
            out = json.dumps([CALLRESULT, message_id, response], separators=(",", ":"))
            await self._send(
                out,
                message_type=CALLRESULT,
                message_id=message_id,
                action=action,
                latency_ms=(time.perf_counter() - started) * 1000,
            )

    async def _handle(self, action: str, payload: Any, message_id: str) -> dict[str, Any]:
        if action not in self.handlers:
            if action in _KNOWN_ACTIONS[self.version]:
                raise NotSupportedError(description=f"{action} is not sent by a station")
            raise OcppNotImplemented(
                description=f"{action} is not an OCPP {self.version.library} action"
            )
        if not isinstance(payload, dict):
            raise FormatViolationError(description="Payload must be a JSON object")
        self.ctx.require_accepted(action)
        call = Call(message_id, action, payload)
        validate_call(call, self.version.library)
        response = await self.handlers[action](self.ctx, call.payload)
        if self.validate_responses and action != "NotifyPeriodicEventStream":
            result = CallResult(message_id, response, action)
            validate_call(result, self.version.library)
        return response

    def _on_response(self, raw: str, frame: list[Any]) -> None:
        message_id = frame[1] if isinstance(frame[1], str) else None
        sent = self._outgoing_sent.pop(message_id, None) if message_id else None
        latency = (time.perf_counter() - sent) * 1000 if sent is not None else None
        future = self._pending.pop(message_id, None) if message_id else None
        is_error = frame[0] != CALLRESULT
        self._log(
            "in",
            raw,
            message_type=frame[0],
            message_id=message_id,
            latency_ms=latency,
            error=str(frame[2]) if is_error and len(frame) > 2 else None,
        )
        if future is None or future.done():
            log.warning(
                "ocpp response to no pending call",
                extra={"station_id": self.ctx.station.station_id, "message_id": message_id},
            )
            return
        if is_error:
            future.set_result(
                CallOutcome(
                    ok=False,
                    payload=frame[4] if len(frame) > 4 and isinstance(frame[4], dict) else {},
                    error_code=str(frame[2]) if len(frame) > 2 else "GenericError",
                    error_description=str(frame[3]) if len(frame) > 3 else "",
                )
            )
        else:
            payload = frame[2] if isinstance(frame[2], dict) else {}
            future.set_result(CallOutcome(ok=True, payload=payload))

    # -- platform -> station ---------------------------------------------------------------
    async def call(self, action: str, payload: dict[str, Any], *, wait: float) -> CallOutcome:
        """Send a CALL and wait up to ``wait`` seconds for its answer.

        One call at a time per station, as OCPP requires; the payload is validated against
        the station's protocol version first (ValueError when invalid).
        """
        message_id = str(uuid.uuid4())
        call = Call(message_id, action, payload)
        try:
            validate_call(call, self.version.library)
        except OCPPError as exc:
            raise ValueError(
                f"{action} payload is not valid OCPP {self.version.library}: {_cause(exc)}"
            ) from exc
        async with asyncio.timeout(wait):
            async with self._call_lock:
                future: asyncio.Future[CallOutcome] = asyncio.get_running_loop().create_future()
                self._pending[message_id] = future
                # The payload as given: validation may have replaced call.payload with a copy
                # whose numbers are Decimals (1.6 charging profiles), which json cannot write.
                raw = json.dumps([CALL, message_id, action, payload], separators=(",", ":"))
                hidden = redact(action, payload)
                logged = (
                    json.dumps([CALL, message_id, action, hidden], separators=(",", ":"))
                    if hidden is not None
                    else raw
                )
                self._outgoing_sent[message_id] = time.perf_counter()
                try:
                    self._log(
                        "out", logged, message_type=CALL, message_id=message_id, action=action
                    )
                    await self.ws.send(raw)
                    outcome = await future
                finally:
                    self._pending.pop(message_id, None)
                    self._outgoing_sent.pop(message_id, None)
        if outcome.ok:
            try:
                validate_call(CallResult(message_id, outcome.payload, action), self.version.library)
            except OCPPError as exc:
                return CallOutcome(
                    ok=False,
                    payload=outcome.payload,
                    error_code="InvalidResponse",
                    error_description=_cause(exc),
                )
        return outcome

    def fail_pending(self, reason: str) -> None:
        """The socket is gone: every waiting call ends now."""
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError(reason))
        self._pending.clear()


def _cause(exc: OCPPError) -> str:
    details = exc.details if isinstance(exc.details, dict) else {}
    return str(details.get("cause") or exc.description)


def _plain(details: Any) -> dict[str, Any]:
    """CALLERROR details without the echo of the offending message."""
    if not isinstance(details, dict):
        return {}
    return {k: v for k, v in details.items() if k != "ocpp_message" and isinstance(v, str | int)}


def _peek_id(raw: str) -> str:
    """The MessageId of an oversized frame without parsing all of it."""
    head = raw[:100]
    try:
        start = head.index('"') + 1
        end = head.index('"', start)
    except ValueError:
        return "-1"
    candidate = head[start:end]
    return candidate if 0 < len(candidate) <= MAX_MESSAGE_ID else "-1"


_KNOWN_ACTIONS = {
    Version.V16: frozenset(a.value for a in ocpp.v16.enums.Action) | STATION_ACTIONS[Version.V16],
    Version.V201: frozenset(a.value for a in ocpp.v201.enums.Action)
    | STATION_ACTIONS[Version.V201],
    Version.V21: frozenset(a.value for a in ocpp.v21.enums.Action) | STATION_ACTIONS[Version.V21],
}
