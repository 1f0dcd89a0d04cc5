"""Ports of the station domain: the command path as other domains see it (DESIGN.md
section 5), and who hears of changes to locations."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.db import Database
from voltlane.core.group_commit import Statement
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


class LocationChanges(Protocol):
    """Who must hear of changes to the brand's locations beyond this platform (roaming
    partners); the OCPI layer implements it and the composition roots wire it."""

    async def status_writes(
        self, database: Database, tenant_key: str, report: dict[str, Any]
    ) -> list[tuple[Statement, list[dict[str, Any]]]]:
        """Writes that tell of one status report (``report`` keyed as the connectors' status
        update reads it). They run in the transaction of the report, before that update,
        so they see the status the report replaces."""
        ...

    async def locations_changed(
        self,
        db_session: AsyncSession,
        location_ids: Iterable[uuid.UUID | None],
        *,
        withdrawn: Iterable[uuid.UUID] = (),
    ) -> None:
        """Staff changed these locations (or their stations, EVSEs, connectors) within
        ``db_session``'s transaction, which is flushed; ``withdrawn`` ones were published
        until this change."""
        ...


class _NobodyToTell:
    async def status_writes(
        self, database: Database, tenant_key: str, report: dict[str, Any]
    ) -> list[tuple[Statement, list[dict[str, Any]]]]:
        del database, tenant_key, report
        return []

    async def locations_changed(
        self,
        db_session: AsyncSession,
        location_ids: Iterable[uuid.UUID | None],
        *,
        withdrawn: Iterable[uuid.UUID] = (),
    ) -> None:
        del db_session, location_ids, withdrawn


_location_changes: LocationChanges = _NobodyToTell()


def set_location_changes(changes: LocationChanges | None) -> None:
    """Wire who hears of location changes (None: nobody)."""
    global _location_changes  # noqa: PLW0603 - wired once by the composition root
    _location_changes = _NobodyToTell() if changes is None else changes


def location_changes() -> LocationChanges:
    return _location_changes
