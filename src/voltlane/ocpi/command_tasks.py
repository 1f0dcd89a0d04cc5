"""The job that carries an accepted OCPI command to the charger and owes the eMSP its
CommandResult (mod_commands.asciidoc CommandResultType), POSTed to the command's
response_url through the push outbox."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.core.notify import NotificationHub
from voltlane.models.tenant import CommandStatus, OcpiCommand
from voltlane.ocpi import checks
from voltlane.ocpi.commands import (
    DEADLINE_SECONDS,
    RESPONSE_TIMEOUT,
    RUN_COMMAND,
    Refused,
    Target,
    check_command,
    remote_start_id,
    reservation_number,
)
from voltlane.ocpi.envelope import OcpiError
from voltlane.ocpi.pushes import queue_push
from voltlane.station import typed_commands as tc
from voltlane.station.commands import RESULTS_CHANNEL, DatabaseStationCommands
from voltlane.station.ports import (
    CommandResult,
    StationCommands,
    UnsupportedCommandError,
    get_translator,
)
from voltlane.worker import JobContext, task

log = logging.getLogger(__name__)

REQUESTED_BY = "ocpi"
# The charger's own answer (the reply's status field) in the eMSP's words.
_RESULT_OF_STATUS = {
    "Accepted": "ACCEPTED",
    "Unlocked": "ACCEPTED",
    "Occupied": "EVSE_OCCUPIED",
    "OngoingAuthorizedTransaction": "EVSE_OCCUPIED",
    "Faulted": "EVSE_INOPERATIVE",
    "Unavailable": "EVSE_INOPERATIVE",
    "UnlockFailed": "FAILED",
    "UnknownConnector": "FAILED",
    "NotSupported": "NOT_SUPPORTED",
    "Rejected": "REJECTED",
}
# A command still without a result this long after it was accepted is owed FAILED: by then
# the timeout we promised has passed and its job (time limit 180 s) cannot be running.
RESULT_OWED_AFTER = timedelta(seconds=RESPONSE_TIMEOUT) + timedelta(minutes=2)
OVERDUE_BATCH = 100
# OCPI TokenType -> the OCPP IdTokenType the charger is given.
_OCPP_TOKEN_TYPE = {"RFID": "ISO14443"}


def command_result(command: str, result: CommandResult) -> str:
    """CommandResultType of what the command path reported."""
    if result.status is CommandStatus.TIMEOUT:
        return "TIMEOUT"
    if result.status is CommandStatus.OFFLINE:
        return "EVSE_INOPERATIVE"
    status = (result.response or {}).get("status")
    if command == "CANCEL_RESERVATION" and status == "Rejected":
        return "UNKNOWN_RESERVATION"
    if isinstance(status, str) and status in _RESULT_OF_STATUS:
        return _RESULT_OF_STATUS[status]
    return "ACCEPTED" if result.status is CommandStatus.ACCEPTED else "FAILED"


def typed_command(row: OcpiCommand, target: Target) -> object:
    """The version-neutral station command of an OCPI command."""
    body: dict[str, Any] = row.request
    match row.command:
        case "START_SESSION":
            token = body["token"]
            return tc.RemoteStart(
                id_token=token["uid"],
                id_token_type=_OCPP_TOKEN_TYPE.get(token["type"], "Central"),
                evse_id=target.evse_id,
                remote_start_id=remote_start_id(row.id),
            )
        case "STOP_SESSION":
            return tc.RemoteStop(transaction_id=target.transaction_id or "")
        case "RESERVE_NOW":
            token = body["token"]
            return tc.ReserveNow(
                reservation_id=reservation_number(row.partner_id, body["reservation_id"]),
                expires_at=checks.date_time(body, "expiry_date") or utcnow(),
                id_token=token["uid"],
                evse_id=target.evse_id,
                id_token_type=_OCPP_TOKEN_TYPE.get(token["type"], "Central"),
            )
        case "CANCEL_RESERVATION":
            return tc.CancelReservation(
                reservation_id=reservation_number(row.partner_id, body["reservation_id"])
            )
        case _:
            return tc.UnlockConnector(
                evse_id=target.evse_id or 1, connector_id=target.connector_id or 1
            )


async def run_command(
    database: Database, commands: StationCommands, tenant_key: str, command_id: uuid.UUID
) -> str | None:
    """Send the command to its charger and queue its CommandResult; the result, or None
    when the command had one already (a repeated job changes nothing)."""
    async with database.tenant_transaction(tenant_key) as db_session:
        row = await db_session.get(OcpiCommand, command_id)
        if row is None or row.result is not None:
            return None
        target: Target | None = None
        try:
            target = await check_command(db_session, row.partner_id, row.command, row.request)
            station_command = typed_command(row, target)
            action, payload = get_translator().translate(target.protocol or "", station_command)
            result = ""
        except (Refused, OcpiError):
            # The session ended or the EVSE went away since the command was accepted.
            result = "REJECTED"
        except UnsupportedCommandError:
            result = "NOT_SUPPORTED"
    station_command_id: uuid.UUID | None = None
    if target is not None and not result:
        sent = await commands.send(
            tenant_key,
            target.station_id,
            action,
            payload,
            deadline_seconds=DEADLINE_SECONDS,
            requested_by=REQUESTED_BY,
        )
        result, station_command_id = command_result(row.command, sent), sent.command_id
    async with database.tenant_transaction(tenant_key) as db_session:
        row = await db_session.get(OcpiCommand, command_id, with_for_update=True)
        if row is None or row.result is not None:
            return None
        row.station_command_id = station_command_id
        await _send_result(db_session, tenant_key, row, result)
    log.info("ocpi command done", extra={"ocpi_command": str(command_id), "result": result})
    return result


async def _send_result(
    db_session: AsyncSession, tenant_key: str, row: OcpiCommand, result: str
) -> None:
    """Record the command's CommandResult and queue its POST to the eMSP's response_url."""
    row.result = result
    row.result_sent_at = utcnow()
    await queue_push(
        db_session,
        tenant_key,
        partner_id=row.partner_id,
        module="commands",
        object_id=str(row.id),
        method="POST",
        path=row.response_url,
        body={"result": result},
        to_party=(
            (row.from_country_code, row.from_party_id)
            if row.from_country_code and row.from_party_id
            else None
        ),
    )


async def fail_overdue_commands(
    db_session: AsyncSession, tenant_key: str, *, now: datetime | None = None
) -> int:
    """Commands accepted long ago whose job never reported (it raised, or was lost): the
    eMSP is sent CommandResult FAILED, once (the result column is set under the row lock
    that ``run_command`` takes too). How many were failed."""
    before = (now or utcnow()) - RESULT_OWED_AFTER
    overdue = (
        await db_session.scalars(
            select(OcpiCommand)
            .where(
                OcpiCommand.module == "commands",
                OcpiCommand.response == "ACCEPTED",
                OcpiCommand.result.is_(None),
                OcpiCommand.created_at < before,
            )
            .order_by(OcpiCommand.created_at, OcpiCommand.id)
            .limit(OVERDUE_BATCH)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for row in overdue:
        await _send_result(db_session, tenant_key, row, "FAILED")
        log.warning(
            "ocpi command without a result: FAILED sent",
            extra={"ocpi_command": str(row.id), "command": row.command},
        )
    return len(overdue)


@task(RUN_COMMAND, queue="ocpi", max_retries=0, time_limit_ms=180_000)
async def run_command_job(jobs: JobContext, *, tenant: str, command_id: str) -> None:
    """An accepted OCPI command, through the command path (its own LISTEN for results)."""
    hub = NotificationHub(jobs.database.url)
    await hub.start([RESULTS_CHANNEL])
    try:
        commands = DatabaseStationCommands(jobs.database, hub, secret_key=jobs.settings.secret_key)
        await run_command(jobs.database, commands, tenant, uuid.UUID(command_id))
    finally:
        await hub.stop()
