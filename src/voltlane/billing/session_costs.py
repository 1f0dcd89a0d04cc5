"""What sessions cost as staff see it: the CDR once there is one, the live price before.

Both come from the one pricing engine (``billing.pricing``), so a running session's cost
turns into its CDR's total without a jump.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.cdr_repository import CdrFilter, CdrListRepository, CdrRow, CdrTotals
from voltlane.billing.cdrs import priced_json
from voltlane.billing.errors import NoTariffError
from voltlane.billing.pricing import PricingCache, price_stored_session
from voltlane.billing.repository import BillingRepository
from voltlane.core.clock import utcnow
from voltlane.core.text import N_
from voltlane.models.tenant import Cdr
from voltlane.tariff import TariffError

__all__ = [
    "CdrFilter",
    "CdrRow",
    "CdrTotals",
    "CostSource",
    "SessionCost",
    "SessionPricing",
    "cdr_totals",
    "list_cdr_rows",
    "session_costs",
    "session_pricing",
]


class CostSource(enum.StrEnum):
    CDR = "cdr"  # the session's charge detail record
    LIVE = "live"  # priced now by the engine: what the CDR would say if it ended now


@dataclass(frozen=True, slots=True)
class SessionCost:
    total_incl_vat: int  # minor units of ``currency``
    currency: str
    source: CostSource


@dataclass(frozen=True, slots=True)
class SessionPricing:
    """A session's price in detail: its CDR (and credit) or its live price, or why it has
    none (``unpriced``)."""

    cdr: Cdr | None
    credit: Cdr | None
    priced: dict[str, Any] | None  # ``priced_json``: periods, lines, VAT breakdown, totals
    unpriced: str | None


# Sessions priced per round: bounds the ids in one query (PostgreSQL takes at most 65,535
# parameters) and the samples held in memory at once.
BATCH = 1000


async def session_costs(
    db_session: AsyncSession, session_ids: list[uuid.UUID], *, now: datetime | None = None
) -> dict[uuid.UUID, SessionCost]:
    """The cost incl. VAT of each session: its CDR's total, else its live price (priced in
    batches). Sessions that cannot be priced (no tariff, no start, energy under review) are
    left out."""
    costs: dict[uuid.UUID, SessionCost] = {}
    moment = now or utcnow()
    for first in range(0, len(session_ids), BATCH):
        costs.update(await _batch_costs(db_session, session_ids[first : first + BATCH], moment))
    return costs


async def _batch_costs(
    db_session: AsyncSession, session_ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, SessionCost]:
    found = await CdrListRepository(db_session).cdrs_of_sessions(session_ids)
    costs = {
        session_id: SessionCost(cdr.total_incl_vat, cdr.currency, CostSource.CDR)
        for session_id, cdr in found.items()
    }
    repo = BillingRepository(db_session)
    # Energy under review would be priced from a register nobody trusts: no price at all.
    unrated = [
        s
        for s in await repo.sessions([i for i in session_ids if i not in found])
        if s.energy_wh is not None
    ]
    if not unrated:
        return costs
    # Finished sessions are read ahead as a batch; running ones read their own samples and
    # states up to now (a batch reads states only up to each session's stop).
    finished = PricingCache()
    await finished.prefetch(repo, [s for s in unrated if s.stopped_at and s.started_at])
    running = PricingCache()
    for session in unrated:
        cache = finished if session.stopped_at is not None else running
        try:
            priced = await price_stored_session(
                repo, session, end=session.stopped_at or now, cache=cache
            )
        except (NoTariffError, TariffError):
            continue
        costs[session.id] = SessionCost(
            priced.priced.total_incl_vat, priced.priced.currency, CostSource.LIVE
        )
    return costs


async def session_pricing(
    db_session: AsyncSession, session_id: uuid.UUID, *, now: datetime | None = None
) -> SessionPricing:
    """The CDR of a session with its breakdown (and its credit, if any), or the live price
    while it has no CDR."""
    repo = BillingRepository(db_session)
    cdr = await repo.cdr_of_session(session_id)
    if cdr is not None:
        return SessionPricing(cdr, await repo.credit_of(cdr.id), cdr.priced, None)
    session = await repo.session(session_id)
    if session is None or session.started_at is None:
        return SessionPricing(None, None, None, N_("The session has no start time."))
    if session.energy_wh is None:
        return SessionPricing(
            None, None, None, N_("Its energy needs a person's review before it can be priced.")
        )
    try:
        found = await price_stored_session(repo, session, end=session.stopped_at or now or utcnow())
    except TariffError as exc:
        return SessionPricing(None, None, None, exc.message)
    except NoTariffError as exc:
        return SessionPricing(None, None, None, exc.detail)
    return SessionPricing(None, None, priced_json(found.priced), None)


async def list_cdr_rows(
    db_session: AsyncSession, where: CdrFilter, *, limit: int, offset: int
) -> list[CdrRow]:
    """CDRs and credit CDRs whose session started in the range, the newest first."""
    return await CdrListRepository(db_session).rows(where, limit=limit, offset=offset)


async def cdr_totals(db_session: AsyncSession, where: CdrFilter) -> list[CdrTotals]:
    """What the CDRs in the range add up to, per currency."""
    return await CdrListRepository(db_session).totals(where)
