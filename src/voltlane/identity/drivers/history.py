"""What a driver reads about their charging: sessions newest first with what each cost, and
the receipts (and credit notes) issued to them."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity.drivers.errors import ReceiptNotFoundError
from voltlane.identity.drivers.repository import DriverRepository
from voltlane.models.tenant import Invoice, SessionStatus


class HistoryStatus(enum.StrEnum):
    CHARGING = "charging"  # the session runs
    FINISHED = "finished"  # ended; its receipt is on its way
    PAID = "paid"  # the receipt is paid in full
    OPEN = "open"  # the receipt has something left to pay


@dataclass(frozen=True, slots=True)
class HistoryRow:
    session_id: uuid.UUID
    started_at: datetime | None
    place: str  # the location's name, else the station's id
    energy_kwh: Decimal | None
    total: int | None  # minor units of ``currency``: the receipt's, else the CDR's
    currency: str | None
    status: HistoryStatus
    receipt_id: uuid.UUID | None


async def history(
    db_session: AsyncSession, account_id: uuid.UUID, *, limit: int, offset: int
) -> list[HistoryRow]:
    """The account's charging sessions, newest first."""
    rows = await DriverRepository(db_session).history(account_id, limit=limit, offset=offset)
    found = []
    for session, station, location, cdr_total, cdr_currency, receipt, gross, paid, currency in rows:
        if receipt is not None:
            status = HistoryStatus.PAID if paid >= gross else HistoryStatus.OPEN
        elif session.status is SessionStatus.ACTIVE:
            status = HistoryStatus.CHARGING
        else:
            status = HistoryStatus.FINISHED
        found.append(
            HistoryRow(
                session_id=session.id,
                started_at=session.started_at or session.created_at,
                place=location or station,
                energy_kwh=(session.energy_wh / 1000) if session.energy_wh is not None else None,
                total=gross if receipt is not None else cdr_total,
                currency=currency if receipt is not None else cdr_currency,
                status=status,
                receipt_id=receipt,
            )
        )
    return found


async def receipt(
    db_session: AsyncSession, account_id: uuid.UUID, invoice_id: uuid.UUID
) -> Invoice:
    """One of the account's receipts or credit notes (ReceiptNotFoundError for any other
    document, whoever's it is)."""
    found = await DriverRepository(db_session).receipt_of(account_id, invoice_id)
    if found is None:
        raise ReceiptNotFoundError(f"no receipt {invoice_id}")
    return found


async def credit_notes(
    db_session: AsyncSession, account_id: uuid.UUID, invoice_id: uuid.UUID
) -> list[Invoice]:
    """The credit notes issued to the account against one of its receipts, oldest first."""
    return await DriverRepository(db_session).credit_notes_of(account_id, invoice_id)
