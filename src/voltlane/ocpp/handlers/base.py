"""What every handler gets, and the helpers the versions share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ocpp.exceptions import FormatViolationError, SecurityError

from voltlane.charging.schemas import StationRef
from voltlane.core.clock import iso_utc, utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import RegistrationStatus
from voltlane.ocpp.protocol import Version
from voltlane.station import operations
from voltlane.tenancy import TenantInfo

Payload = dict[str, Any]
Handler = Callable[["HandlerContext", Payload], Awaitable[Payload]]
Handlers = dict[str, Handler]

# Accepted by the spec from a station that is not (yet) Accepted.
ALLOWED_BEFORE_ACCEPTED = frozenset({"BootNotification", "Heartbeat"})


@dataclass(slots=True)
class HandlerContext:
    """One connected station, as its handlers see it."""

    database: Database
    tenant: TenantInfo
    station: StationRef
    version: Version
    registration: RegistrationStatus
    heartbeat_interval: int
    boot_retry_interval: int

    def require_accepted(self, action: str) -> None:
        if self.registration is not RegistrationStatus.ACCEPTED and (
            action not in ALLOWED_BEFORE_ACCEPTED
        ):
            raise SecurityError(
                description=f"{action} refused: the station is {self.registration.value}"
            )


def decimal(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise FormatViolationError(details={"cause": f"{field} is not a number"}) from exc


async def record(
    ctx: HandlerContext, *, kind: str, action: str, payload: Payload, at: datetime | None = None
) -> None:
    """Keep a notification as it came, in its own committed transaction."""
    async with ctx.database.tenant_transaction(ctx.tenant.key) as db_session:
        await operations.record_event(
            db_session, ctx.station.pk, kind=kind, action=action, at=at, payload=payload
        )


def recorder(kind: str, action: str, response: Payload | None = None) -> Handler:
    """A handler that keeps the notification and answers with ``response`` (default {})."""

    async def handle(ctx: HandlerContext, payload: Payload) -> Payload:
        await record(ctx, kind=kind, action=action, payload=payload)
        return dict(response or {})

    return handle


async def heartbeat(ctx: HandlerContext, payload: Payload) -> Payload:
    """Heartbeat: the current time; presence is kept by the connection itself."""
    del ctx, payload
    return {"currentTime": iso_utc(utcnow())}
