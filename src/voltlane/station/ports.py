"""The command path as other domains see it (DESIGN.md section 5)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from voltlane.models.tenant import CommandStatus


@dataclass(frozen=True, slots=True)
class CommandResult:
    """A definite answer: accepted, rejected, timeout or offline (never 'still waiting')."""

    command_id: uuid.UUID
    status: CommandStatus
    response: dict[str, Any] | None
    error: str | None


class StationCommands(Protocol):
    """Ask the station ``station_id`` of brand ``tenant_key`` to perform an OCPP action."""

    async def send(
        self,
        tenant_key: str,
        station_id: str,
        action: str,
        payload: dict[str, Any],
        *,
        deadline_seconds: float = 30.0,
        requested_by: str | None = None,
    ) -> CommandResult: ...
