"""Queries of the CDR lists staff read: pages with a date range, totals, CDRs by session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from voltlane.models.tenant import Cdr, CdrKind, ChargingStation

_Columns = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class CdrFilter:
    """CDRs whose session started in [``started_from``, ``started_before``) (UTC); None
    leaves a bound out."""

    started_from: datetime | None = None
    started_before: datetime | None = None


@dataclass(frozen=True, slots=True)
class CdrRow:
    """A CDR or a credit CDR as a list shows it (amounts in minor units of ``currency``)."""

    id: uuid.UUID
    number: int
    kind: CdrKind
    credit_of_number: int | None
    session_id: uuid.UUID
    station_id: str
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    tariff_code: str
    segment: str
    start_date_time: datetime
    end_date_time: datetime
    total_energy_kwh: Decimal
    total_time_hours: Decimal
    total_parking_time_hours: Decimal
    total_excl_vat: int
    total_vat: int
    total_incl_vat: int
    currency: str
    remark: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class CdrTotals:
    """What the CDRs of one currency add up to (credits subtract)."""

    currency: str
    count: int
    energy_kwh: Decimal
    total_excl_vat: int
    total_vat: int
    total_incl_vat: int


def _filtered(stmt: Select[*_Columns], where: CdrFilter) -> Select[*_Columns]:
    if where.started_from is not None:
        stmt = stmt.where(Cdr.start_date_time >= where.started_from)
    if where.started_before is not None:
        stmt = stmt.where(Cdr.start_date_time < where.started_before)
    return stmt


def _cdr_row(values: Any) -> CdrRow:
    return CdrRow(*values)


class CdrListRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def rows(self, where: CdrFilter, *, limit: int, offset: int) -> list[CdrRow]:
        """CDRs and credits in the range, the newest number first."""
        original = aliased(Cdr)
        stmt = (
            select(
                Cdr.id,
                Cdr.number,
                Cdr.kind,
                original.number,
                Cdr.session_id,
                ChargingStation.station_id,
                Cdr.evse_id,
                Cdr.connector_id,
                Cdr.id_token,
                Cdr.tariff_code,
                Cdr.segment,
                Cdr.start_date_time,
                Cdr.end_date_time,
                Cdr.total_energy_kwh,
                Cdr.total_time_hours,
                Cdr.total_parking_time_hours,
                Cdr.total_excl_vat,
                Cdr.total_vat,
                Cdr.total_incl_vat,
                Cdr.currency,
                Cdr.remark,
                Cdr.created_at,
            )
            .join(ChargingStation, ChargingStation.id == Cdr.charging_station_id)
            .outerjoin(original, original.id == Cdr.credit_of)
        )
        rows = await self.db_session.execute(
            _filtered(stmt, where).order_by(Cdr.number.desc()).limit(limit).offset(offset)
        )
        return [_cdr_row(r) for r in rows]

    async def totals(self, where: CdrFilter) -> list[CdrTotals]:
        """Sums of the CDRs in the range per currency: a credit's negative amounts add
        in, and its energy (stored as the CDR's) is subtracted."""
        signed_energy = func.coalesce(
            func.sum(
                case(
                    (Cdr.kind == CdrKind.CREDIT, -Cdr.total_energy_kwh),
                    else_=Cdr.total_energy_kwh,
                )
            ),
            0,
        )
        rows = await self.db_session.execute(
            _filtered(
                select(
                    Cdr.currency,
                    func.count(),
                    signed_energy,
                    func.sum(Cdr.total_excl_vat),
                    func.sum(Cdr.total_vat),
                    func.sum(Cdr.total_incl_vat),
                ),
                where,
            )
            .group_by(Cdr.currency)
            .order_by(Cdr.currency)
        )
        return [
            CdrTotals(r[0], int(r[1]), Decimal(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows
        ]

    async def cdrs_of_sessions(self, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, Cdr]:
        """The CDR (not a credit) of each of ``session_ids`` that has one."""
        if not session_ids:
            return {}
        found = await self.db_session.scalars(
            select(Cdr).where(Cdr.session_id.in_(session_ids), Cdr.kind == CdrKind.CDR)
        )
        return {c.session_id: c for c in found}
