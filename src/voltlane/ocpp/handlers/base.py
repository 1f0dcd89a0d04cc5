"""What every handler gets, and the helpers the versions share."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from ocpp.exceptions import FormatViolationError, SecurityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from voltlane.charging.live import LiveSession, LiveSessions, meter_writes
from voltlane.charging.schemas import Sample, StationRef
from voltlane.core.clock import iso_utc, utcnow
from voltlane.core.db import Database
from voltlane.core.group_commit import GroupCommit
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
    group: GroupCommit
    live: LiveSessions
    autocommit: async_sessionmaker[AsyncSession]

    def require_accepted(self, action: str) -> None:
        if self.registration is not RegistrationStatus.ACCEPTED and (
            action not in ALLOWED_BEFORE_ACCEPTED
        ):
            raise SecurityError(
                description=f"{action} refused: the station is {self.registration.value}"
            )


def autocommit_sessions(database: Database, tenant_key: str) -> async_sessionmaker[AsyncSession]:
    """Sessions of one brand in which every statement commits on its own."""
    return async_sessionmaker(
        database.tenant_engine(tenant_key).execution_options(isolation_level="AUTOCOMMIT"),
        expire_on_commit=False,
        info={"tenant_key": tenant_key, "database": database},
    )


@asynccontextmanager
async def statements(ctx: HandlerContext) -> AsyncIterator[AsyncSession]:
    """A session for a message whose effect is one statement: no BEGIN and COMMIT round
    trips, and the effect is durable (so the reply may go) once the statement returns."""
    async with ctx.autocommit() as db_session:
        yield db_session


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


async def record_status_batched(
    ctx: HandlerContext,
    *,
    evse_id: int,
    connector_id: int,
    status: str,
    at: datetime,
    error_code: str | None,
    payload: Payload,
) -> None:
    """A StatusNotification through the brand's group commit (answered once durable)."""
    await ctx.group.write(
        await operations.status_writes(
            ctx.database,
            ctx.tenant.key,
            ctx.station.pk,
            evse_id=evse_id,
            connector_id=connector_id,
            status=status,
            at=at,
            error_code=error_code,
            payload=payload,
        )
    )


async def live_session(ctx: HandlerContext, transaction_id: str) -> LiveSession | None:
    """The active session of ``transaction_id``, from memory when held (None: unknown or
    finished)."""
    live = ctx.live.held(transaction_id)
    if live is None:
        async with ctx.database.tenant_session(ctx.tenant.key) as db_session:
            live = await ctx.live.get(db_session, transaction_id)
    return live


async def live_meter_values(ctx: HandlerContext, transaction_id: str, parsed: list[Sample]) -> bool:
    """Store samples of a session this connection holds live; False when it holds none
    (unknown or finished transaction: the caller takes the full path)."""
    live = await live_session(ctx, transaction_id)
    if live is None:
        return False
    writes, change = meter_writes(ctx.station, live, parsed)
    await ctx.group.write(writes)
    change.apply()
    return True


async def heartbeat(ctx: HandlerContext, payload: Payload) -> Payload:
    """Heartbeat: the current time; presence is kept by the connection itself."""
    del ctx, payload
    return {"currentTime": iso_utc(utcnow())}
