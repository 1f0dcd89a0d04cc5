"""Reading the OCPP frame log of a station (what the gateway wrote, verbatim)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import OcppFrame
from voltlane.station.schemas import FrameFilter

MAX_FRAMES = 500


@dataclass(frozen=True, slots=True)
class FrameView:
    id: int
    at: datetime
    direction: str
    message_type: int | None
    message_id: str | None
    action: str | None
    error_code: str | None
    latency_ms: Decimal | None
    raw: str


async def station_frames(
    db_session: AsyncSession,
    station_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    action: str | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[FrameView]:
    """Frames of ``station_id`` in [since, until), newest first, optionally one action;
    ``before_id`` pages further back."""
    stmt = select(OcppFrame).where(OcppFrame.station_id == station_id)
    if since is not None:
        stmt = stmt.where(OcppFrame.at >= since)
    if until is not None:
        stmt = stmt.where(OcppFrame.at < until)
    if action is not None:
        stmt = stmt.where(OcppFrame.action == action)
    if before_id is not None:
        stmt = stmt.where(OcppFrame.id < before_id)
    rows = await db_session.scalars(
        stmt.order_by(OcppFrame.at.desc(), OcppFrame.id.desc()).limit(min(limit, MAX_FRAMES))
    )
    return [_view(r) for r in rows]


async def frame_page(
    db_session: AsyncSession,
    station_id: str,
    filters: FrameFilter,
    *,
    limit: int,
    offset: int,
) -> list[FrameView]:
    """Frames of ``station_id`` newest first, narrowed by direction, action and the time
    range [since, until): one page of the portal's message log."""
    stmt = select(OcppFrame).where(OcppFrame.station_id == station_id)
    if filters.direction is not None:
        stmt = stmt.where(OcppFrame.direction == filters.direction)
    if filters.action is not None:
        stmt = stmt.where(OcppFrame.action == filters.action)
    if filters.since is not None:
        stmt = stmt.where(OcppFrame.at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(OcppFrame.at < filters.until)
    rows = await db_session.scalars(
        stmt.order_by(OcppFrame.at.desc(), OcppFrame.id.desc()).limit(limit).offset(offset)
    )
    return [_view(r) for r in rows]


def _view(row: OcppFrame) -> FrameView:
    return FrameView(
        id=row.id,
        at=row.at,
        direction=row.direction,
        message_type=row.message_type,
        message_id=row.message_id,
        action=row.action,
        error_code=row.error_code,
        latency_ms=row.latency_ms,
        raw=row.raw,
    )
