"""Commands module, receiver interface (mod_commands.asciidoc): an eMSP asks this CPO to
start or stop a session, reserve, cancel a reservation or unlock a connector.

``POST /ocpi/2.2.1/commands/{command}`` is answered at once with a CommandResponse (did we
understand it and can we send it to the charger); the command itself then goes through
the command path in the job ``ocpi.run_command`` (command_tasks), and its CommandResult
is POSTed to the eMSP's ``response_url`` through the push outbox. Every request is kept as
an ``ocpi_commands`` row of the calling partner.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.models.tenant import (
    ChargingSession,
    ChargingStation,
    Connector,
    Evse,
    Location,
    OcpiCommand,
    OcpiToken,
    SessionStatus,
)
from voltlane.ocpi import checks
from voltlane.ocpi.auth import OcpiCaller, provide_ocpi_caller
from voltlane.ocpi.envelope import OcpiError, invalid, ocpi_response
from voltlane.ocpi.protocol import VERSION_PATH, Status
from voltlane.ocpi.tokens import token_values, upsert_token
from voltlane.station.published import evse_roams
from voltlane.worker import enqueue

COMMANDS_PATH = f"{VERSION_PATH}/commands"
RUN_COMMAND = "ocpi.run_command"
COMMAND_TYPES = (
    "CANCEL_RESERVATION",
    "RESERVE_NOW",
    "START_SESSION",
    "STOP_SESSION",
    "UNLOCK_CONNECTOR",
)
# How long the command path waits for the charger, and what we promise the eMSP (the
# job may wait in the queue a little first).
DEADLINE_SECONDS = 30.0
RESPONSE_TIMEOUT = 60


def remote_start_id(command_id: uuid.UUID) -> int:
    """The remoteStartId a START_SESSION gives the charger; the session it starts keeps
    it, which is how its Session and CDR say auth_method COMMAND."""
    return command_id.int % 2**31


@dataclass(frozen=True, slots=True)
class Target:
    """The charger (and EVSE, connector) a command is for."""

    station_pk: uuid.UUID
    station_id: str
    protocol: str | None
    evse_id: int | None = None
    connector_id: int | None = None
    transaction_id: str | None = None


class Refused(Exception):  # noqa: N818 - a CommandResponseType, not a failure
    """The command is understood but not sent: the CommandResponseType to answer."""

    def __init__(self, result: str, message: str) -> None:
        super().__init__(message)
        self.result = result
        self.message = message


def reservation_number(partner_id: uuid.UUID, reservation_id: str) -> int:
    """The OCPP reservationId for an eMSP's reservation_id: the same for the same partner
    and id (a replaced or cancelled reservation), and never taken from the eMSP as is, so
    one eMSP cannot touch another's reservation."""
    return zlib.crc32(f"{partner_id}/{reservation_id.upper()}".encode()) & 0x7FFFFFFF


def _uuid(value: str, message: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise OcpiError(Status.UNKNOWN_LOCATION, message) from None


async def resolve_target(
    db_session: AsyncSession, body: Mapping[str, Any], *, evse_required: bool, connector: bool
) -> Target:
    """The published location's charger named by location_id / evse_uid / connector_id
    (the ids the locations module publishes); 2003 when any of them is unknown."""
    location_id = checks.required_str(checks.ci_string(body, "location_id", 36))
    evse_uid = checks.ci_string(body, "evse_uid", 36, required=evse_required)
    connector_id = checks.ci_string(body, "connector_id", 36, required=evse_required and connector)
    if connector_id is not None and evse_uid is None:
        raise invalid("evse_uid is required when connector_id is set")
    unknown = f"Unknown location {location_id}."
    location = await db_session.get(Location, _uuid(location_id, unknown))
    if location is None or not location.publish:
        raise OcpiError(Status.UNKNOWN_LOCATION, unknown)
    if evse_uid is None:
        stations = (
            await db_session.execute(
                select(ChargingStation.id, ChargingStation.station_id, ChargingStation.protocol)
                .where(ChargingStation.location_id == location.id)
                .order_by(ChargingStation.station_id)
            )
        ).all()
        if len(stations) != 1:
            raise Refused("REJECTED", "Name the EVSE (evse_uid): the location has several.")
        return Target(stations[0][0], stations[0][1], stations[0][2])
    unknown_evse = f"Unknown EVSE {evse_uid} at location {location_id}."
    found = (
        await db_session.execute(
            select(Evse.id, Evse.evse_id, ChargingStation)
            .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
            .where(
                Evse.id == _uuid(evse_uid, unknown_evse),
                ChargingStation.location_id == location.id,
                # An EVSE without an eMI3 id is not published (location_mapping.evse_object).
                evse_roams(),
            )
        )
    ).first()
    if found is None:
        raise OcpiError(Status.UNKNOWN_LOCATION, unknown_evse)
    evse_pk, evse_id, station = found
    number: int | None = None
    if connector_id is not None:
        number = int(connector_id) if connector_id.isdigit() else None
        exists = await db_session.scalar(
            select(Connector.id).where(
                Connector.evse_pk == evse_pk, Connector.connector_id == number
            )
        )
        if exists is None:
            raise OcpiError(Status.UNKNOWN_LOCATION, f"Unknown connector {connector_id}.")
    return Target(station.id, station.station_id, station.protocol, evse_id, number)


async def session_target(
    db_session: AsyncSession,
    partner_id: uuid.UUID,
    session_id: str,
    parties: frozenset[tuple[str, str]] | None = None,
) -> Target:
    """The charger of one of the partner's active sessions, of one of ``parties`` when
    given (UNKNOWN_SESSION otherwise: another partner's or party's session is not known to
    this one)."""
    try:
        key = uuid.UUID(session_id)
    except ValueError:
        raise Refused("UNKNOWN_SESSION", f"Unknown session {session_id}.") from None
    row = (
        await db_session.execute(
            select(ChargingSession, ChargingStation, OcpiToken)
            .join(ChargingStation, ChargingStation.id == ChargingSession.charging_station_id)
            .join(OcpiToken, OcpiToken.id == ChargingSession.roaming_token_id)
            .where(ChargingSession.id == key, OcpiToken.partner_id == partner_id)
        )
    ).first()
    if row is None:
        raise Refused("UNKNOWN_SESSION", f"Unknown session {session_id}.")
    session, station, token = row
    if parties is not None and (token.country_code, token.party_id) not in parties:
        raise Refused("UNKNOWN_SESSION", f"Unknown session {session_id}.")
    if session.status is not SessionStatus.ACTIVE:
        raise Refused("REJECTED", f"Session {session_id} has ended.")
    return Target(
        station.id,
        station.station_id,
        station.protocol,
        session.evse_id,
        transaction_id=session.transaction_id,
    )


async def check_command(
    db_session: AsyncSession,
    partner_id: uuid.UUID,
    command: str,
    body: Mapping[str, Any],
    parties: frozenset[tuple[str, str]] | None = None,
) -> Target:
    """Every field of the command's object checked (2001 naming it) and its target found
    (a session of one of ``parties``, when given)."""
    match command:
        case "START_SESSION":
            checks.ci_string(body, "authorization_reference", 36, required=False)
            token_values(checks.body_object(body.get("token"), "token"), prefix="token.")
            return await resolve_target(db_session, body, evse_required=False, connector=True)
        case "STOP_SESSION":
            session_id = checks.required_str(checks.ci_string(body, "session_id", 36))
            return await session_target(db_session, partner_id, session_id, parties)
        case "RESERVE_NOW":
            checks.ci_string(body, "reservation_id", 36)
            checks.ci_string(body, "authorization_reference", 36, required=False)
            checks.date_time(body, "expiry_date")
            token_values(checks.body_object(body.get("token"), "token"), prefix="token.")
            return await resolve_target(db_session, body, evse_required=False, connector=False)
        case "CANCEL_RESERVATION":
            checks.ci_string(body, "reservation_id", 36)
            return await _reservation_target(db_session, partner_id, body, parties)
        case _:  # UNLOCK_CONNECTOR
            return await resolve_target(db_session, body, evse_required=True, connector=True)


async def _reservation_target(
    db_session: AsyncSession,
    partner_id: uuid.UUID,
    body: Mapping[str, Any],
    parties: frozenset[tuple[str, str]] | None,
) -> Target:
    """The charger of the partner's accepted RESERVE_NOW with this reservation_id (for a
    token of one of ``parties``, when given)."""
    reservation_id = str(body["reservation_id"]).upper()
    reservations = (
        await db_session.scalars(
            select(OcpiCommand)
            .where(
                OcpiCommand.partner_id == partner_id,
                OcpiCommand.command == "RESERVE_NOW",
                OcpiCommand.response == "ACCEPTED",
            )
            .order_by(OcpiCommand.created_at.desc())
        )
    ).all()
    for reservation in reservations:
        token = reservation.request.get("token") or {}
        if parties is not None and (token.get("country_code"), token.get("party_id")) not in (
            parties
        ):
            continue
        if str(reservation.request.get("reservation_id", "")).upper() == reservation_id:
            return await resolve_target(
                db_session, reservation.request, evse_required=False, connector=False
            )
    raise Refused("REJECTED", f"Unknown reservation {body['reservation_id']}.")


async def _own_token(db_session: AsyncSession, caller: OcpiCaller, body: Mapping[str, Any]) -> None:
    """A START_SESSION / RESERVE_NOW token must be of a party the request acts for (its
    sender's, through a hub); it is kept so that the session it starts is the partner's
    (roaming, with its reference)."""
    values = token_values(checks.body_object(body.get("token"), "token"), prefix="token.")
    if (values["country_code"], values["party_id"]) not in caller.parties:
        raise Refused("REJECTED", "The token is not one of this eMSP's.")
    try:
        await upsert_token(db_session, caller.partner_id, values)
    except OcpiError:
        raise Refused("REJECTED", "The token belongs to another connection.") from None


def command_response(result: str, message: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"result": result, "timeout": RESPONSE_TIMEOUT}
    if message:
        body["message"] = [{"language": "en", "text": message[:512]}]
    return body


@post(COMMANDS_PATH + "/{command:str}", include_in_schema=False, status_code=200)
async def receive_command(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    *,
    command: FromPath[str],
    data: JSONBody[Any],
) -> Response[Any]:
    caller = provide_ocpi_caller(request)
    if command not in COMMAND_TYPES:
        raise invalid(f"command must be one of {', '.join(COMMAND_TYPES)}")
    body = checks.body_object(data)
    response_url = checks.url(body, "response_url")
    try:
        await check_command(db_session, caller.partner_id, command, body, caller.parties)
        if command in ("START_SESSION", "RESERVE_NOW"):
            await _own_token(db_session, caller, body)
        result, message = "ACCEPTED", None
    except Refused as refused:
        result, message = refused.result, refused.message
    row = OcpiCommand(
        partner_id=caller.partner_id,
        module="commands",
        command=command,
        request=dict(body),
        response_url=response_url,
        from_country_code=caller.sender[0] if caller.sender else None,
        from_party_id=caller.sender[1] if caller.sender else None,
        response=result,
        created_at=utcnow(),
    )
    db_session.add(row)
    await db_session.flush()
    if result == "ACCEPTED":
        enqueue(
            db_session, RUN_COMMAND, tenant=db_session.info["tenant_key"], command_id=str(row.id)
        )
    return ocpi_response(command_response(result, message))


HANDLERS = [receive_command]
