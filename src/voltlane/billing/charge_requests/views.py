"""What a request's screen shows: the charging point, the live figures of its session
(energy, power, duration and the cost so far, priced by the one engine exactly as the CDR
will be) and, once the CDR exists, the receipt with the CDR's own lines and total."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.charge_requests.codes import evse_code
from voltlane.billing.charge_requests.holds import action_url
from voltlane.billing.charge_requests.repository import ChargeRequestRepository
from voltlane.billing.charge_requests.schemas import (
    ChargeView,
    LiveFigures,
    ReceiptLine,
    ReceiptView,
)
from voltlane.billing.charge_requests.sessions import link_session
from voltlane.billing.session_costs import session_costs
from voltlane.charging import history
from voltlane.core.errors import NotFoundError
from voltlane.models.tenant import (
    Cdr,
    ChargeRequest,
    ChargeRequestStatus,
    PaymentStatus,
    SessionStatus,
)

_WH_PER_KWH = Decimal(1000)
_TIME_LINES = frozenset({"TIME", "PARKING_TIME", "RESERVATION_TIME", "IDLE_FEE"})
_KWH_PLACES = Decimal("0.01")
_KW_PLACES = Decimal("0.1")
_BANK_WAIT = frozenset({PaymentStatus.REQUIRES_ACTION, PaymentStatus.AUTHORIZED})


class ChargeViewNotFoundError(NotFoundError):
    title = "Charge not found"


async def find_request(db_session: AsyncSession, request_id: uuid.UUID) -> ChargeRequest:
    """The request as stored (no lock: to decide who may open it)."""
    request = await ChargeRequestRepository(db_session).request(request_id)
    if request is None:
        raise ChargeViewNotFoundError(f"No charge request {request_id}.")
    return request


async def refreshed_request(db_session: AsyncSession, request_id: uuid.UUID) -> ChargeRequest:
    """The request, locked and linked to its session if the charger has reported it since
    (the live screen's poll moves it along even when no job ran yet)."""
    request = await ChargeRequestRepository(db_session).request(request_id, for_update=True)
    if request is None:
        raise ChargeViewNotFoundError(f"No charge request {request_id}.")
    await link_session(db_session, request)
    return request


async def waits_for_bank(db_session: AsyncSession, request: ChargeRequest) -> bool:
    """Whether the request's hold waits for the PSP's word on the bank's 3-D Secure
    confirmation (its webhook), or has it and the start has not been asked for yet."""
    if request.status is not ChargeRequestStatus.AUTHORIZING or request.wallet:
        return False
    payment = await ChargeRequestRepository(db_session).payment_of(request.id)
    return payment is not None and payment.status in _BANK_WAIT


async def charge_view(
    db_session: AsyncSession, request: ChargeRequest, *, currency: str, now: datetime
) -> ChargeView:
    """Everything the request's screen shows at ``now``."""
    repo = ChargeRequestRepository(db_session)
    evse = await repo.evse_info(request.evse_id)
    if evse is None:
        raise ChargeViewNotFoundError(f"No charging point for request {request.id}.")
    payment = await repo.payment_of(request.id)
    figures = receipt = None
    transaction_id = None
    if request.session_id is not None:
        row = await history.get_session(db_session, request.session_id)
        transaction_id = row.transaction_id
        figures = await _figures(db_session, row, currency, now)
        cdr = await repo.cdr_of_session(request.session_id)
        if cdr is not None:
            receipt = await _receipt(repo, cdr, request.session_id)
    return ChargeView(
        request=request,
        code=evse_code(evse.emi3_id, evse.station_id, evse.evse_id),
        evse=evse,
        figures=figures,
        receipt=receipt,
        payment_status=payment.status.value if payment is not None else None,
        bank_url=(
            action_url(payment.action)
            if payment is not None and payment.status is PaymentStatus.REQUIRES_ACTION
            else None
        ),
        transaction_id=transaction_id,
        guest=request.guest_email is not None,
    )


async def _figures(
    db_session: AsyncSession, row: history.SessionRow, currency: str, now: datetime
) -> LiveFigures:
    running = row.status is SessionStatus.ACTIVE
    meter = await history.session_meter(db_session, row)
    power = meter.last_power_kw if running else None
    cost = (await session_costs(db_session, [row.id], now=now)).get(row.id)
    duration = (
        max((row.stopped_at or now) - row.started_at, timedelta(0))
        if row.started_at is not None
        else None
    )
    return LiveFigures(
        energy_kwh=(
            (row.energy_wh / _WH_PER_KWH).quantize(_KWH_PLACES)
            if row.energy_wh is not None
            else None
        ),
        power_kw=power.quantize(_KW_PLACES) if power is not None else None,
        duration=duration,
        cost=cost.total_incl_vat if cost is not None else None,
        currency=cost.currency if cost is not None else currency,
        started_at=row.started_at,
        stopped_at=row.stopped_at,
        running=running,
    )


def _line(line: dict[str, Any]) -> ReceiptLine:
    billed = Decimal(str(line["billed_quantity"]))
    quantity: Decimal | timedelta | None
    if line["kind"] == "ENERGY":
        quantity = billed / _WH_PER_KWH
    elif line["kind"] in _TIME_LINES:
        quantity = timedelta(seconds=float(billed))
    else:
        quantity = None
    return ReceiptLine(
        kind=str(line["kind"]),
        quantity=quantity,
        unit_price_excl_vat=Decimal(str(line["unit_price"])),
        incl_vat=int(line["incl_vat"]),
    )


async def _receipt(repo: ChargeRequestRepository, cdr: Cdr, session_id: uuid.UUID) -> ReceiptView:
    document = await repo.receipt_of_session(session_id)
    settlement = await repo.settlement(cdr.id)
    payment = await repo.payment_of_session(session_id)
    captured = (
        payment.amount_captured
        if payment is not None and payment.status is PaymentStatus.CAPTURED
        else None
    )
    return ReceiptView(
        cdr_number=cdr.number,
        energy_kwh=Decimal(cdr.total_energy_kwh).quantize(_KWH_PLACES),
        duration=cdr.end_date_time - cdr.start_date_time,
        lines=tuple(_line(line) for line in cdr.priced.get("lines", [])),
        total_excl_vat=cdr.total_excl_vat,
        total_vat=cdr.total_vat,
        total_incl_vat=cdr.total_incl_vat,
        currency=cdr.currency,
        document_id=document.id if document is not None else None,
        document_number=document.number if document is not None else None,
        card_captured=captured,
        wallet_paid=settlement.wallet_paid if settlement is not None else 0,
    )
