"""How a session's external limit (session_limits.py) takes effect: a pass over its site,
or its schedule sent to the station as a TxProfile when its EVSE is in no site."""

from __future__ import annotations

import asyncio
import enum
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from voltlane.core.db import Database
from voltlane.models.tenant import (
    ChargingSession,
    ChargingStation,
    SessionStatus,
    Site,
    SiteEvse,
)
from voltlane.smart_charging import loop, profiles
from voltlane.smart_charging.profiles import Call, ProfileOutcome
from voltlane.smart_charging.session_limits import read_limit, schedule_profile
from voltlane.station import typed_commands as tc
from voltlane.station.ports import StationCommands

# How long a limit's own pass may wait for a site's running pass to end.
_LOCKED_TRIES = 20
_LOCKED_WAIT_S = 0.5


class Applied(enum.StrEnum):
    """What became of a limit set or cleared, as the station answered."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"  # refused, or could not be reached in time
    UNKNOWN = "unknown"  # the station held no such profile (a clear)


@dataclass(frozen=True, slots=True)
class _Where:
    session: ChargingSession
    station_id: str
    root_site: uuid.UUID | None


async def _where(database: Database, tenant_key: str, session_id: uuid.UUID) -> _Where | None:
    async with database.tenant_session(tenant_key) as db_session:
        found = (
            await db_session.execute(
                select(ChargingSession, ChargingStation.station_id)
                .join(ChargingStation, ChargingStation.id == ChargingSession.charging_station_id)
                .where(ChargingSession.id == session_id)
            )
        ).first()
        if found is None:
            return None
        session, station_id = found
        site_id = await db_session.scalar(
            select(SiteEvse.site_id).where(SiteEvse.evse_pk == session.evse_pk)
        )
        parents = {s.id: s.parent_id for s in await db_session.scalars(select(Site))}
    while site_id is not None and parents.get(site_id) is not None:
        site_id = parents[site_id]
    return _Where(session, station_id, site_id)


async def _rebalanced(
    database: Database, commands: StationCommands, tenant_key: str, where: _Where
) -> Applied:
    """A pass over the session's site; what the station said to the session's TxProfile
    (a limit the pass did not need to send is already in force)."""
    assert where.root_site is not None
    for _ in range(_LOCKED_TRIES):
        done = await loop.rebalance(database, commands, tenant_key, where.root_site)
        if done is not None:
            break
        await asyncio.sleep(_LOCKED_WAIT_S)
    else:
        return Applied.REJECTED
    key = where.session.id
    if key in done.outcomes:
        return (
            Applied.ACCEPTED if done.outcomes[key] is ProfileOutcome.ACCEPTED else Applied.REJECTED
        )
    # Not sent: the station applies the limit already, or at most less (a raise that waits
    # for room). A lower limit left unsent (the station is offline) is not in force; a
    # session not allocated at all is at a station that takes no profiles.
    decided, believed = done.limits.get(key), done.believed.get(key)
    in_force = decided is not None and believed is not None and believed <= decided
    return Applied.ACCEPTED if in_force else Applied.REJECTED


async def apply_limit(
    database: Database, commands: StationCommands, tenant_key: str, session_id: uuid.UUID
) -> Applied:
    """Make the session's stored limit (or its absence, after a clear) take effect, as
    the module says; the station's answer. A session that ended or is gone: REJECTED."""
    where = await _where(database, tenant_key, session_id)
    if where is None or where.session.status is not SessionStatus.ACTIVE:
        return Applied.REJECTED
    if where.root_site is not None:
        return await _rebalanced(database, commands, tenant_key, where)
    async with database.tenant_session(tenant_key) as db_session:
        limit = await read_limit(db_session, session_id)
    session = where.session
    evse_id = session.evse_id or 1
    command: tc.SetChargingProfile | tc.ClearChargingProfile = (
        profiles.clear_tx_profile(evse_id)
        if limit is None
        else schedule_profile(evse_id, session.transaction_id, limit)
    )
    [sent] = await profiles.send_all(
        database, commands, tenant_key, [Call(where.station_id, session.protocol, command)]
    )
    if sent.outcome is ProfileOutcome.ACCEPTED:
        return Applied.ACCEPTED
    if limit is None and sent.answer == "Unknown":
        return Applied.UNKNOWN
    return Applied.REJECTED
