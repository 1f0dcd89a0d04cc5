"""Remote commands: typed ones, raw OCPP calls, the command log and password rotation.

Every command goes through ``StationCommands`` and comes back with a definite status
(accepted, rejected, timeout, offline) within its deadline plus a short grace. No request
transaction is held while waiting for the station.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.command_bodies import TYPED_ENDPOINTS, CommandBody, TypedEndpoint, to_command
from voltlane.api.common import DEFAULT_LIMIT, NO_STORE, Limit, Offset, audit
from voltlane.api.errors import CommandNotSupportedError, StationNotConnectedError
from voltlane.core.errors import ConflictError, ValidationError
from voltlane.models.tenant import CommandStatus, StationCommand
from voltlane.station import service as stations
from voltlane.station import typed_commands as tc
from voltlane.station.ports import CommandResult, UnsupportedCommandError, get_translator
from voltlane.web.context import current_tenant, web_state

ACTION_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")


class InvalidOcppCallError(ValidationError):
    title = "Invalid OCPP call"


class CommandResultRead(msgspec.Struct, kw_only=True):
    command_id: uuid.UUID
    status: CommandStatus
    action: str
    response: dict[str, Any] | None
    error: str | None

    @classmethod
    def of(cls, action: str, result: CommandResult) -> CommandResultRead:
        return cls(
            command_id=result.command_id,
            status=result.status,
            action=action,
            response=result.response,
            error=result.error,
        )


class PasswordRotation(CommandResultRead, kw_only=True):
    password: Annotated[
        str | None,
        msgspec.Meta(description="The new password when the station took it; shown once"),
    ]


class CommandRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    action: str
    payload: dict[str, Any]
    status: CommandStatus
    response: dict[str, Any] | None
    error: str | None
    requested_by: str | None
    created_at: datetime
    deadline_at: datetime
    sent_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, command: StationCommand) -> CommandRead:
        return cls(
            id=command.id,
            action=command.action,
            # Stored redacted already; a row written before redaction existed is hidden too.
            payload=get_translator().redact(command.action, command.payload) or command.payload,
            status=command.status,
            response=command.response,
            error=command.error,
            requested_by=command.requested_by,
            created_at=command.created_at,
            deadline_at=command.deadline_at,
            sent_at=command.sent_at,
            completed_at=command.completed_at,
        )


class CommandPage(msgspec.Struct):
    items: list[CommandRead]
    total: int


class RotationBody(CommandBody, kw_only=True):
    pass


# -- sending ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Target:
    pk: uuid.UUID
    station_id: str
    protocol: str
    security_profile: int


async def _target(request: Request[Any, Any, Any], station_pk: uuid.UUID) -> _Target:
    """The station to command, read in a short session of its own."""
    tenant = current_tenant(request)
    async with web_state(request).database.tenant_session(tenant.key) as db_session:
        station = await stations.get_station_row(db_session, station_pk)
        station_id, protocol, profile = (
            station.station_id,
            station.protocol,
            station.security_profile,
        )
    if protocol is None:
        raise StationNotConnectedError(
            f"Station {station_id} has not connected yet, so its OCPP version is unknown."
        )
    return _Target(station_pk, station_id, protocol, profile)


def _translate(target: _Target, name: str, command: object) -> tuple[str, dict[str, Any]]:
    try:
        return get_translator().translate(target.protocol, command)
    except UnsupportedCommandError as exc:
        raise CommandNotSupportedError(
            f"{name} cannot be sent to {target.station_id} ({target.protocol}): {exc}."
        ) from exc


def _refuse_password_change(action: str, payload: dict[str, Any]) -> None:
    # The stored hash must follow the station's password, or the station is locked out.
    if get_translator().redact(action, payload) is not None:
        raise CommandNotSupportedError(
            "The Basic-auth password changes only through POST .../password/rotate."
        )


async def _send(
    request: Request[Any, Any, Any],
    caller: ApiCaller,
    target: _Target,
    *,
    action: str,
    payload: dict[str, Any],
    deadline_seconds: float,
) -> CommandResult:
    tenant = current_tenant(request)
    return await web_state(request).commands.send(
        tenant.key,
        target.station_id,
        action,
        payload,
        deadline_seconds=deadline_seconds,
        requested_by=caller.actor,
    )


async def _audit_command(
    request: Request[Any, Any, Any],
    caller: ApiCaller,
    target: _Target,
    *,
    verb: str,
    result: CommandResult,
    action: str,
    **extra: Any,
) -> None:
    tenant = current_tenant(request)
    async with web_state(request).database.tenant_transaction(tenant.key) as db_session:
        await audit(
            db_session,
            request,
            caller,
            action=f"api.station.{verb}",
            entity="charging_station",
            entity_id=target.pk,
            detail={
                "action": action,
                "command_id": result.command_id,
                "status": result.status,
                **extra,
            },
        )


def _typed_handler(endpoint: TypedEndpoint) -> HTTPRouteHandler:
    async def handler(
        *,
        request: Request[Any, Any, Any],
        caller: NamedDependency[ApiCaller],
        charging_station_id: FromPath[uuid.UUID],
        data: Any,
    ) -> CommandResultRead:
        body: CommandBody = data if data is not None else endpoint.body()
        target = await _target(request, charging_station_id)
        action, payload = _translate(target, endpoint.name, to_command(body, endpoint.command))
        _refuse_password_change(action, payload)
        result = await _send(
            request,
            caller,
            target,
            action=action,
            payload=payload,
            deadline_seconds=body.deadline_seconds,
        )
        await _audit_command(
            request,
            caller,
            target,
            verb="command",
            result=result,
            action=action,
            command=endpoint.name,
        )
        return CommandResultRead.of(action, result)

    # Each endpoint documents and validates its own body type; a body whose fields all have
    # defaults may be left out.
    json_body: Any = JSONBody
    optional = not any(f.required for f in msgspec.structs.fields(endpoint.body))
    body_type: Any = endpoint.body | None if optional else endpoint.body
    handler.__annotations__ = {**handler.__annotations__, "data": json_body[body_type]}
    if optional:
        handler.__kwdefaults__ = {"data": None}
    handler.__name__ = handler.__qualname__ = "command_" + endpoint.name.replace("-", "_")
    return post(
        f"/{{charging_station_id:uuid}}/commands/{endpoint.name}",
        status_code=200,
        summary=endpoint.summary,
        operation_id=f"StationCommand{endpoint.command.__name__}",
        description=(
            f"Sends {endpoint.command.__name__} in the station's OCPP version and waits for "
            "its answer until deadline_seconds (plus a short grace)."
        ),
    )(handler)


@post(
    "/{charging_station_id:uuid}/ocpp/{action:str}",
    status_code=200,
    summary="Send any CSMS-to-station OCPP call",
    description=(
        "The body is the call's payload as the station's OCPP version spells it; it is "
        "validated against that version's schema before anything is sent."
    ),
)
async def ocpp_call(
    *,
    request: Request[Any, Any, Any],
    caller: NamedDependency[ApiCaller],
    charging_station_id: FromPath[uuid.UUID],
    action: FromPath[str],
    data: JSONBody[dict[str, Any]],
    deadline_seconds: Annotated[
        float, QueryParameter(ge=1, le=300, description="Seconds to wait for the answer (1-300)")
    ] = 30.0,
) -> CommandResultRead:
    if not ACTION_RE.fullmatch(action):
        raise InvalidOcppCallError("An OCPP action is 1-64 letters and digits.", field="action")
    target = await _target(request, charging_station_id)
    try:
        get_translator().validate(target.protocol, action, data)
    except UnsupportedCommandError as exc:
        raise InvalidOcppCallError(f"{exc}.") from exc
    _refuse_password_change(action, data)
    result = await _send(
        request, caller, target, action=action, payload=data, deadline_seconds=deadline_seconds
    )
    await _audit_command(request, caller, target, verb="ocpp_call", result=result, action=action)
    return CommandResultRead.of(action, result)


@get("/{charging_station_id:uuid}/commands", summary="List the commands sent to a station")
async def list_commands(
    db_session: NamedDependency[AsyncSession],
    charging_station_id: FromPath[uuid.UUID],
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> CommandPage:
    page = await stations.station_commands(
        db_session, charging_station_id, limit=limit, offset=offset
    )
    return CommandPage([CommandRead.of(c) for c in page.items], page.total)


@post(
    "/{charging_station_id:uuid}/password/rotate",
    status_code=200,
    summary="Give the station a new Basic-auth password",
    description=(
        "Generates a password and sends it to the station; the stored hash changes only "
        "when the station accepts it, and the password is returned then, once."
    ),
)
async def rotate_password(
    request: Request[Any, Any, Any],
    caller: NamedDependency[ApiCaller],
    charging_station_id: FromPath[uuid.UUID],
    data: JSONBody[RotationBody | None] = None,
) -> Response[PasswordRotation]:
    target = await _target(request, charging_station_id)
    if target.security_profile == 3:
        raise ConflictError(
            "Security profile 3 stations authenticate by client certificate, not a password.",
            field="security_profile",
        )
    password = stations.generate_station_password()
    action, payload = _translate(target, "password-rotate", tc.SetBasicAuthPassword(password))
    deadline = data.deadline_seconds if data is not None else RotationBody().deadline_seconds
    result = await _send(
        request, caller, target, action=action, payload=payload, deadline_seconds=deadline
    )
    # The gateway counts a reply as accepted only when every variable was taken.
    taken = result.status is CommandStatus.ACCEPTED
    status, error = result.status, result.error
    if result.status is CommandStatus.REJECTED and error is None:
        error = "The station did not take the new password."
    tenant = current_tenant(request)
    async with web_state(request).database.tenant_transaction(tenant.key) as db_session:
        if taken:
            await stations.set_station_password(db_session, target.pk, password)
        await audit(
            db_session,
            request,
            caller,
            action="api.station.password_rotate",
            entity="charging_station",
            entity_id=target.pk,
            detail={"action": action, "command_id": result.command_id, "status": status},
        )
    body = PasswordRotation(
        command_id=result.command_id,
        status=status,
        action=action,
        response=result.response,
        error=error,
        password=password if taken else None,
    )
    return Response(body, status_code=200, headers=NO_STORE)


def command_router() -> Router:
    """The command endpoints under /stations (typed ones are built from TYPED_ENDPOINTS)."""
    return Router(
        path="/stations",
        route_handlers=[
            *(_typed_handler(e) for e in TYPED_ENDPOINTS),
            ocpp_call,
            list_commands,
            rotate_password,
        ],
        tags=["Commands"],
    )
