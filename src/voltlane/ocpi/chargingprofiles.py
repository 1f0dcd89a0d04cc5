"""ChargingProfiles module, receiver interface (mod_charging_profiles.asciidoc): an eMSP
(or a smart charging provider through it) limits, clears or asks for the charging profile
of one of its drivers' sessions.

``GET|PUT|DELETE /ocpi/2.2.1/chargingprofiles/{session_id}`` is answered at once with a
ChargingProfileResponse; the work then runs in the job ``ocpi.run_charging_profile``
(chargingprofile_tasks) and its ActiveChargingProfileResult, ChargingProfileResult or
ClearProfileResult is POSTed to the ``response_url`` through the push outbox. A PUT's
profile is stored at once as the session's external limit (smart_charging.session_limits),
which smart charging applies; every request is kept as an ``ocpi_commands`` row.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Request, Response, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.models.tenant import ChargingSession, OcpiCommand, OcpiToken, SessionStatus
from voltlane.ocpi import checks
from voltlane.ocpi.auth import OcpiCaller, provide_ocpi_caller
from voltlane.ocpi.envelope import invalid, ocpi_response
from voltlane.ocpi.protocol import VERSION_PATH
from voltlane.smart_charging.session_limits import (
    ExternalLimit,
    clear_limit,
    set_limit,
    takes_no_profiles,
)
from voltlane.worker import enqueue

CHARGING_PROFILES_PATH = f"{VERSION_PATH}/chargingprofiles"
RUN_CHARGING_PROFILE = "ocpi.run_charging_profile"
MODULE = "chargingprofiles"
# What we promise the eMSP (the job waits up to 30 s for the station, after the queue).
RESPONSE_TIMEOUT = 60
# TOO_OFTEN: more requests than this for one session within the window.
TOO_OFTEN_COUNT = 10
TOO_OFTEN_WINDOW = timedelta(minutes=1)
# A limit above this (W or A) is no charging limit but a typo.
_MOST = Decimal(10_000_000)
_TENTH = Decimal("0.1")
_OBJECT_PATH = CHARGING_PROFILES_PATH + "/{session_id:str}"


def _required(body: Mapping[str, Any], field: str, prefix: str = "") -> Any:
    value = body.get(field)
    if value is None:
        raise invalid(f"{prefix}{field} is required")
    return value


def _number(value: Any, name: str) -> Decimal:
    """An OCPI number with at most one digit fraction, 0 or more (a charging rate)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(f"{name} must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise invalid(f"{name} must be a number") from None
    if not number.is_finite() or number < 0 or number > _MOST:
        raise invalid(f"{name} must be a number from 0 to {_MOST}")
    if number != number.quantize(_TENTH):
        raise invalid(f"{name} accepts at most one digit fraction (e.g. 8.1)")
    return number


def profile_limit(data: Any, prefix: str = "charging_profile.") -> ExternalLimit:
    """A ChargingProfile (every field checked, 2001 naming it) as a neutral limit."""
    body = checks.body_object(data, prefix.rstrip("."))
    unit = checks.required_str(
        checks.enum_value(body, "charging_rate_unit", frozenset({"A", "W"}), prefix=prefix)
    )
    starts_at = checks.date_time(body, "start_date_time", required=False, prefix=prefix)
    duration = checks.integer(body, "duration", required=False, prefix=prefix)
    if duration == 0:
        raise invalid(f"{prefix}duration must be more than 0 seconds")
    min_rate = body.get("min_charging_rate")
    periods_given = body.get("charging_profile_period")
    name = f"{prefix}charging_profile_period"
    if not isinstance(periods_given, list) or not periods_given:
        raise invalid(f"{name} must be a list of at least one ChargingProfilePeriod")
    periods: list[tuple[int, Decimal]] = []
    for index, given in enumerate(periods_given):
        at = f"{name}[{index}]."
        period = checks.body_object(given, at.rstrip("."))
        start = checks.integer(period, "start_period", prefix=at)
        assert start is not None
        limit = _number(_required(period, "limit", at), f"{at}limit")
        if not periods and start != 0:
            raise invalid(f"{at}start_period must be 0 (the profile's first period)")
        if periods and start <= periods[-1][0]:
            raise invalid(f"{at}start_period must be later than the period before it")
        periods.append((start, limit))
    return ExternalLimit(
        unit,
        tuple(periods),
        starts_at,
        duration,
        None if min_rate is None else _number(min_rate, f"{prefix}min_charging_rate"),
    )


def _query_url(request: Request[Any, Any, Any]) -> str:
    return checks.url({"response_url": request.query_params.get("response_url")}, "response_url")


async def _session_result(
    db_session: AsyncSession, caller: OcpiCaller, session_id: str
) -> tuple[str, uuid.UUID | None]:
    """(ChargingProfileResponseType, the session) for a session of one of the partner's
    tokens, of a party the request acts for (a hub's: the one it routes to); any other
    session is UNKNOWN_SESSION, one that ended REJECTED, one whose station has no charging
    profiles NOT_SUPPORTED, and one asked about too often TOO_OFTEN."""
    try:
        key = uuid.UUID(session_id)
    except ValueError:
        return "UNKNOWN_SESSION", None
    found = (
        await db_session.execute(
            select(ChargingSession.status, OcpiToken.country_code, OcpiToken.party_id)
            .join(OcpiToken, OcpiToken.id == ChargingSession.roaming_token_id)
            .where(ChargingSession.id == key, OcpiToken.partner_id == caller.partner_id)
        )
    ).first()
    if found is None or (found[1], found[2]) not in caller.parties:
        return "UNKNOWN_SESSION", None
    status = found[0]
    if status is not SessionStatus.ACTIVE:
        return "REJECTED", key
    if await takes_no_profiles(db_session, key):
        return "NOT_SUPPORTED", key
    recent = await db_session.scalar(
        select(func.count())
        .select_from(OcpiCommand)
        .where(
            OcpiCommand.module == MODULE,
            OcpiCommand.session_id == key,
            OcpiCommand.created_at > utcnow() - TOO_OFTEN_WINDOW,
        )
    )
    if (recent or 0) >= TOO_OFTEN_COUNT:
        return "TOO_OFTEN", key
    return "ACCEPTED", key


async def _answer(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    *,
    session_id: str,
    command: str,
    body: Mapping[str, Any],
    response_url: str,
    limit: ExternalLimit | None = None,
) -> Response[Any]:
    """Decide the ChargingProfileResponse, keep the request, and on ACCEPTED store or
    clear the limit and queue the job that owes the result."""
    caller = provide_ocpi_caller(request)
    result, key = await _session_result(db_session, caller, session_id)
    row = OcpiCommand(
        partner_id=caller.partner_id,
        module=MODULE,
        command=command,
        request=dict(body),
        response_url=response_url,
        from_country_code=caller.sender[0] if caller.sender else None,
        from_party_id=caller.sender[1] if caller.sender else None,
        session_id=key,
        response=result,
        created_at=utcnow(),
    )
    db_session.add(row)
    await db_session.flush()
    if result == "ACCEPTED":
        assert key is not None
        if command == "SET" and limit is not None:
            await set_limit(db_session, key, limit)
        elif command == "CLEAR":
            await clear_limit(db_session, key)
        enqueue(
            db_session,
            RUN_CHARGING_PROFILE,
            tenant=db_session.info["tenant_key"],
            command_id=str(row.id),
        )
    return ocpi_response({"result": result, "timeout": RESPONSE_TIMEOUT})


@get(_OBJECT_PATH, include_in_schema=False)
async def get_active_profile(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    *,
    session_id: FromPath[str],
) -> Response[Any]:
    """The ActiveChargingProfile for ``duration`` seconds, POSTed to ``response_url``."""
    raw = request.query_params.get("duration")
    if raw is None or not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise invalid("duration must be a whole number of seconds above 0")
    return await _answer(
        request,
        db_session,
        session_id=session_id,
        command="GET",
        body={"duration": int(raw)},
        response_url=_query_url(request),
    )


@put(_OBJECT_PATH, include_in_schema=False, status_code=200)
async def put_profile(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    *,
    session_id: FromPath[str],
    data: JSONBody[Any],
) -> Response[Any]:
    """SetChargingProfile: the session's limit, applied by smart charging."""
    body = checks.body_object(data)
    limit = profile_limit(_required(body, "charging_profile"))
    response_url = checks.url(body, "response_url")
    return await _answer(
        request,
        db_session,
        session_id=session_id,
        command="SET",
        body=body,
        response_url=response_url,
        limit=limit,
    )


@delete(_OBJECT_PATH, include_in_schema=False, status_code=200)
async def delete_profile(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    *,
    session_id: FromPath[str],
) -> Response[Any]:
    """Clear the profile the eMSP set on the session."""
    return await _answer(
        request,
        db_session,
        session_id=session_id,
        command="CLEAR",
        body={},
        response_url=_query_url(request),
    )


HANDLERS = [get_active_profile, put_profile, delete_profile]
