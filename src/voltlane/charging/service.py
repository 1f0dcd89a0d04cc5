"""Use cases of charging, one per thing a station reports, for every OCPP version.

Every function is idempotent on the message's natural key: a retried or replayed message
gets the same answer and changes nothing a second time.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.charging.energy import REGISTER, Reading, session_energy, to_wh
from voltlane.charging.live import LiveSession
from voltlane.charging.ports import RoamingRequest, roaming_authorizer
from voltlane.charging.repository import ChargingRepository
from voltlane.charging.schemas import (
    Authorization,
    AuthorizationStatus,
    Sample,
    SessionView,
    StationRef,
    TransactionEventInput,
)
from voltlane.core.clock import utcnow
from voltlane.core.ids import new_id
from voltlane.models.tenant import (
    ChargingSession,
    IdToken,
    IdTokenStatus,
    IdTokenType,
    SessionStatus,
    TransactionEventRecord,
)
from voltlane.worker import enqueue
from voltlane.worker.outbox import outbox_row

# The job that makes a finished session's CDR (declared by billing, which sits above this
# domain; the name is the contract). Enqueued in the transaction that ends the session.
RATE_SESSION_TASK = "billing.rate_session"

# Prices an ended session for the charger (provided by the caller: billing sits above).
TotalCost = Callable[[AsyncSession, uuid.UUID], Awaitable[Decimal | None]]

# Token types that carry no identity to check (free vend, plug-in without ID).
_UNCHECKED_TYPES = {IdTokenType.NO_AUTHORIZATION.value}


async def authorize(
    db_session: AsyncSession,
    *,
    id_token: str,
    token_type: str | None,
    for_session: uuid.UUID | None = None,
    check_concurrent: bool = False,
    station: uuid.UUID | None = None,
    evse_id: int | None = None,
    ending: bool = False,
) -> Authorization:
    """Decide whether ``id_token`` may charge now (one query for the brand's own tokens).

    ``check_concurrent`` refuses a token already in another active session (ConcurrentTx)
    unless it is that session (``for_session``). A token the brand does not know goes to
    the roaming authorizer (its eMSP decides, within the partner's timeout) with the
    station and EVSE it was presented at; ``ending``: the token of a transaction that is
    over, decided by what is stored and by the session's EVSE (see ``RoamingRequest``).
    """
    if token_type in _UNCHECKED_TYPES:
        return Authorization(AuthorizationStatus.ACCEPTED)
    found = await ChargingRepository(db_session).token_decision(
        id_token, token_type, except_session=for_session
    )
    if found is None:
        roaming = await roaming_authorizer().authorize(
            db_session,
            RoamingRequest(
                id_token=id_token,
                token_type=token_type,
                station_pk=station,
                evse_id=evse_id,
                ending=ending,
            ),
        )
        return Authorization(
            roaming.status,
            roaming_token_id=roaming.roaming_token_id,
            authorization_reference=roaming.authorization_reference,
            remote_start_id=roaming.remote_start_id,
        )
    status, expires_at, group, busy = found
    if status is IdTokenStatus.BLOCKED:
        return Authorization(AuthorizationStatus.BLOCKED, group_id_token=group)
    if status is IdTokenStatus.INVALID:
        return Authorization(AuthorizationStatus.INVALID, group_id_token=group)
    if expires_at is not None and expires_at <= utcnow():
        return Authorization(AuthorizationStatus.EXPIRED, expires_at, group)
    if check_concurrent and busy:
        return Authorization(AuthorizationStatus.CONCURRENT_TX, expires_at, group)
    return Authorization(AuthorizationStatus.ACCEPTED, expires_at, group)


def _finished(db_session: AsyncSession, session_id: uuid.UUID) -> None:
    """The session ended in this transaction: billing rates it once the transaction commits."""
    enqueue(
        db_session,
        RATE_SESSION_TASK,
        tenant=db_session.info["tenant_key"],
        session_id=str(session_id),
    )


def _view(session: ChargingSession) -> SessionView:
    return SessionView(
        id=session.id,
        transaction_id=session.transaction_id,
        status=session.status.value,
        evse_id=session.evse_id,
        connector_id=session.connector_id,
        id_token=session.id_token,
        started_at=session.started_at,
        stopped_at=session.stopped_at,
        stop_reason=session.stop_reason,
        energy_wh=session.energy_wh,
        energy_review=session.energy_review,
        stop_id_token=session.stop_id_token,
    )


async def _recompute_energy(
    repo: ChargingRepository, session: ChargingSession, max_power_w: int | None
) -> None:
    readings = []
    for at, value, unit in await repo.register_readings(session.id):
        wh = to_wh(Decimal(value), unit)
        if wh is not None:
            readings.append(Reading(at, wh))
    result = session_energy(
        readings,
        meter_start_wh=session.meter_start_wh,
        started_at=session.started_at,
        max_power_w=max_power_w,
    )
    session.energy_wh = result.energy_wh
    session.energy_review = result.review


async def _max_power(
    repo: ChargingRepository, station: StationRef, evse_id: int | None
) -> int | None:
    if evse_id is None:
        return None
    found = await repo.evse(station.pk, evse_id)
    return found[1] if found else None


# -- OCPP 1.6 -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StartedV16:
    """The answer to a 1.6 StartTransaction and what the connection holds live."""

    transaction_id: int
    id_tag_info: dict[str, object]
    session_id: uuid.UUID | None  # None when the start was a retry answered from storage


async def start_transaction_v16(
    db_session: AsyncSession,
    station: StationRef,
    *,
    connector_id: int,
    id_tag: str,
    meter_start_wh: int,
    timestamp: datetime,
    reservation_id: int | None,
    evse: tuple[uuid.UUID, int | None] | None,
) -> StartedV16:
    """StartTransaction: the transactionId and the idTagInfo to answer with.

    A retry (same station, connector, meterStart and timestamp) gets the stored answer.
    ``evse`` is the EVSE (primary key, max power) the connection already knows. Two
    statements, each complete on its own: on a connection without an explicit transaction
    the start is durable once the insert returns.
    """
    repo = ChargingRepository(db_session)
    key = f"{connector_id}|{meter_start_wh}|{timestamp.isoformat()}"
    # Decided before the insert, so the new session cannot count as the concurrent one.
    decision = await authorize(
        db_session,
        id_token=id_tag,
        token_type=None,
        check_concurrent=True,
        station=station.pk,
        evse_id=connector_id,
    )
    answer = decision.as_v16()
    session_id = new_id()
    seq = await repo.insert_started_v16(
        session_id=session_id,
        station=station.pk,
        evse_pk=evse[0] if evse else None,
        evse_id=connector_id,
        protocol=station.protocol,
        start_key=key,
        id_token=id_tag,
        id_token_type=IdTokenType.ISO14443.value,
        group_id_token=decision.group_id_token,
        reservation_id=reservation_id,
        started_at=timestamp,
        meter_start_wh=Decimal(meter_start_wh),
        start_response=answer,
        roaming_token_id=decision.roaming_token_id,
        authorization_reference=decision.authorization_reference,
        remote_start_id=decision.remote_start_id,
    )
    if seq is None:
        # A retry, or the same start twice at once (an old and a new socket): the first
        # one's answer. Rare enough not to look for it before every insert.
        winner = await repo.start_key_answer(station.pk, key)
        if winner is None or winner[1] is None:
            raise RuntimeError(f"start {key} vanished while it was being stored")
        return StartedV16(winner[0], dict(winner[1]), None)
    return StartedV16(seq, answer, session_id)


async def _session_for_v16_stop(
    repo: ChargingRepository,
    station: StationRef,
    transaction_id: int,
    id_tag: str | None,
    timestamp: datetime,
) -> tuple[ChargingSession | None, str | None]:
    """The session a 1.6 StopTransaction ends, and a review note when it had to be guessed."""
    found = await repo.session_by_transaction(station.pk, str(transaction_id), for_update=True)
    if found is not None:
        return found, None
    # -1: the station never learned the id (its StartTransaction.conf was lost). One active
    # session of the same token started before the stop can only be that transaction.
    candidates = [
        s
        for s in await repo.active_sessions(station.pk, id_token=id_tag)
        if s.started_at is None or s.started_at <= timestamp
    ]
    if transaction_id == -1 and len(candidates) == 1:
        return candidates[0], "stopped with transactionId -1; matched by token and start time"
    return None, None


async def stop_transaction_v16(
    db_session: AsyncSession,
    station: StationRef,
    *,
    transaction_id: int,
    meter_stop_wh: int,
    timestamp: datetime,
    reason: str | None,
    id_tag: str | None,
    transaction_data: list[Sample],
) -> tuple[SessionView, Authorization | None]:
    """StopTransaction: ends the session (or records a stop for one never seen).

    The idTag is the one presented to stop, perhaps another card of the starter's group
    (1.6 leaves that check to the station): recorded, and answered with its own status;
    the session stays the starter's.
    """
    repo = ChargingRepository(db_session)
    session, note = await _session_for_v16_stop(repo, station, transaction_id, id_tag, timestamp)
    if session is None:
        unknown_id = f"?{transaction_id}@{timestamp.isoformat()}"[:64]
        session = await repo.session_by_transaction(station.pk, unknown_id, for_update=True)
        if session is None:
            session = ChargingSession(
                charging_station_id=station.pk,
                protocol=station.protocol,
                transaction_id=unknown_id,
                id_token=id_tag,
                status=SessionStatus.ACTIVE,
                started_at=min((s.sampled_at for s in transaction_data), default=None),
            )
            db_session.add(session)
            await db_session.flush()
        note = f"stop for transaction {transaction_id}, which this platform never started"
    decision = await authorize(db_session, id_token=id_tag, token_type=None) if id_tag else None
    if session.status is SessionStatus.FINISHED:
        return _view(session), decision  # a retried stop: nothing changes
    evse_id = session.evse_id or 0
    samples = [
        *transaction_data,
        Sample(timestamp, REGISTER, Decimal(meter_stop_wh), "Wh", context="Transaction.End"),
    ]
    await repo.add_samples(
        station=station.pk, evse_id=evse_id, session_id=session.id, samples=samples
    )
    session.status = SessionStatus.FINISHED
    _finished(db_session, session.id)
    session.stopped_at = timestamp
    session.meter_stop_wh = Decimal(meter_stop_wh)
    session.stop_reason = reason or "Local"
    # The idTag that stopped it (perhaps another card of the group): the session stays
    # the starter's.
    session.stop_id_token = id_tag
    await _recompute_energy(repo, session, await _max_power(repo, station, session.evse_id))
    if note is not None:
        session.energy_review = (
            f"{note}; {session.energy_review}" if session.energy_review else note
        )
    await db_session.flush()
    return _view(session), decision


async def stop_held_session(
    db_session: AsyncSession,
    station: StationRef,
    live: LiveSession,
    *,
    meter_stop_wh: int,
    timestamp: datetime,
    reason: str | None,
    id_tag: str | None,
    transaction_data: list[Sample],
) -> Authorization | None:
    """StopTransaction of a session the connection holds live: energy from the readings it
    holds, the session finished by one statement (with the job that rates it and the idTag
    that stopped it, recorded beside the starter's), then that idTag's authorization. A
    repeated stop changes nothing. Each statement is complete on its own: on a connection
    without an explicit transaction the stop is durable once the first returns."""
    repo = ChargingRepository(db_session)
    samples = [
        *transaction_data,
        Sample(timestamp, REGISTER, Decimal(meter_stop_wh), "Wh", context="Transaction.End"),
    ]
    readings = dict(live.readings)
    for s in samples:
        wh = to_wh(s.value, s.unit) if s.value is not None and s.measurand == REGISTER else None
        if wh is not None and s.phase is None:
            readings[s.sampled_at] = wh
    result = session_energy(
        [Reading(at, wh) for at, wh in readings.items()],
        meter_start_wh=live.meter_start_wh,
        started_at=live.started_at,
        max_power_w=live.max_power_w,
    )
    await repo.finish_held(
        session_id=live.pk,
        station=station.pk,
        evse_id=live.evse_id or 0,
        samples=samples,
        stopped_at=timestamp,
        meter_stop_wh=Decimal(meter_stop_wh),
        stop_reason=reason or "Local",
        stop_id_token=id_tag,
        energy_wh=result.energy_wh,
        energy_review=result.review,
        job=outbox_row(
            RATE_SESSION_TASK, tenant=db_session.info["tenant_key"], session_id=str(live.pk)
        ),
    )
    if id_tag is None:
        return None
    return await authorize(db_session, id_token=id_tag, token_type=None)


async def meter_values(
    db_session: AsyncSession,
    station: StationRef,
    *,
    evse_id: int,
    transaction_id: str | None,
    samples: list[Sample],
) -> int:
    """MeterValues of either version: stored once, attached to their session when known.

    Returns how many samples were new.
    """
    repo = ChargingRepository(db_session)
    session: ChargingSession | None = None
    if transaction_id is not None:
        session = await repo.session_by_transaction(station.pk, transaction_id, for_update=True)
    elif evse_id > 0:
        active = await repo.active_sessions(station.pk, evse_id=evse_id)
        session = active[0] if len(active) == 1 else None
    added = await repo.add_samples(
        station=station.pk,
        evse_id=evse_id,
        session_id=session.id if session else None,
        samples=samples,
    )
    if session is not None and added:
        await _recompute_energy(repo, session, await _max_power(repo, station, session.evse_id))
        await db_session.flush()
    return added


# -- OCPP 2.x -------------------------------------------------------------------------------
def _end(db_session: AsyncSession, session: ChargingSession, event: TransactionEventInput) -> None:
    if session.status is not SessionStatus.FINISHED:
        _finished(db_session, session.id)
    session.status = SessionStatus.FINISHED
    session.stopped_at = event.timestamp
    session.stop_reason = event.stopped_reason or "Local"
    session.charging_state = event.charging_state or session.charging_state


async def _apply_event(
    repo: ChargingRepository,
    station: StationRef,
    session: ChargingSession,
    event: TransactionEventInput,
) -> None:
    """What any event tells about its session (in whatever order the events arrive)."""
    if event.evse_id is not None and session.evse_id is None:
        evse = await repo.evse(station.pk, event.evse_id)
        session.evse_id = event.evse_id
        session.evse_pk = evse[0] if evse else None
    if event.connector_id is not None:
        session.connector_id = event.connector_id
    if session.started_at is None or event.timestamp < session.started_at:
        session.started_at = event.timestamp
    if event.remote_start_id is not None:
        session.remote_start_id = event.remote_start_id
    if event.reservation_id is not None:
        session.reservation_id = event.reservation_id
    if event.offline:
        session.offline = True
    if session.last_seq_no is None or event.seq_no >= session.last_seq_no:
        session.last_seq_no = event.seq_no
        if event.charging_state is not None:
            session.charging_state = event.charging_state


def _stops(session: ChargingSession, event: TransactionEventInput) -> bool:
    """Whether the event's token is the one presented to stop (OCPP 2.0.1 E06,
    TriggerReason StopAuthorized): the idToken is sent once per authorization, so a token
    in an Ended event of a session that has its token already ended that authorization."""
    return event.trigger_reason == "StopAuthorized" or (
        event.event_type == "Ended" and session.id_token is not None
    )


async def _event_token(
    db_session: AsyncSession,
    station: StationRef,
    session: ChargingSession,
    event: TransactionEventInput,
    id_token: str,
) -> dict[str, object]:
    """The idTokenInfo of the event's token, which it answers with its own status (and
    group: the station lets a card of the starter's group or a master pass stop, C09/C16).

    The session stays the token's that started it: a Started event's token (even when it
    arrives after a later event), else the first token seen (a start without authorization,
    or an offline transaction that only sent its Ended event). Its account, price segment
    and roaming partner follow that token; a token presented to stop is only recorded.
    """
    stopping = _stops(session, event)
    becomes_owner = event.event_type == "Started" or session.id_token is None
    decision = await authorize(
        db_session,
        id_token=id_token,
        token_type=event.id_token_type,
        for_session=session.id,
        check_concurrent=event.event_type == "Started",
        station=station.pk,
        evse_id=session.evse_id,
        # A stop's token is not asked about (nothing is to start), and links the session
        # to a partner (when it is the first token seen) only at an EVSE partners are told of.
        ending=stopping or event.event_type == "Ended",
    )
    if stopping:
        session.stop_id_token = id_token
        session.stop_id_token_type = event.id_token_type
    if becomes_owner:
        session.id_token = id_token
        session.id_token_type = event.id_token_type
        session.group_id_token = decision.group_id_token
        session.roaming_token_id = decision.roaming_token_id
        session.authorization_reference = decision.authorization_reference
        if (
            decision.remote_start_id is not None
            and session.remote_start_id is None
            and event.event_type != "Ended"
        ):
            session.remote_start_id = decision.remote_start_id
    return decision.as_v2()


async def transaction_event(
    db_session: AsyncSession,
    station: StationRef,
    event: TransactionEventInput,
    *,
    total_cost: TotalCost | None = None,
) -> dict[str, object]:
    """TransactionEvent (Started/Updated/Ended): returns the response payload.

    Events may arrive out of order (offline replay); the session takes the earliest start,
    the latest state and the Ended event's stop. A repeated seqNo gets the stored response.
    ``total_cost`` prices an ended session for the charger's display (``totalCost``, in the
    currency's major unit incl. VAT; left out when it returns None).
    """
    repo = ChargingRepository(db_session)
    seen = await repo.transaction_event(station.pk, event.transaction_id, event.seq_no)
    if seen is not None:
        return dict(seen.response)
    session = await repo.session_by_transaction(station.pk, event.transaction_id, for_update=True)
    if session is None:
        session = ChargingSession(
            charging_station_id=station.pk,
            protocol=station.protocol,
            transaction_id=event.transaction_id,
            status=SessionStatus.ACTIVE,
            started_at=event.timestamp,
        )
        db_session.add(session)
        await db_session.flush()
    await _apply_event(repo, station, session, event)
    response: dict[str, object] = {}
    if event.id_token is not None:
        response["idTokenInfo"] = await _event_token(
            db_session, station, session, event, event.id_token
        )
    if event.event_type == "Ended":
        _end(db_session, session, event)
    evse_id = event.evse_id if event.evse_id is not None else (session.evse_id or 0)
    await repo.add_samples(
        station=station.pk, evse_id=evse_id, session_id=session.id, samples=event.samples
    )
    await _recompute_energy(repo, session, await _max_power(repo, station, session.evse_id))
    if event.event_type == "Ended" and total_cost is not None:
        await db_session.flush()
        cost = await total_cost(db_session, session.id)
        if cost is not None:
            # A JSON number: the shortest float text of an amount in cents is exact.
            response["totalCost"] = float(cost)
    db_session.add(
        TransactionEventRecord(
            charging_station_id=station.pk,
            session_id=session.id,
            transaction_id=event.transaction_id,
            seq_no=event.seq_no,
            event_type=event.event_type,
            trigger_reason=event.trigger_reason,
            timestamp=event.timestamp,
            offline=event.offline,
            payload=event.payload,
            response=response,
        )
    )
    await db_session.flush()
    return response


async def session_of_transaction(
    db_session: AsyncSession, station: StationRef, transaction_id: str
) -> SessionView | None:
    """The session of a station's transaction, as the portal, API and tests see it."""
    found = await ChargingRepository(db_session).session_by_transaction(station.pk, transaction_id)
    return _view(found) if found else None


async def sessions_of_station(db_session: AsyncSession, station: StationRef) -> list[SessionView]:
    """Every session of a station, oldest first."""
    return [_view(s) for s in await ChargingRepository(db_session).sessions_of_station(station.pk)]


async def ensure_id_token(
    db_session: AsyncSession,
    *,
    id_token: str,
    token_type: str,
    label: str | None,
    account_id: uuid.UUID | None = None,
    driver_name: str | None = None,
    vehicle: str | None = None,
    cost_centre: str | None = None,
) -> bool:
    """Add an Accepted token unless it exists (seeding); True when it was added."""
    if await ChargingRepository(db_session).id_token(id_token, token_type) is not None:
        return False
    db_session.add(
        IdToken(
            id_token=id_token,
            type=IdTokenType(token_type),
            label=label,
            status=IdTokenStatus.ACCEPTED,
            account_id=account_id,
            driver_name=driver_name,
            vehicle=vehicle,
            cost_centre=cost_centre,
        )
    )
    await db_session.flush()
    return True
