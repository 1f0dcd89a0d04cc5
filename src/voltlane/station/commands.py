"""The command path: a command row, a notification to the node holding the station, a wait.

The caller always gets a definite result within ``deadline_seconds`` (+ a short grace): the node
answers, or the deadline passes and the command is closed as ``timeout``. A command is
never sent after its deadline, so nothing is re-executed blindly after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.core.notify import NotificationHub, notify
from voltlane.core.sealing import seal
from voltlane.core.text import N_
from voltlane.models.platform import GatewayNode, StationPresence
from voltlane.models.tenant import ChargingStation, CommandStatus, StationCommand
from voltlane.station.errors import StationNotFoundError
from voltlane.station.ports import CommandResult, get_translator

COMMANDS_CHANNEL = "voltlane_commands"
RESULTS_CHANNEL = "voltlane_command_results"
# A node whose heartbeat is older than this is gone; its stations count as offline.
NODE_STALE_AFTER = timedelta(seconds=30)
# How long past the deadline the caller waits for the node to close the command itself.
GRACE = 2.0
POLL = 0.5
MAX_DEADLINE = 300.0


def _result(command: StationCommand) -> CommandResult:
    return CommandResult(command.id, command.status, command.response, command.error)


class DatabaseStationCommands:
    """``StationCommands`` over PostgreSQL: rows + LISTEN/NOTIFY, across processes."""

    def __init__(self, database: Database, hub: NotificationHub, *, secret_key: str) -> None:
        self.database = database
        self.hub = hub
        self.secret_key = secret_key

    async def send(
        self,
        tenant_key: str,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        deadline_seconds: float = 30.0,
        requested_by: str | None = None,
    ) -> CommandResult:
        deadline_seconds = min(max(deadline_seconds, 1.0), MAX_DEADLINE)
        async with self.hub.subscribe(RESULTS_CHANNEL) as results:
            command = await self._create(
                tenant_key,
                station_id,
                action,
                payload,
                deadline_seconds=deadline_seconds,
                requested_by=requested_by,
            )
            if command.status.final:
                return _result(command)
            return await self._wait(tenant_key, command.id, results, deadline_seconds + GRACE)

    async def _create(
        self,
        tenant_key: str,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        deadline_seconds: float,
        requested_by: str | None,
    ) -> StationCommand:
        now = utcnow()
        async with self.database.platform_session() as platform:
            node = await platform.scalar(
                select(StationPresence.node_id)
                .join(GatewayNode, GatewayNode.node_id == StationPresence.node_id)
                .where(
                    StationPresence.tenant_key == tenant_key,
                    StationPresence.station_id == station_id,
                    GatewayNode.heartbeat_at > now - NODE_STALE_AFTER,
                )
            )
        async with self.database.tenant_transaction(tenant_key) as db_session:
            station_pk = await db_session.scalar(
                select(ChargingStation.id).where(ChargingStation.station_id == station_id)
            )
            if station_pk is None:
                raise StationNotFoundError(
                    N_("No station %(station)s.", station=station_id), field="station_id"
                )
            redacted = get_translator().redact(action, payload)
            command = StationCommand(
                id=uuid.uuid4(),
                charging_station_id=station_pk,
                station_id=station_id,
                action=action,
                payload=redacted if redacted is not None else payload,
                sealed_payload=(
                    seal(self.secret_key, json.dumps(payload).encode())
                    if redacted is not None
                    else None
                ),
                requested_by=requested_by,
                deadline_at=now + timedelta(seconds=deadline_seconds),
            )
            if node is None:
                command.status = CommandStatus.OFFLINE
                command.error = N_("The station is not connected.")
                command.completed_at = now
            db_session.add(command)
            await db_session.flush()
            if node is not None:
                await notify(
                    db_session,
                    COMMANDS_CHANNEL,
                    {"tenant": tenant_key, "command": str(command.id), "station": station_id},
                )
        return command

    async def _wait(
        self,
        tenant_key: str,
        command_id: uuid.UUID,
        results: asyncio.Queue[dict[str, Any]],
        wait_for: float,
    ) -> CommandResult:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + wait_for
        while True:
            current = await self._load(tenant_key, command_id)
            if current.status.final:
                return _result(current)
            remaining = give_up - loop.time()
            if remaining <= 0:
                return await self._expire(tenant_key, command_id)
            with contextlib.suppress(TimeoutError):
                # Woken by the node's notification, or poll in case it was missed.
                while True:
                    note = await asyncio.wait_for(results.get(), min(POLL, remaining))
                    if note.get("command") == str(command_id):
                        break

    async def _load(self, tenant_key: str, command_id: uuid.UUID) -> StationCommand:
        async with self.database.tenant_session(tenant_key) as db_session:
            command = await db_session.get(StationCommand, command_id)
        if command is None:
            raise LookupError(f"command {command_id} disappeared")
        return command

    async def _expire(self, tenant_key: str, command_id: uuid.UUID) -> CommandResult:
        """Close a command nobody answered; a node's late answer can no longer change it."""
        async with self.database.tenant_transaction(tenant_key) as db_session:
            await db_session.execute(
                update(StationCommand)
                .where(
                    StationCommand.id == command_id,
                    StationCommand.status.in_([CommandStatus.PENDING, CommandStatus.SENT]),
                )
                .values(
                    status=CommandStatus.TIMEOUT,
                    error=N_("No answer from the station before the deadline."),
                    completed_at=utcnow(),
                )
            )
        return _result(await self._load(tenant_key, command_id))
