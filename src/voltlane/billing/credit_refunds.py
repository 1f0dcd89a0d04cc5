"""A credited session gives its card money back.

Crediting a CDR (a credit note for a receipt, or a credit before any document) writes the
job ``billing.refund_credited`` in the credit's own transaction when the session's payment
captured money that is not refunded yet; the job (``billing.payment_tasks``) refunds what is
left of it through the PSP (``payments.refund_credited``), once. This module stays free of
the PSP SDKs: the invoicing code that calls it is imported by jobs of every kind.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.shortfall_repository import ShortfallRepository
from voltlane.models.tenant import Cdr, PaymentStatus
from voltlane.worker import enqueue

REFUND_CREDITED_TASK = "billing.refund_credited"


async def queue_refund_of_credit(db_session: AsyncSession, credit: Cdr) -> bool:
    """Write the refund jobs for a credit CDR whose session was paid by card: its hold's
    and its shortfall's (what the CDR cost above the hold, charged separately); True when
    one was written."""
    if credit.credit_of is None:
        return False
    paid = [
        await PaymentRepository(db_session).payment_of_session(credit.session_id),
        await ShortfallRepository(db_session).shortfall_of(credit.credit_of),
    ]
    queued = False
    for payment in paid:
        if (
            payment is None
            or payment.status is not PaymentStatus.CAPTURED
            or payment.amount_captured <= payment.amount_refunded
        ):
            continue
        enqueue(
            db_session,
            REFUND_CREDITED_TASK,
            tenant=db_session.info["tenant_key"],
            payment_id=str(payment.id),
        )
        queued = True
    return queued
