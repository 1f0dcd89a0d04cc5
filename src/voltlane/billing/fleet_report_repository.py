"""Every query of what a fleet manager reads about their own fleet account.

Each query takes the account and keeps to it: a card, a session or a CDR of another
account is not found, as if it did not exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from voltlane.models.tenant import (
    Cdr,
    CdrKind,
    ChargingSession,
    ChargingStation,
    IdToken,
    IdTokenStatus,
)

_SESSION_TOKEN = and_(
    IdToken.id_token == ChargingSession.id_token, IdToken.type == ChargingSession.id_token_type
)
_CDR_TOKEN = and_(IdToken.id_token == Cdr.id_token, IdToken.type == Cdr.id_token_type)


class FleetReportRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def cards(
        self,
        account_id: uuid.UUID,
        *,
        driver: str | None,
        status: IdTokenStatus | None,
        limit: int,
        offset: int,
    ) -> list[IdToken]:
        """The account's cards by value, optionally of one driver or in one status."""
        stmt = select(IdToken).where(IdToken.account_id == account_id)
        if driver:
            stmt = stmt.where(IdToken.driver_name == driver)
        if status is not None:
            stmt = stmt.where(IdToken.status == status)
        rows = await self.db_session.scalars(
            stmt.order_by(IdToken.id_token.collate("C"), IdToken.type).limit(limit).offset(offset)
        )
        return list(rows)

    async def card(self, account_id: uuid.UUID, card_id: uuid.UUID) -> IdToken | None:
        return await self.db_session.scalar(
            select(IdToken).where(IdToken.id == card_id, IdToken.account_id == account_id)
        )

    async def drivers(self, account_id: uuid.UUID, *, limit: int, offset: int) -> list[Any]:
        """(driver, cards, active cards, vehicles) per driver named on the account's cards."""
        accepted = func.count().filter(IdToken.status == IdTokenStatus.ACCEPTED)
        vehicles = func.string_agg(IdToken.vehicle.distinct(), ", ")
        rows = await self.db_session.execute(
            select(IdToken.driver_name, func.count(), accepted, vehicles)
            .where(IdToken.account_id == account_id)
            .group_by(IdToken.driver_name)
            .order_by(IdToken.driver_name.is_(None), IdToken.driver_name)
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

    async def sessions(
        self,
        account_id: uuid.UUID,
        *,
        driver: str | None,
        card: str | None,
        vehicle: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> list[Any]:
        """Sessions of the account's cards, newest first, with their CDR's totals (if rated)
        and whether that CDR was credited."""
        credit = aliased(Cdr)
        stmt = (
            select(
                ChargingSession,
                ChargingStation.station_id,
                IdToken.driver_name,
                IdToken.vehicle,
                IdToken.cost_centre,
                Cdr.total_excl_vat,
                Cdr.total_incl_vat,
                Cdr.currency,
                credit.id.is_not(None),
            )
            .join(IdToken, _SESSION_TOKEN)
            .join(ChargingStation, ChargingStation.id == ChargingSession.charging_station_id)
            .outerjoin(Cdr, and_(Cdr.session_id == ChargingSession.id, Cdr.kind == CdrKind.CDR))
            .outerjoin(credit, and_(credit.credit_of == Cdr.id, credit.kind == CdrKind.CREDIT))
            .where(IdToken.account_id == account_id)
        )
        if driver:
            stmt = stmt.where(IdToken.driver_name == driver)
        if card:
            stmt = stmt.where(IdToken.id_token == card)
        if vehicle:
            stmt = stmt.where(IdToken.vehicle == vehicle)
        if since is not None:
            stmt = stmt.where(ChargingSession.started_at >= since)
        if until is not None:
            stmt = stmt.where(ChargingSession.started_at < until)
        rows = await self.db_session.execute(
            stmt.order_by(
                ChargingSession.started_at.desc().nulls_last(), ChargingSession.seq.desc()
            )
            .limit(limit)
            .offset(offset)
        )
        return list(rows)

    async def cost_by_cost_centre(
        self, account_id: uuid.UUID, *, since: datetime, until: datetime
    ) -> list[Any]:
        """Per cost centre of the card and currency: sessions, kWh and totals of the CDRs
        ended in [since, until); a credit CDR counts negatively, so credited sessions net out."""
        is_credit = Cdr.kind == CdrKind.CREDIT
        sessions = func.sum(case((is_credit, -1), else_=1))
        # A credit CDR repeats its CDR's energy (its money is negated already).
        energy = func.sum(case((is_credit, -Cdr.total_energy_kwh), else_=Cdr.total_energy_kwh))
        rows = await self.db_session.execute(
            select(
                IdToken.cost_centre,
                Cdr.currency,
                sessions,
                energy,
                func.sum(Cdr.total_excl_vat),
                func.sum(Cdr.total_vat),
                func.sum(Cdr.total_incl_vat),
            )
            .join(IdToken, _CDR_TOKEN)
            .where(
                IdToken.account_id == account_id,
                Cdr.end_date_time >= since,
                Cdr.end_date_time < until,
            )
            .group_by(IdToken.cost_centre, Cdr.currency)
            .order_by(IdToken.cost_centre.is_(None), IdToken.cost_centre, Cdr.currency)
        )
        return list(rows)
