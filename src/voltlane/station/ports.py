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


class UnsupportedCommandError(ValueError):
    """The station's protocol version cannot express the command, or its payload is invalid."""


class CommandTranslator(Protocol):
    """Turns commands into a protocol version's OCPP action and payload (the gateway does)."""

    def translate(self, protocol: str, command: object) -> tuple[str, dict[str, Any]]: ...

    def validate(self, protocol: str, action: str, payload: dict[str, Any]) -> None: ...

    def redact(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """``payload`` with its secrets replaced, or None when it holds none."""
        ...


_translator: CommandTranslator | None = None


def set_translator(translator: CommandTranslator | None) -> None:
    global _translator  # noqa: PLW0603 - wired once by the composition root
    _translator = translator


def get_translator() -> CommandTranslator:
    if _translator is None:
        raise RuntimeError("no CommandTranslator wired: app.py sets it at start")
    return _translator
