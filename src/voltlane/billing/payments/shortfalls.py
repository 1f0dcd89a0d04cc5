"""What a session cost above its card hold: charged off-session to the driver's stored card
as a payment of its own (purpose ``shortfall``), or left open for finance when the driver
has no stored card (a guest).

The shortfall is opened in the transaction that records the hold's capture (so it exists
exactly when the hold was captured in full and the CDR asks for more), once per CDR (a
partial unique index), and charged by the ``billing.charge_shortfall`` job after that
commit. Like every PSP call, the charge's idempotency key is committed before it is sent:
a timeout, a repeated job or a dunning retry after an unknown outcome sends the same key,
so the driver is charged once. A declined charge is followed by dunning like any failed
payment. The charge itself is in shortfall_charges.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.shortfall_repository import ShortfallRepository
from voltlane.core.ids import new_id
from voltlane.models.tenant import Cdr, Payment, PaymentPurpose, PaymentStatus
from voltlane.worker import enqueue

log = logging.getLogger(__name__)

CHARGE_SHORTFALL_TASK = "billing.charge_shortfall"
# Said on a shortfall nobody can charge: finance collects it.
NO_STORED_CARD = "no stored card to charge: collect it from the driver"


async def open_shortfall(
    db_session: AsyncSession, hold: Payment, cdr: Cdr, owed: int
) -> Payment | None:
    """The payment of what ``cdr`` costs (``owed``) above what its captured ``hold`` took,
    in the caller's transaction (which holds the hold's row lock); the one opened before
    when there is one, None when nothing is above the hold.

    It is charged to the account's stored card the hold was on, else the account's
    default card at the same PSP, by a job enqueued here (after commit). A guest, or an
    account with no stored card there, leaves it ``failed`` with no card: an open
    receivable on finance's outstanding and dunning lists, never charged.
    """
    shortfall = owed - hold.amount_captured
    if shortfall <= 0 or hold.status is not PaymentStatus.CAPTURED:
        return None
    repo = ShortfallRepository(db_session)
    found = await repo.shortfall_of(cdr.id)
    if found is not None:
        return found
    account_id = await _account_of(db_session, hold, cdr)
    card = (
        await repo.stored_method(account_id, hold.provider, hold.payment_method_ref)
        if account_id is not None
        else None
    )
    payment = Payment(
        id=new_id(),
        purpose=PaymentPurpose.SHORTFALL,
        cdr_id=cdr.id,
        provider=hold.provider,
        currency=hold.currency,
        amount_authorized=shortfall,
        amount_captured=0,
        amount_refunded=0,
        customer_ref=card.customer_ref if card else None,
        payment_method_ref=card.payment_method_ref if card else None,
        status=PaymentStatus.PENDING if card else PaymentStatus.FAILED,
        attempts=0,
        last_error=None if card else NO_STORED_CARD,
    )
    repo.add(payment)
    await db_session.flush()
    if card is not None:
        enqueue(
            db_session,
            CHARGE_SHORTFALL_TASK,
            tenant=db_session.info["tenant_key"],
            payment_id=str(payment.id),
        )
    log.warning(
        "CDR total above the pre-authorization",
        extra={
            "payment_id": str(payment.id),
            "hold_id": str(hold.id),
            "shortfall": shortfall,
            "charged": card is not None,
        },
    )
    return payment


async def _account_of(db_session: AsyncSession, hold: Payment, cdr: Cdr) -> uuid.UUID | None:
    """The account that pays for the session: the one that started it from the app, else
    the account of the card it was started with (None: a guest)."""
    if hold.charge_request_id is not None:
        return await ShortfallRepository(db_session).account_of_charge(hold.charge_request_id)
    _, account = await PaymentRepository(db_session).driver_of(cdr.session_id)
    return account.id if account is not None else None


async def shortfalls_to_charge(db_session: AsyncSession, limit: int) -> list[uuid.UUID]:
    """Shortfalls whose charge has no answer yet: the sweep enqueues their job again."""
    return await ShortfallRepository(db_session).to_charge(limit)
