"""What a fleet manager sees of their own fleet account: drivers, cards, sessions, documents,
cost by cost centre. Every use case takes the account: nothing of another account is found.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import invoicing
from voltlane.billing.errors import InvoiceNotFoundError
from voltlane.billing.fleet_report_repository import FleetReportRepository
from voltlane.charging import tokens
from voltlane.core.clock import month_of
from voltlane.models.tenant import IdToken, IdTokenStatus, Invoice, SessionStatus


@dataclass(frozen=True, slots=True)
class FleetDriver:
    """A driver named on the account's cards (None: cards with no driver)."""

    name: str | None
    cards: int
    active_cards: int
    vehicles: str | None


@dataclass(frozen=True, slots=True)
class FleetSession:
    id: uuid.UUID
    started_at: datetime | None
    stopped_at: datetime | None
    status: SessionStatus
    station_id: str
    card: str | None
    driver: str | None
    vehicle: str | None
    cost_centre: str | None
    energy_wh: Decimal | None
    # The CDR's totals once the session is rated; None while it runs or waits.
    total_excl_vat: int | None
    total_incl_vat: int | None
    currency: str | None
    credited: bool


@dataclass(frozen=True, slots=True)
class SessionFilter:
    """Sessions by the driver, card value or vehicle named on the card, started in
    [since, until); a filter left None matches all."""

    driver: str | None = None
    card: str | None = None
    vehicle: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class CostCentreTotal:
    cost_centre: str | None
    currency: str
    sessions: int
    energy_kwh: Decimal
    total_excl_vat: int
    total_vat: int
    total_incl_vat: int


def local_midnight(day: date, timezone: str) -> datetime:
    """The start of ``day`` in ``timezone``, in UTC: the bound of a filter by local dates."""
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)


async def list_cards(
    db_session: AsyncSession,
    account_id: uuid.UUID,
    *,
    driver: str | None = None,
    status: IdTokenStatus | None = None,
    limit: int,
    offset: int,
) -> list[IdToken]:
    """The account's cards by value, optionally one driver's or those in one status."""
    return await FleetReportRepository(db_session).cards(
        account_id, driver=driver, status=status, limit=limit, offset=offset
    )


async def get_card(db_session: AsyncSession, account_id: uuid.UUID, card_id: uuid.UUID) -> IdToken:
    """The account's card ``card_id``; IdTokenNotFoundError for any other card."""
    card = await FleetReportRepository(db_session).card(account_id, card_id)
    if card is None:
        raise tokens.IdTokenNotFoundError(f"No card {card_id}.")
    return card


async def set_card_status(
    db_session: AsyncSession, account_id: uuid.UUID, card_id: uuid.UUID, status: IdTokenStatus
) -> IdToken:
    """Block or unblock one of the account's cards; its next authorization sees it."""
    card = await get_card(db_session, account_id, card_id)
    return await tokens.update_token(db_session, card.id, tokens.IdTokenUpdate(status=status))


async def list_drivers(
    db_session: AsyncSession, account_id: uuid.UUID, *, limit: int, offset: int
) -> list[FleetDriver]:
    """The drivers named on the account's cards, by name, with their cards and vehicles."""
    rows = await FleetReportRepository(db_session).drivers(account_id, limit=limit, offset=offset)
    return [
        FleetDriver(name, int(cards), int(active), vehicles)
        for name, cards, active, vehicles in rows
    ]


async def list_sessions(
    db_session: AsyncSession,
    account_id: uuid.UUID,
    filters: SessionFilter,
    *,
    limit: int,
    offset: int,
) -> list[FleetSession]:
    """Sessions of the account's cards started in [since, until), newest first, by driver,
    card value or vehicle as named on the card, with what their CDR charged."""
    rows = await FleetReportRepository(db_session).sessions(
        account_id,
        driver=filters.driver,
        card=filters.card,
        vehicle=filters.vehicle,
        since=filters.since,
        until=filters.until,
        limit=limit,
        offset=offset,
    )
    return [
        FleetSession(
            id=session.id,
            started_at=session.started_at,
            stopped_at=session.stopped_at,
            status=session.status,
            station_id=station_id,
            card=session.id_token,
            driver=driver_name,
            vehicle=vehicle_name,
            cost_centre=cost_centre,
            energy_wh=session.energy_wh,
            total_excl_vat=net,
            total_incl_vat=gross,
            currency=currency,
            credited=bool(credited),
        )
        for (
            session,
            station_id,
            driver_name,
            vehicle_name,
            cost_centre,
            net,
            gross,
            currency,
            credited,
        ) in rows
    ]


async def cost_by_cost_centre(
    db_session: AsyncSession, account_id: uuid.UUID, month: date, timezone: str
) -> list[CostCentreTotal]:
    """What the account's sessions ended in the month (local to ``timezone``) cost, per cost
    centre of the card: credited sessions net out, as on the month's documents."""
    first, last = month_of(month)
    rows = await FleetReportRepository(db_session).cost_by_cost_centre(
        account_id,
        since=local_midnight(first, timezone),
        until=local_midnight(last + timedelta(days=1), timezone),
    )
    return [
        CostCentreTotal(
            cost_centre=centre,
            currency=currency,
            sessions=int(sessions),
            energy_kwh=Decimal(energy),
            total_excl_vat=int(net),
            total_vat=int(vat),
            total_incl_vat=int(gross),
        )
        for centre, currency, sessions, energy, net, vat, gross in rows
    ]


async def list_documents(
    db_session: AsyncSession, account_id: uuid.UUID, *, limit: int, offset: int
) -> list[Invoice]:
    """The account's invoices and credit notes, newest first."""
    rows, _total = await invoicing.list_invoices(
        db_session, account_id=account_id, limit=limit, offset=offset
    )
    return rows


async def get_document(
    db_session: AsyncSession, account_id: uuid.UUID, invoice_id: uuid.UUID
) -> Invoice:
    """The account's document ``invoice_id``; InvoiceNotFoundError for any other."""
    invoice = await invoicing.get_invoice(db_session, invoice_id)
    if invoice.account_id != account_id:
        raise InvoiceNotFoundError(f"no document {invoice_id}")
    return invoice
