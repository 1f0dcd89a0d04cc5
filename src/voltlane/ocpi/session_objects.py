"""Roaming sessions as OCPI sees them: the rows behind a partner's Session and CDR objects,
and the pieces both objects share (CdrToken, Price, ChargingPeriod, numbers).

A roaming session is a ChargingSession authorized with a partner's OcpiToken
(``roaming_token_id``); the partner sees only its own. Costs come from the one pricing
engine: the CDR's priced record once there is one, the live price before.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, func, or_, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.cdrs import auth_method, priced_json
from voltlane.billing.errors import NoTariffError
from voltlane.billing.pricing import PricingCache, price_stored_session
from voltlane.billing.repository import BillingRepository
from voltlane.core.clock import utcnow
from voltlane.models.tenant import (
    Cdr,
    CdrKind,
    ChargingSession,
    ChargingStation,
    Evse,
    OcpiPush,
    OcpiToken,
    PushState,
    SessionStatus,
)
from voltlane.ocpi.pagination import PageRequest
from voltlane.ocpi.protocol import Module, ocpi_datetime
from voltlane.station.published import evse_roams
from voltlane.tariff import TariffError
from voltlane.tariff.rounding import from_minor

# Session.status of our session states (mod_sessions SessionStatus).
SESSION_STATUS = {SessionStatus.ACTIVE: "ACTIVE", SessionStatus.FINISHED: "COMPLETED"}
_KWH = Decimal(1000)
# types.asciidoc: "numbers use 4 decimals" (a period's hours and kW have more).
_DECIMALS = Decimal("0.0001")


def number(value: Decimal | int | str) -> int | float:
    """A JSON number for an OCPI ``number`` field (the wire has no decimal type: the exact
    decimal's shortest float renders the same digits)."""
    exact = Decimal(str(value))
    return int(exact) if exact == exact.to_integral_value() else float(exact)


def price(excl_vat: int, incl_vat: int, currency: str) -> dict[str, Any]:
    """An OCPI Price in currency units from minor units."""
    return {
        "excl_vat": number(from_minor(excl_vat, currency)),
        "incl_vat": number(from_minor(incl_vat, currency)),
    }


def cdr_token(token: OcpiToken) -> dict[str, Any]:
    return {
        "country_code": token.country_code,
        "party_id": token.party_id,
        "uid": token.uid,
        "type": token.type,
        "contract_id": token.contract_id,
    }


def charging_periods(priced: dict[str, Any]) -> list[dict[str, Any]]:
    """ChargingPeriods of a priced record (``billing.cdrs.priced_json``); a period without a
    dimension is left out (the spec wants at least one)."""
    periods = []
    for period in priced.get("charging_periods", []):
        dimensions = [
            {"type": d["type"], "volume": number(Decimal(d["volume"]).quantize(_DECIMALS))}
            for d in period["dimensions"]
        ]
        if dimensions:
            periods.append(
                {
                    "start_date_time": ocpi_datetime(
                        datetime.fromisoformat(period["start_date_time"])
                    ),
                    "dimensions": dimensions,
                    "tariff_id": priced["tariff_id"],
                }
            )
    return periods


@dataclass(frozen=True, slots=True)
class RoamingSession:
    session: ChargingSession
    token: OcpiToken
    location_id: uuid.UUID
    evse_uid: uuid.UUID


def _roaming() -> Select[ChargingSession, OcpiToken, uuid.UUID | None, uuid.UUID]:
    return (
        select(ChargingSession, OcpiToken, ChargingStation.location_id, Evse.id)
        .join(OcpiToken, OcpiToken.id == ChargingSession.roaming_token_id)
        .join(ChargingStation, ChargingStation.id == ChargingSession.charging_station_id)
        # Session.location_id and evse_uid are required and name what the locations module
        # publishes: a session at no EVSE (a start on a connector the station has no EVSE
        # for, a 2.x transaction whose events never named one) or at an EVSE without an
        # eMI3 id is not reported (the authorization refuses partners' tokens there; a
        # later event naming a published EVSE makes it reportable).
        .join(Evse, Evse.id == ChargingSession.evse_pk)
        .where(
            ChargingStation.location_id.is_not(None),
            ChargingSession.started_at.is_not(None),
            evse_roams(),
        )
    )


def _rows(rows: Sequence[Any]) -> list[RoamingSession]:
    return [RoamingSession(s, t, loc, evse) for s, t, loc, evse in rows]


def of_parties(parties: frozenset[tuple[str, str]] | None) -> ColumnElement[bool]:
    """Tokens of ``parties`` (every token when None): what a request through a hub that
    names its party in the OCPI-from headers may see."""
    if parties is None:
        return true()
    return tuple_(OcpiToken.country_code, OcpiToken.party_id).in_(sorted(parties))


async def partner_sessions(
    db_session: AsyncSession,
    partner_id: uuid.UUID,
    page: PageRequest,
    parties: frozenset[tuple[str, str]] | None = None,
) -> tuple[list[RoamingSession], int]:
    """The partner's sessions (of ``parties`` when given) last updated in the page's
    window, in a stable order, with the count of all that match."""
    statement = _roaming().where(OcpiToken.partner_id == partner_id, of_parties(parties))
    if page.date_from is not None:
        statement = statement.where(ChargingSession.updated_at >= page.date_from)
    if page.date_to is not None:
        statement = statement.where(ChargingSession.updated_at < page.date_to)
    total = await db_session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = (
        await db_session.execute(
            statement.order_by(ChargingSession.created_at, ChargingSession.id)
            .offset(page.offset)
            .limit(page.limit)
        )
    ).all()
    return _rows(rows), int(total or 0)


async def roaming_session(
    db_session: AsyncSession,
    session_id: uuid.UUID,
    partner_id: uuid.UUID | None = None,
    parties: frozenset[tuple[str, str]] | None = None,
) -> RoamingSession | None:
    """One roaming session (of ``partner_id`` and ``parties`` when given)."""
    statement = _roaming().where(ChargingSession.id == session_id, of_parties(parties))
    if partner_id is not None:
        statement = statement.where(OcpiToken.partner_id == partner_id)
    rows = _rows((await db_session.execute(statement)).all())
    return rows[0] if rows else None


async def sessions_to_push(
    db_session: AsyncSession,
    partner_id: uuid.UUID,
    *,
    since: datetime,
    limit: int,
    skip: frozenset[tuple[str, str]] = frozenset(),
) -> list[RoamingSession]:
    """The partner's sessions (but those of the parties in ``skip``) it may not know as
    they are: ongoing ones, and those that ended (updated from ``since``) without a
    COMPLETED Session put to it yet; those it was told of longest ago (or never) first, so
    that a batch never starves the rest."""
    pushes = select(OcpiPush.id).where(
        OcpiPush.partner_id == partner_id,
        OcpiPush.module == Module.SESSIONS.value,
        OcpiPush.object_id == cast(ChargingSession.id, String),
    )
    completed = pushes.where(
        OcpiPush.method == "PUT",
        OcpiPush.state != PushState.SUPERSEDED,
        OcpiPush.body["status"].astext == SESSION_STATUS[SessionStatus.FINISHED],
    )
    last_told = (
        pushes.with_only_columns(func.max(OcpiPush.created_at))
        .where(OcpiPush.state != PushState.SUPERSEDED)
        .scalar_subquery()
    )
    statement = (
        _roaming()
        .where(
            OcpiToken.partner_id == partner_id,
            ~of_parties(skip) if skip else true(),
            or_(
                ChargingSession.status == SessionStatus.ACTIVE, ChargingSession.updated_at >= since
            ),
            ~completed.exists(),
        )
        .order_by(last_told.asc().nulls_first(), ChargingSession.created_at, ChargingSession.id)
        .limit(limit)
    )
    return _rows((await db_session.execute(statement)).all())


async def priced_records(
    db_session: AsyncSession, sessions: list[ChargingSession], *, now: datetime | None = None
) -> dict[uuid.UUID, dict[str, Any]]:
    """The priced record of each session: its CDR's, else its live price; sessions that
    cannot be priced (no tariff, energy under review) are left out."""
    ids = [s.id for s in sessions]
    found: dict[uuid.UUID, dict[str, Any]] = {}
    if ids:
        cdrs = await db_session.scalars(
            select(Cdr).where(Cdr.session_id.in_(ids), Cdr.kind == CdrKind.CDR)
        )
        found = {cdr.session_id: cdr.priced for cdr in cdrs}
    repo = BillingRepository(db_session)
    unpriced = [s for s in sessions if s.id not in found]
    cache = PricingCache()
    if unpriced:
        await cache.prefetch(repo, unpriced)
    moment = now or utcnow()
    for session in unpriced:
        end = session.stopped_at or moment
        try:
            priced = await price_stored_session(repo, session, end=end, cache=cache)
        except (NoTariffError, TariffError):
            continue
        found[session.id] = priced_json(priced.priced)
    return found


def connector_id(session: ChargingSession) -> str:
    """Connector.id as the locations module publishes it; an OCPP 1.6 EVSE (its connector)
    has the one connector 1."""
    return str(session.connector_id if session.connector_id is not None else 1)


def session_object(
    row: RoamingSession, party: tuple[str, str], currency: str, priced: dict[str, Any] | None
) -> dict[str, Any]:
    """The OCPI Session object (mod_sessions "Session Object"); ``currency`` is the brand's,
    for a session the engine cannot price yet."""
    session = row.session
    assert session.started_at is not None
    energy = session.energy_wh if session.energy_wh is not None else Decimal(0)
    body: dict[str, Any] = {
        "country_code": party[0],
        "party_id": party[1],
        "id": str(session.id),
        "start_date_time": ocpi_datetime(session.started_at),
    }
    if session.stopped_at is not None:
        body["end_date_time"] = ocpi_datetime(session.stopped_at)
    body |= {
        "kwh": number((energy / _KWH).quantize(Decimal("0.001"))),
        "cdr_token": cdr_token(row.token),
        "auth_method": auth_method(session),
    }
    if session.authorization_reference:
        body["authorization_reference"] = session.authorization_reference
    body |= {
        "location_id": str(row.location_id),
        "evse_uid": str(row.evse_uid),
        "connector_id": connector_id(session),
        "currency": priced["currency"] if priced is not None else currency,
    }
    if priced is not None:
        periods = charging_periods(priced)
        if periods:
            body["charging_periods"] = periods
        body["total_cost"] = price(
            priced["total_excl_vat"], priced["total_incl_vat"], priced["currency"]
        )
    body["status"] = SESSION_STATUS[session.status]
    body["last_updated"] = ocpi_datetime(session.updated_at)
    return body
