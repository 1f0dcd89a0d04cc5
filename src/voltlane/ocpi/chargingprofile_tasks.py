"""The job that carries an accepted charging-profile request to the station and owes the
eMSP its result (mod_charging_profiles.asciidoc ChargingProfileResultType: ACCEPTED,
REJECTED, UNKNOWN), POSTed to the request's response_url through the push outbox.

- SET / CLEAR: smart charging makes the stored limit (or its absence) take effect
  (a pass over the session's site, or the schedule sent as a TxProfile, or that TxProfile
  cleared); the station's answer decides ACCEPTED, else REJECTED (refused, offline, no
  answer in time); a clear the station had no profile for is UNKNOWN.
- GET: the station's composite schedule (GetCompositeSchedule) becomes the
  ActiveChargingProfile; REJECTED when the station refuses or cannot be reached.

And the sender side (``ocpi.push_active_profiles``, every 30 s per brand): when a site's
pass changes the limit of a session whose eMSP's profile stands (accepted at least once,
not cleared), for a reason other than that eMSP's own request, the eMSP is PUT the new
ActiveChargingProfile at its chargingprofiles SENDER endpoint (``.../{session_id}``).
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.jobs import for_each_brand
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.core.notify import NotificationHub
from voltlane.models.tenant import (
    ChargingSession,
    ChargingStation,
    CommandStatus,
    OcpiCommand,
    OcpiPartner,
    OcpiPush,
    OcpiToken,
    PartnerState,
    SessionStatus,
)
from voltlane.ocpi.chargingprofiles import MODULE, RUN_CHARGING_PROFILE
from voltlane.ocpi.protocol import InterfaceRole, ocpi_datetime, parse_ocpi_datetime
from voltlane.ocpi.pushes import endpoint_url, queue_push
from voltlane.smart_charging.limit_effect import Applied, apply_limit
from voltlane.smart_charging.session_limits import LimitInForce, limits_in_force
from voltlane.station import typed_commands as tc
from voltlane.station.commands import RESULTS_CHANNEL, DatabaseStationCommands
from voltlane.station.ports import StationCommands, UnsupportedCommandError, get_translator
from voltlane.worker import JobContext, task
from voltlane.worker.schedule import every

log = logging.getLogger(__name__)

DEADLINE_SECONDS = 30.0
REQUESTED_BY = "ocpi"
PUSH_ACTIVE_PROFILES = "ocpi.push_active_profiles"
PUSH_ACTIVE_PROFILES_BRAND = "ocpi.push_active_profiles_brand"
PUSH_EVERY = timedelta(seconds=30)
# How far ahead an ActiveChargingProfile we push reaches (the spec's guide: 5 to 60 min).
ACTIVE_PROFILE_DURATION_S = 900


def active_profile(response: dict[str, Any]) -> dict[str, Any] | None:
    """A GetCompositeSchedule reply (1.6 ``chargingSchedule``, 2.x ``schedule``) as an
    OCPI ActiveChargingProfile; None when it carries no schedule."""
    schedule = response.get("schedule") or response.get("chargingSchedule")
    if not isinstance(schedule, dict):
        return None
    start = schedule.get("scheduleStart") or response.get("scheduleStart")
    at = parse_ocpi_datetime(start) if isinstance(start, str) else utcnow()
    profile: dict[str, Any] = {
        "charging_rate_unit": schedule["chargingRateUnit"],
        "charging_profile_period": [
            {"start_period": p["startPeriod"], "limit": p["limit"]}
            for p in schedule.get("chargingSchedulePeriod", ())
        ],
    }
    if schedule.get("duration") is not None:
        profile["duration"] = schedule["duration"]
    if schedule.get("minChargingRate") is not None:
        profile["min_charging_rate"] = schedule["minChargingRate"]
    return {"start_date_time": ocpi_datetime(at), "charging_profile": profile}


async def _composite(
    database: Database, commands: StationCommands, tenant_key: str, row: OcpiCommand
) -> dict[str, Any]:
    """The ActiveChargingProfileResult of a GET."""
    async with database.tenant_session(tenant_key) as db_session:
        found = (
            await db_session.execute(
                select(ChargingSession, ChargingStation.station_id, ChargingStation.protocol)
                .join(ChargingStation, ChargingStation.id == ChargingSession.charging_station_id)
                .where(
                    ChargingSession.id == row.session_id,
                    ChargingSession.status == SessionStatus.ACTIVE,
                )
            )
        ).first()
    if found is None:
        return {"result": "REJECTED"}
    session, station_id, protocol = found
    try:
        action, payload = get_translator().translate(
            protocol or "",
            tc.GetCompositeSchedule(evse_id=session.evse_id or 1, duration=row.request["duration"]),
        )
    except UnsupportedCommandError:
        return {"result": "REJECTED"}
    sent = await commands.send(
        tenant_key,
        station_id,
        action,
        payload,
        deadline_seconds=DEADLINE_SECONDS,
        requested_by=REQUESTED_BY,
    )
    reply = sent.response or {}
    profile = active_profile(reply) if sent.status is CommandStatus.ACCEPTED else None
    if reply.get("status") != "Accepted" or profile is None:
        return {"result": "REJECTED"}
    return {"result": "ACCEPTED", "profile": profile}


_RESULT_OF = {
    Applied.ACCEPTED: "ACCEPTED",
    Applied.REJECTED: "REJECTED",
    Applied.UNKNOWN: "UNKNOWN",
}


async def run_charging_profile(
    database: Database, commands: StationCommands, tenant_key: str, command_id: uuid.UUID
) -> dict[str, Any] | None:
    """Carry out the request and queue its result; the result, or None when the request
    had one already (a repeated job changes nothing)."""
    async with database.tenant_session(tenant_key) as db_session:
        row = await db_session.get(OcpiCommand, command_id)
    if row is None or row.result is not None or row.session_id is None:
        return None
    if row.command == "GET":
        body = await _composite(database, commands, tenant_key, row)
    else:
        applied = await apply_limit(database, commands, tenant_key, row.session_id)
        body = {"result": _RESULT_OF[applied]}
    async with database.tenant_transaction(tenant_key) as db_session:
        locked = await db_session.get(OcpiCommand, command_id, with_for_update=True)
        if locked is None or locked.result is not None:
            return None
        locked.result = body["result"]
        locked.result_sent_at = utcnow()
        await queue_push(
            db_session,
            tenant_key,
            partner_id=locked.partner_id,
            module=MODULE,
            object_id=str(locked.id),
            method="POST",
            path=locked.response_url,
            body=body,
            to_party=(
                (locked.from_country_code, locked.from_party_id)
                if locked.from_country_code and locked.from_party_id
                else None
            ),
        )
    log.info(
        "ocpi charging profile done",
        extra={"ocpi_command": str(command_id), "result": body["result"]},
    )
    return body


def allocated_profile(limit: LimitInForce) -> dict[str, Any]:
    """The ActiveChargingProfile of a limit a station accepted (amperes per phase)."""
    return {
        "start_date_time": ocpi_datetime(limit.decided_at),
        "charging_profile": {
            "duration": ACTIVE_PROFILE_DURATION_S,
            "charging_rate_unit": "A",
            "charging_profile_period": [{"start_period": 0, "limit": float(limit.limit_a)}],
        },
    }


async def queue_active_profile_pushes(db_session: AsyncSession, tenant_key: str) -> int:
    """PUT each changed ActiveChargingProfile its eMSP is owed (see the module); how many."""
    queued = 0
    for limit in await limits_in_force(db_session):
        found = (
            await db_session.execute(
                select(OcpiPartner, OcpiToken)
                .join(OcpiToken, OcpiToken.partner_id == OcpiPartner.id)
                .join(ChargingSession, ChargingSession.roaming_token_id == OcpiToken.id)
                .where(ChargingSession.id == limit.session_id)
            )
        ).first()
        if found is None or found[0].state is not PartnerState.REGISTERED:
            continue
        partner, token = found
        base = endpoint_url(partner, MODULE, InterfaceRole.SENDER)
        # The eMSP's own last accepted profile: what its pass set is no news to it.
        set_at = await db_session.scalar(
            select(func.max(OcpiCommand.result_sent_at)).where(
                OcpiCommand.partner_id == partner.id,
                OcpiCommand.module == MODULE,
                OcpiCommand.command == "SET",
                OcpiCommand.session_id == limit.session_id,
                OcpiCommand.result == "ACCEPTED",
            )
        )
        if base is None or set_at is None or limit.decided_at <= set_at:
            continue
        body = allocated_profile(limit)
        last = await db_session.scalar(
            select(OcpiPush.body)
            .where(
                OcpiPush.partner_id == partner.id,
                OcpiPush.module == MODULE,
                OcpiPush.object_id == str(limit.session_id),
            )
            .order_by(OcpiPush.created_at.desc())
            .limit(1)
        )
        if last == body:
            continue
        await queue_push(
            db_session,
            tenant_key,
            partner_id=partner.id,
            module=MODULE,
            object_id=str(limit.session_id),
            method="PUT",
            path=f"{base.rstrip('/')}/{limit.session_id}",
            body=body,
            to_party=(token.country_code, token.party_id),
        )
        queued += 1
    return queued


@task(PUSH_ACTIVE_PROFILES, queue="ocpi", max_retries=0, time_limit_ms=60_000)
async def push_active_profiles(jobs: JobContext) -> None:
    await for_each_brand(jobs, PUSH_ACTIVE_PROFILES_BRAND)


@task(PUSH_ACTIVE_PROFILES_BRAND, queue="ocpi", max_retries=0, time_limit_ms=5 * 60_000)
async def push_active_profiles_brand(jobs: JobContext, *, tenant: str) -> None:
    """PUT each eMSP the ActiveChargingProfiles of its sessions that changed."""
    async with jobs.database.tenant_transaction(tenant) as db_session:
        await queue_active_profile_pushes(db_session, tenant)


@task(RUN_CHARGING_PROFILE, queue="ocpi", max_retries=0, time_limit_ms=180_000)
async def run_charging_profile_job(jobs: JobContext, *, tenant: str, command_id: str) -> None:
    """An accepted charging-profile request, through smart charging and the command path."""
    hub = NotificationHub(jobs.database.url)
    await hub.start([RESULTS_CHANNEL])
    try:
        commands = DatabaseStationCommands(jobs.database, hub, secret_key=jobs.settings.secret_key)
        await run_charging_profile(jobs.database, commands, tenant, uuid.UUID(command_id))
    finally:
        await hub.stop()


every(PUSH_ACTIVE_PROFILES, PUSH_EVERY)
