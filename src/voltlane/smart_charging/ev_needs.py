"""ISO 15118 charging needs a car reports (OCPP 2.0.1 / 2.1 NotifyEVChargingNeeds).

A car that tells its departure time and the energy it still wants becomes its session's
departure target, so the allocator raises that session's share. What a 2.1 car says about
discharging (a bidirectional transfer mode, a maximum discharge power or current) becomes
its session's discharge offer, from which a pass gives it a share of the site's discharge
limit (loop.py); a later message that is not bidirectional withdraws the offer.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.models.tenant import ChargingSession, EvDischargeOffer, SessionStatus
from voltlane.smart_charging.repository import SmartChargingRepository
from voltlane.smart_charging.sites import set_target

# Transfer modes of ISO 15118-20 in which the car can feed energy back (BPT: bidirectional
# power transfer).
BIDIRECTIONAL_MODES = frozenset({"AC_BPT", "AC_BPT_DER", "DC_BPT", "DC_ACDP_BPT"})
# The largest target the sites service takes (1 MWh): a larger request is held at it.
MAX_TARGET_WH = 1_000_000


class NeedsAnswer(enum.StrEnum):
    """The CSMS's answer to charging needs, in OCPP's words."""

    ACCEPTED = "Accepted"  # the session is load-managed: profiles will follow
    REJECTED = "Rejected"  # no active session on that EVSE
    # 2.1 only: the EVSE is in no site, so the CSMS sends no charging profile.
    NO_CHARGING_PROFILE = "NoChargingProfile"


@dataclass(frozen=True, slots=True)
class EvNeeds:
    """What a car reported, version-neutral (energy in Wh, power in W)."""

    evse_id: int
    transfer_mode: str
    energy_wh: int | None = None
    departure_at: datetime | None = None
    max_discharge_w: int | None = None
    max_discharge_a: Decimal | None = None

    @property
    def bidirectional(self) -> bool:
        """The car offers to discharge (V2X)."""
        return self.transfer_mode in BIDIRECTIONAL_MODES or bool(self.max_discharge_w)


@dataclass(frozen=True, slots=True)
class NeedsOutcome:
    answer: NeedsAnswer
    session_id: uuid.UUID | None = None
    target_energy_wh: int | None = None  # the session total stored as its target
    departure_at: datetime | None = None


async def _active_session(
    db_session: AsyncSession, station_pk: uuid.UUID, evse_id: int
) -> ChargingSession | None:
    found: ChargingSession | None = await db_session.scalar(
        select(ChargingSession)
        .where(
            ChargingSession.charging_station_id == station_pk,
            ChargingSession.evse_id == evse_id,
            ChargingSession.status == SessionStatus.ACTIVE,
        )
        .order_by(ChargingSession.started_at.desc().nulls_last())
        .limit(1)
    )
    return found


async def ev_charging_needs(
    db_session: AsyncSession,
    station_pk: uuid.UUID,
    needs: EvNeeds,
    *,
    no_profile_answer: NeedsAnswer = NeedsAnswer.REJECTED,
    now: datetime | None = None,
) -> NeedsOutcome:
    """Take a car's charging needs for the active session on its EVSE.

    The energy a car asks for is what it still wants, so the stored target is the session's
    energy so far plus that amount, due at the departure time. A departure in the past or no
    energy stores nothing (the session keeps its equal share). ``no_profile_answer`` is what
    an EVSE outside every site gets: 2.0.1 has only Rejected for it, 2.1 NoChargingProfile.
    """
    now = now or utcnow()
    session = await _active_session(db_session, station_pk, needs.evse_id)
    if session is None:
        return NeedsOutcome(NeedsAnswer.REJECTED)
    managed = session.evse_pk is not None and (
        await SmartChargingRepository(db_session).site_evse(session.evse_pk) is not None
    )
    if not managed:
        return NeedsOutcome(no_profile_answer, session.id)
    await _store_offer(db_session, session.id, needs, now)
    wanted = needs.energy_wh or 0
    if wanted <= 0 or needs.departure_at is None or needs.departure_at <= now:
        return NeedsOutcome(NeedsAnswer.ACCEPTED, session.id)
    total = min(int(session.energy_wh or 0) + wanted, MAX_TARGET_WH)
    target = await set_target(
        db_session, session.id, energy_wh=total, departure_at=needs.departure_at, now=now
    )
    return NeedsOutcome(NeedsAnswer.ACCEPTED, session.id, target.energy_wh, target.departure_at)


async def _store_offer(
    db_session: AsyncSession, session_id: uuid.UUID, needs: EvNeeds, now: datetime
) -> None:
    """Keep (or withdraw) the session's discharge offer as the latest needs say."""
    if not needs.bidirectional:
        await db_session.execute(
            delete(EvDischargeOffer).where(EvDischargeOffer.session_id == session_id)
        )
        return
    values = {
        "max_discharge_w": needs.max_discharge_w,
        "max_discharge_a": needs.max_discharge_a,
        "updated_at": now,
    }
    await db_session.execute(
        insert(EvDischargeOffer)
        .values(session_id=session_id, created_at=now, **values)
        .on_conflict_do_update(index_elements=[EvDischargeOffer.session_id], set_=values)
    )
