"""Allocations as OCPP charging profiles, sent through the command path.

A session's allocated limit becomes a typed ``SetChargingProfile`` (the gateway's translator
spells it for 1.6 or 2.x); its answer is read into a :class:`ProfileOutcome`.

Conventions, so that every profile Voltlane sends replaces its own previous one and never
another source's (a station's vendor defaults live at stack level 0; an operator's manual
profiles sent from the portal should use other ids):

======================== ======== ======================== =========== ==========================
purpose                  EVSE     profile id               stack level sent
======================== ======== ======================== =========== ==========================
TxDefaultProfile         each     ``7_100_000 + evse_id``  1           to every EVSE of a site,
                                                                       at the site's minimum
                                                                       current: a car that plugs
                                                                       in starts at the minimum
                                                                       before any rebalance
TxProfile                its EVSE ``7_200_000 + evse_id``  1           each changed allocation,
                                                                       with the transactionId;
                                                                       the same id replaces the
                                                                       previous limit
ChargingStationMaxProfile 0       ``7_000_000``            1           fallback when a station
                                                                       refuses TxProfiles: the
                                                                       whole station held at its
                                                                       safe static limit
======================== ======== ======================== =========== ==========================

Limits are in amperes per phase (``chargingRateUnit`` A) with ``numberPhases`` the phases
the car charges on; they are rounded down to the 0.1 A that OCPP 1.6 allows, so a sum of
allocations under a capacity stays under it. TxProfile and TxDefaultProfile are
``Relative`` (they apply from the start of the transaction, whatever the station's clock
says); the station maximum is ``Absolute`` from a minute ago, as 2.0.1 wants for that
purpose.
"""

from __future__ import annotations

import asyncio
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Literal

from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import CommandStatus
from voltlane.station import typed_commands as tc
from voltlane.station.ports import (
    CommandResult,
    StationCommands,
    UnsupportedCommandError,
    get_translator,
)
from voltlane.station.service import connected_stations

STATION_MAX_PROFILE_ID = 7_000_000
TX_DEFAULT_PROFILE_BASE = 7_100_000
TX_PROFILE_BASE = 7_200_000
STACK_LEVEL = 1
# The command path's deadline for a profile: long enough for a slow station, short enough
# that a rebalance of a site with a few silent stations ends well within its period.
DEADLINE_SECONDS = 10.0
REQUESTED_BY = "smart_charging"
_TENTH = Decimal("0.1")
# Answers (a status, or a CALLERROR code) of a station that has no charging profiles.
_UNSUPPORTED_ANSWERS = frozenset({"NotSupported", "NotImplemented"})


class ProfileOutcome(enum.StrEnum):
    """What became of a profile sent to a station."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    NOT_SUPPORTED = "not_supported"
    TIMEOUT = "timeout"
    OFFLINE = "offline"

    @property
    def refused(self) -> bool:
        """The station answered and will not apply profiles (flag it, fall back)."""
        return self in (ProfileOutcome.REJECTED, ProfileOutcome.NOT_SUPPORTED)


@dataclass(frozen=True, slots=True)
class Sent:
    outcome: ProfileOutcome
    command_id: uuid.UUID | None  # None when nothing reached the command path
    answer: str | None = None  # the reply's status or the CALLERROR's code


def answer_of(result: CommandResult) -> str | None:
    """What the station said: its reply's status, or the code of its CALLERROR."""
    status = (result.response or {}).get("status")
    if isinstance(status, str):
        return status
    if result.status is CommandStatus.REJECTED and result.error:
        return result.error.split(":", 1)[0]
    return None


def tx_profile_id(evse_id: int) -> int:
    return TX_PROFILE_BASE + evse_id


def tx_default_profile_id(evse_id: int) -> int:
    return TX_DEFAULT_PROFILE_BASE + evse_id


def amperes(limit_a: Decimal | int) -> float:
    """``limit_a`` as OCPP carries it: a number of tenths of an ampere, rounded down."""
    return float(Decimal(limit_a).quantize(_TENTH, rounding=ROUND_DOWN))


def _profile(
    evse_id: int,
    profile_id: int,
    purpose: Literal["ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"],
    limit_a: Decimal | int,
    phases: int | None,
    *,
    transaction_id: str | None = None,
    discharge_limit_a: Decimal | None = None,
) -> tc.SetChargingProfile:
    absolute = purpose == "ChargingStationMaxProfile"
    discharge = amperes(discharge_limit_a) if discharge_limit_a else None
    return tc.SetChargingProfile(
        evse_id=evse_id,
        profile_id=profile_id,
        stack_level=STACK_LEVEL,
        purpose=purpose,
        kind="Absolute" if absolute else "Relative",
        rate_unit="A",
        periods=(tc.SchedulePeriod(0, amperes(limit_a), phases, discharge or None),),
        start_schedule=(utcnow() - timedelta(minutes=1)).replace(microsecond=0)
        if absolute
        else None,
        transaction_id=transaction_id,
    )


def tx_profile(
    evse_id: int,
    transaction_id: str,
    limit_a: Decimal | int,
    phases: int | None,
    *,
    discharge_limit_a: Decimal | None = None,
) -> tc.SetChargingProfile:
    """The TxProfile that holds one transaction at ``limit_a`` per phase, and lets a
    bidirectional car feed back up to ``discharge_limit_a`` per phase (OCPP 2.1 only: the
    translator leaves it out for older versions; None or 0: no discharge)."""
    return _profile(
        evse_id,
        tx_profile_id(evse_id),
        "TxProfile",
        limit_a,
        phases,
        transaction_id=transaction_id,
        discharge_limit_a=discharge_limit_a,
    )


def tx_default_profile(
    evse_id: int, limit_a: Decimal | int, phases: int | None
) -> tc.SetChargingProfile:
    """The TxDefaultProfile every new transaction on the EVSE starts under."""
    return _profile(evse_id, tx_default_profile_id(evse_id), "TxDefaultProfile", limit_a, phases)


def station_max_profile(limit_a: Decimal | int, phases: int | None) -> tc.SetChargingProfile:
    """The ChargingStationMaxProfile that caps the whole station (EVSE 0)."""
    return _profile(0, STATION_MAX_PROFILE_ID, "ChargingStationMaxProfile", limit_a, phases)


def clear_tx_profile(evse_id: int) -> tc.ClearChargingProfile:
    """Removes the TxProfile of the EVSE (by its id: nothing else is touched)."""
    return tc.ClearChargingProfile(profile_id=tx_profile_id(evse_id))


def outcome_of(result: CommandResult) -> ProfileOutcome:
    """The command path's definite answer in a profile's terms."""
    match result.status:
        case CommandStatus.ACCEPTED:
            return ProfileOutcome.ACCEPTED
        case CommandStatus.TIMEOUT | CommandStatus.PENDING | CommandStatus.SENT:
            return ProfileOutcome.TIMEOUT
        case CommandStatus.OFFLINE:
            return ProfileOutcome.OFFLINE
    if answer_of(result) in _UNSUPPORTED_ANSWERS:
        return ProfileOutcome.NOT_SUPPORTED
    return ProfileOutcome.REJECTED


async def send_profile(
    commands: StationCommands,
    tenant_key: str,
    station_id: str,
    protocol: str | None,
    command: tc.SetChargingProfile | tc.ClearChargingProfile,
) -> Sent:
    """Send ``command`` to the station and wait for its definite outcome."""
    if not protocol:
        # The station never connected: its version, and so the payload, is unknown.
        return Sent(ProfileOutcome.OFFLINE, None)
    try:
        action, payload = get_translator().translate(protocol, command)
    except UnsupportedCommandError:
        return Sent(ProfileOutcome.NOT_SUPPORTED, None)
    result = await commands.send(
        tenant_key,
        station_id,
        action,
        payload,
        deadline_seconds=DEADLINE_SECONDS,
        requested_by=REQUESTED_BY,
    )
    return Sent(outcome_of(result), result.command_id, answer_of(result))


@dataclass(frozen=True, slots=True)
class Call:
    """One profile command for one station."""

    station_id: str
    protocol: str | None
    command: tc.SetChargingProfile | tc.ClearChargingProfile


async def connected(database: Database, tenant_key: str, station_ids: set[str]) -> set[str]:
    """Which of the brand's ``station_ids`` are connected to a live gateway node now."""
    if not station_ids:
        return set()
    async with database.platform_session() as platform:
        return await connected_stations(platform, tenant_key, sorted(station_ids))


async def send_all(
    database: Database, commands: StationCommands, tenant_key: str, calls: Sequence[Call]
) -> list[Sent]:
    """Send ``calls`` in order per station (one call at a time, as OCPP wants), stations
    side by side. Calls to stations not connected now are answered ``offline`` without a
    command (a later pass tries again; a command row per attempt would only be noise)."""
    online = await connected(database, tenant_key, {c.station_id for c in calls})
    results = [Sent(ProfileOutcome.OFFLINE, None)] * len(calls)
    queues: dict[str, list[int]] = {}
    for index, call in enumerate(calls):
        if call.station_id in online:
            queues.setdefault(call.station_id, []).append(index)

    async def run(indexes: list[int]) -> None:
        for index in indexes:
            call = calls[index]
            results[index] = await send_profile(
                commands, tenant_key, call.station_id, call.protocol, call.command
            )

    await asyncio.gather(*(run(indexes) for indexes in queues.values()))
    return results
