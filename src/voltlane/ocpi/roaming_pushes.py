"""What the brand owes its partners about their drivers' charges: each CDR POSTed once, and
each Session PUT when it starts, PATCHed while it runs and PUT again, COMPLETED, at its end.

A periodic reconciliation (jobs ``ocpi.push_cdrs`` and ``ocpi.push_sessions``, every 30 s)
finds what to push by comparing the brand's rows with the pushes already written, instead
of a port in the OCPP hot path: meter values and starts pay no extra query or partner
lookup, a push is never lost to a crash between the charger's message and the outbox, and
a partner that gains a receiver endpoint later catches up. The price is up to a sweep's
delay on the partner's side, which OCPI allows (pushes are best effort; GET is the truth).

Both run under a transaction-scoped advisory lock per brand and kind, so two runs never
queue one CDR twice: the second waits and then sees the first one's pushes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import OcpiPartner, OcpiPush, PartnerState, PushState
from voltlane.ocpi.cdrs import cdr_object, unpushed_cdrs
from voltlane.ocpi.protocol import InterfaceRole, Module, ocpi_datetime
from voltlane.ocpi.pushes import endpoint_url, queue_push
from voltlane.ocpi.routing import unreachable_parties
from voltlane.ocpi.session_objects import (
    RoamingSession,
    priced_records,
    session_object,
    sessions_to_push,
)
from voltlane.tenancy import TenantInfo

# CDRs made, and sessions ended, longer ago than this are not pushed any more (a partner
# that was away that long reads them with GET).
LOOKBACK = timedelta(days=7)
# An ongoing session is PATCHed at most this often.
PATCH_EVERY = timedelta(seconds=60)
# Objects per partner and run; the next run takes the rest.
BATCH = 500
COMPLETED = "COMPLETED"


async def receivers(
    db_session: AsyncSession, brand: TenantInfo, module: Module
) -> tuple[tuple[str, str], list[OcpiPartner]]:
    """The brand's party and its registered partners with a receiver endpoint of
    ``module``, under the brand's lock of ``module``; no partners for a brand that is not
    an OCPI party."""
    party = brand.ocpi_party
    if party is None:
        return ("", ""), []
    await db_session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
        {"key": f"ocpi.push.{module.value}:{brand.key}"},
    )
    partners = await db_session.scalars(
        select(OcpiPartner)
        .where(OcpiPartner.state == PartnerState.REGISTERED)
        .order_by(OcpiPartner.id)
    )
    return party, [p for p in partners if endpoint_url(p, module.value, InterfaceRole.RECEIVER)]


async def queue_cdr_posts(db_session: AsyncSession, brand: TenantInfo, *, now: datetime) -> int:
    """Queue a POST of every roaming CDR (and credit CDR) its partner has not been sent;
    returns how many."""
    party, partners = await receivers(db_session, brand, Module.CDRS)
    queued = 0
    for partner in partners:
        skip = await unreachable_parties(db_session, partner)
        for row in await unpushed_cdrs(
            db_session, partner.id, since=now - LOOKBACK, limit=BATCH, skip=skip
        ):
            await queue_push(
                db_session,
                brand.key,
                partner_id=partner.id,
                module=Module.CDRS.value,
                object_id=str(row.cdr.id),
                method="POST",
                path="",
                body=cdr_object(row, party),
                to_party=(row.token.country_code, row.token.party_id),
            )
            queued += 1
    return queued


def told(pushes: list[OcpiPush]) -> dict[str, Any] | None:
    """The Session a partner holds after ``pushes`` (oldest first, none superseded): the
    last PUT with the PATCHes after it, their charging periods added (mod_sessions PATCH)."""
    held: dict[str, Any] | None = None
    for push in pushes:
        body = dict(push.body or {})
        if push.method == "PUT":
            held = body
        elif held is not None:
            periods = body.pop("charging_periods", [])
            held |= body
            held["charging_periods"] = held.get("charging_periods", []) + periods
    return held


def session_push(
    current: dict[str, Any],
    held: dict[str, Any] | None,
    *,
    last_push: datetime | None,
    now: datetime,
) -> tuple[str, dict[str, Any]] | None:
    """The request that brings the partner's copy ``held`` up to ``current``, if one is due:
    a PUT of a session it does not know or that ended, else at most every PATCH_EVERY a
    PATCH of the energy, cost and new charging periods that changed."""
    if held is None or current["status"] == COMPLETED:
        return "PUT", current
    if last_push is not None and now - last_push < PATCH_EVERY:
        return None
    patch: dict[str, Any] = {}
    if current["kwh"] != held.get("kwh"):
        patch["kwh"] = current["kwh"]
    if "total_cost" in current and current["total_cost"] != held.get("total_cost"):
        patch["total_cost"] = current["total_cost"]
    known = {period["start_date_time"] for period in held.get("charging_periods", [])}
    added = [p for p in current.get("charging_periods", []) if p["start_date_time"] not in known]
    if added:
        patch["charging_periods"] = added
    if not patch:
        return None
    # The cost of a running session changes with time alone: the patch is as of now.
    patch["last_updated"] = ocpi_datetime(now)
    return "PATCH", patch


async def _pushes_of(
    db_session: AsyncSession, partner: OcpiPartner, rows: list[RoamingSession]
) -> dict[str, list[OcpiPush]]:
    ids = [str(row.session.id) for row in rows]
    found: dict[str, list[OcpiPush]] = defaultdict(list)
    if ids:
        for push in await db_session.scalars(
            select(OcpiPush)
            .where(
                OcpiPush.partner_id == partner.id,
                OcpiPush.module == Module.SESSIONS.value,
                OcpiPush.object_id.in_(ids),
                OcpiPush.state != PushState.SUPERSEDED,
            )
            .order_by(OcpiPush.created_at, OcpiPush.id)
        ):
            found[push.object_id].append(push)
    return found


async def queue_session_pushes(
    db_session: AsyncSession, brand: TenantInfo, *, now: datetime
) -> int:
    """Queue the Session pushes that are due (see ``session_push``); returns how many."""
    party, partners = await receivers(db_session, brand, Module.SESSIONS)
    queued = 0
    for partner in partners:
        skip = await unreachable_parties(db_session, partner)
        rows = await sessions_to_push(
            db_session, partner.id, since=now - LOOKBACK, limit=BATCH, skip=skip
        )
        priced = await priced_records(db_session, [row.session for row in rows], now=now)
        pushes = await _pushes_of(db_session, partner, rows)
        for row in rows:
            object_id = str(row.session.id)
            history = pushes.get(object_id, [])
            current = session_object(row, party, brand.currency, priced.get(row.session.id))
            due = session_push(
                current,
                told(history),
                last_push=history[-1].created_at if history else None,
                now=now,
            )
            if due is None:
                continue
            method, body = due
            await queue_push(
                db_session,
                brand.key,
                partner_id=partner.id,
                module=Module.SESSIONS.value,
                object_id=object_id,
                method=method,
                path=f"/{party[0]}/{party[1]}/{object_id}",
                body=body,
                to_party=(row.token.country_code, row.token.party_id),
            )
            queued += 1
    return queued
