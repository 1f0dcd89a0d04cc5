"""Charge detail records: exactly one per finished session, immutable, corrected by credit."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.errors import CdrNotFoundError, NoTariffError, SessionNotRatableError
from voltlane.billing.pricing import PricingCache, StoredSession, price_stored_session
from voltlane.billing.repository import BillingRepository, CdrRows
from voltlane.core.clock import iso_utc, utcnow
from voltlane.core.ids import new_id
from voltlane.models.tenant import Cdr, CdrKind, SessionStatus
from voltlane.tariff import PricedSession

log = logging.getLogger(__name__)

_HOUR = Decimal(3600)


def _hours(seconds: float) -> Decimal:
    return (Decimal(str(seconds)) / _HOUR).quantize(Decimal("0.000001"))


def priced_json(priced: PricedSession) -> dict[str, Any]:
    """The priced session as stored on a CDR and returned by the API (amounts in minor
    units, quantities as decimal strings)."""
    return {
        "tariff_id": priced.tariff_id,
        "currency": priced.currency,
        "start_date_time": iso_utc(priced.start),
        "end_date_time": iso_utc(priced.end),
        "charging_periods": [
            {
                "start_date_time": iso_utc(p.start_date_time),
                "end_date_time": iso_utc(p.end_date_time),
                "kind": p.kind.value,
                "dimensions": [
                    {"type": d.type.value, "volume": str(d.volume)} for d in p.dimensions
                ],
                "tariff_elements": {kind.value: index for kind, index in p.elements},
            }
            for p in priced.periods
        ],
        "lines": [
            {
                "kind": line.kind.value,
                "unit_price": str(line.unit_price),
                "vat_rate": str(line.vat_rate) if line.vat_rate is not None else None,
                "quantity": str(line.quantity),
                "billed_quantity": str(line.billed_quantity),
                "excl_vat": line.excl_vat,
                "vat": line.vat,
                "incl_vat": line.incl_vat,
            }
            for line in priced.lines
        ],
        "vat_breakdown": [
            {
                "rate": str(v.rate) if v.rate is not None else None,
                "taxable": v.taxable,
                "vat": v.vat,
            }
            for v in priced.vat_breakdown
        ],
        "price_cap": priced.price_cap.value if priced.price_cap is not None else None,
        "idle_seconds": priced.idle_time.total_seconds(),
        "total_energy_kwh": str(priced.total_energy_kwh),
        "included_energy_wh": priced.included_energy_wh,
        "total_excl_vat": priced.total_excl_vat,
        "total_vat": priced.total_vat,
        "total_incl_vat": priced.total_incl_vat,
    }


def auth_method(session: StoredSession) -> str:
    """OCPI AuthMethod: started by a command (the session keeps the remoteStartId it was
    started with, stored by charging for a 1.6 charger that does not report it), checked
    online, or from the local list."""
    if session.remote_start_id is not None:
        return "COMMAND"
    return "WHITELIST" if session.offline else "AUTH_REQUEST"


async def rate_session(db_session: AsyncSession, session_id: uuid.UUID) -> Cdr | None:
    """Produce the CDR of a finished session, once: a second call returns the same CDR.

    Returns None (and changes nothing) while the session's energy needs a person's review;
    raises SessionNotRatableError for a session still running and NoTariffError when no
    tariff applies.
    """
    repo = BillingRepository(db_session)
    existing = await repo.cdr_of_session(session_id)
    if existing is not None:
        return existing
    found = await repo.session_rows([session_id])
    if not found:
        raise SessionNotRatableError(f"session {session_id} does not exist")
    session = found[0]
    inserted = await _insert_cdr(repo, session, PricingCache())
    if inserted is None:
        # Energy under review, or a concurrent run won the insert.
        return await repo.cdr_of_session(session.id)
    cdr = await repo.cdr(inserted)
    if cdr is not None:
        log.info(
            "cdr created",
            extra={"cdr": cdr.number, "session_id": str(session.id), "total": cdr.total_incl_vat},
        )
    return cdr


async def _insert_cdr(
    repo: BillingRepository, session: StoredSession, cache: PricingCache
) -> uuid.UUID | None:
    """Price a finished session and insert its CDR; its id, or None when nothing was
    inserted (energy under review, or the session has its CDR already)."""
    values = await _cdr_values(repo, session, cache)
    return await repo.insert_cdr(values) if values is not None else None


async def _cdr_values(
    repo: BillingRepository, session: StoredSession, cache: PricingCache
) -> dict[str, Any] | None:
    """The CDR of a finished session as column values; None while its energy is under
    review."""
    if session.status is not SessionStatus.FINISHED or session.stopped_at is None:
        raise SessionNotRatableError("the session has not finished")
    if session.energy_wh is None:
        log.warning(
            "session not rated: energy needs review",
            extra={"session_id": str(session.id), "review": session.energy_review},
        )
        return None
    found = await price_stored_session(
        repo, session, end=session.stopped_at, cache=cache, rating=True
    )
    priced = found.priced
    signed = [
        {"at": iso_utc(at), "measurand": measurand, "signed_data": data}
        for at, measurand, data in await cache.signed_of(repo, session)
    ]
    return {
        "id": new_id(),
        "kind": CdrKind.CDR,
        "session_id": session.id,
        "charging_station_id": session.charging_station_id,
        "location_id": found.location_id,
        "evse_id": session.evse_id,
        "connector_id": session.connector_id,
        "id_token": session.id_token,
        "id_token_type": session.id_token_type,
        "auth_method": auth_method(session),
        "segment": str(found.segment),
        "tariff_version_id": found.version.id,
        "tariff_code": found.version.code,
        "currency": priced.currency,
        "start_date_time": priced.start,
        "end_date_time": priced.end,
        "total_energy_kwh": priced.total_energy_kwh,
        "total_time_hours": _hours(priced.total_time.total_seconds()),
        "total_parking_time_hours": _hours(priced.total_parking_time.total_seconds()),
        "total_excl_vat": priced.total_excl_vat,
        "total_vat": priced.total_vat,
        "total_incl_vat": priced.total_incl_vat,
        "included_energy_wh": priced.included_energy_wh,
        "priced": priced_json(priced),
        "signed_data": signed or None,
    }


async def credit_cdr(db_session: AsyncSession, cdr_id: uuid.UUID, *, reason: str) -> Cdr:
    """Cancel a CDR with a CREDIT record (the same figures negated). Once per CDR: a second
    call returns the existing credit."""
    repo = BillingRepository(db_session)
    original = await repo.cdr(cdr_id)
    if original is None or original.kind is not CdrKind.CDR:
        raise CdrNotFoundError(f"no CDR {cdr_id}", field="cdr_id")
    existing = await repo.credit_of(original.id)
    if existing is not None:
        return existing
    values = {
        column: getattr(original, column)
        for column in (
            "session_id",
            "charging_station_id",
            "location_id",
            "evse_id",
            "connector_id",
            "id_token",
            "id_token_type",
            "auth_method",
            "segment",
            "tariff_version_id",
            "tariff_code",
            "currency",
            "start_date_time",
            "end_date_time",
            "total_energy_kwh",
            "total_time_hours",
            "total_parking_time_hours",
            "priced",
            "signed_data",
        )
    }
    await repo.insert_cdr(
        {
            **values,
            "id": new_id(),
            "kind": CdrKind.CREDIT,
            "credit_of": original.id,
            "total_excl_vat": -original.total_excl_vat,
            "total_vat": -original.total_vat,
            "total_incl_vat": -original.total_incl_vat,
            "included_energy_wh": -original.included_energy_wh,
            "remark": reason[:255],
        }
    )
    credit = await repo.credit_of(original.id)
    assert credit is not None
    return credit


async def live_cost(
    db_session: AsyncSession, session_id: uuid.UUID, *, now: datetime | None = None
) -> PricedSession:
    """What the session has cost so far: exactly what its CDR would say if it ended now
    (for a finished session, its final price)."""
    repo = BillingRepository(db_session)
    session = await repo.session(session_id)
    if session is None:
        raise SessionNotRatableError(f"session {session_id} does not exist")
    end = session.stopped_at if session.stopped_at is not None else (now or utcnow())
    found = await price_stored_session(repo, session, end=end)
    return found.priced


@dataclass(frozen=True, slots=True)
class RatedBatch:
    """What one batch of a billing run did, and where it ended."""

    created: int  # CDRs created
    # (stopped_at, id) of the last session it picked (rated or passed over: no tariff yet);
    # None when it found none, which ends the run.
    last: tuple[datetime, uuid.UUID] | None


async def rate_pending(db_session: AsyncSession, *, limit: int = 500) -> int:
    """Rate finished sessions that have no CDR yet (a catch-up after an outage), the first
    ``limit`` in the order they ended; returns how many CDRs were created."""
    return (await rate_pending_batch(db_session, limit=limit)).created


async def rate_pending_batch(
    db_session: AsyncSession,
    *,
    limit: int = 500,
    after: tuple[datetime, uuid.UUID] | None = None,
) -> RatedBatch:
    """One batch of a billing run: up to ``limit`` finished sessions without a CDR in the
    order they ended, after ``after`` (the ``last`` of the run's previous batch), each rated.

    A run hands each batch's ``last`` to the next so no batch reads the sessions before it
    again; a run starts from the beginning (``after=None``), so what a run passes by — a
    session that finished with an earlier end after the run went past it (a charger's
    offline queue), one without a tariff, one whose energy was under review — is found by
    the next run.
    """
    repo = BillingRepository(db_session)
    cache = PricingCache()
    picked = await repo.unrated_sessions(limit, after=after)
    if not picked:
        return RatedBatch(created=0, last=None)
    sessions = await repo.session_rows([session_id for session_id, _ in picked])
    await cache.prefetch(repo, sessions)
    await cache.lock_allowances(repo)
    rows = CdrRows()
    for session in sessions:
        try:
            values = await _cdr_values(repo, session, cache)
        except NoTariffError as exc:
            # Nothing is written for it; it is rated once a tariff is assigned.
            log.warning(
                "session not rated: no tariff",
                extra={"session_id": str(session.id), "detail": exc.detail},
            )
            continue
        if values is not None:
            rows.add(values)
    last_id, last_stopped = picked[-1]
    return RatedBatch(created=await repo.insert_cdrs(rows), last=(last_stopped, last_id))


async def get_cdr(db_session: AsyncSession, cdr_id: uuid.UUID) -> Cdr:
    cdr = await BillingRepository(db_session).cdr(cdr_id)
    if cdr is None:
        raise CdrNotFoundError(f"no CDR {cdr_id}")
    return cdr


async def list_cdrs(
    db_session: AsyncSession, *, since: datetime | None, limit: int, offset: int
) -> tuple[list[Cdr], int]:
    """CDRs and credits by number (created at or after ``since``), with the total count."""
    return await BillingRepository(db_session).cdrs(since=since, limit=limit, offset=offset)
