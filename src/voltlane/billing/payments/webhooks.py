"""The PSP's webhooks: verified, stored once, applied in status order."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.payments.calls import (
    PROCESS_WEBHOOK_TASK,
    advance,
)
from voltlane.billing.providers import (
    PaymentProvider,
)
from voltlane.core.clock import utcnow
from voltlane.core.errors import NotFoundError
from voltlane.core.ids import new_id
from voltlane.models.tenant import (
    PaymentStatus,
    WebhookEvent,
)
from voltlane.worker import enqueue

log = logging.getLogger(__name__)


async def record_webhook(
    db_session: AsyncSession,
    provider: PaymentProvider,
    body: bytes,
    headers: Mapping[str, str],
) -> list[uuid.UUID]:
    """Verify a webhook on its raw body, store each event once, and apply it.

    A bad signature raises WebhookSignatureError before anything is written. An event seen
    before is ignored. An event about a payment not known yet (the webhook overtook the
    answer to our own call) is kept and handed to ``billing.process_webhook``. Returns the
    ids of the events stored by this call.
    """
    events = provider.parse_webhook(body, headers)
    repo = PaymentRepository(db_session)
    stored: list[uuid.UUID] = []
    for event in events:
        row_id = await repo.insert_webhook_event(
            {
                "id": new_id(),
                "provider": provider.name,
                "event_id": event.event_id,
                "type": event.type,
                "psp_reference": event.psp_reference,
                "status": event.status,
                "amount": event.amount,
            }
        )
        if row_id is None:
            log.info("duplicate webhook ignored", extra={"event_id": event.event_id})
            continue
        stored.append(row_id)
        if not await process_webhook_event(db_session, row_id):
            enqueue(
                db_session,
                PROCESS_WEBHOOK_TASK,
                tenant=db_session.info["tenant_key"],
                event_id=str(row_id),
            )
    return stored


async def process_webhook_event(db_session: AsyncSession, event_row_id: uuid.UUID) -> bool:
    """Apply a stored event to its payment (statuses only move forward); True once the event
    is processed, False while its payment is not known yet."""
    repo = PaymentRepository(db_session)
    row: WebhookEvent | None = await repo.webhook_event(event_row_id, for_update=True)
    if row is None:
        raise NotFoundError(f"no webhook event {event_row_id}")
    if row.processed_at is not None:
        return True
    if row.status is not None and row.psp_reference is not None:
        payment = await repo.payment_by_reference(row.provider, row.psp_reference, for_update=True)
        if payment is None:
            return False
        target = PaymentStatus(row.status)
        partial_refund = (
            target is PaymentStatus.REFUNDED
            and row.amount is not None
            and row.amount < payment.amount_captured
        )
        if not partial_refund and advance(payment, target):
            if target is PaymentStatus.CAPTURED and row.amount and not payment.amount_captured:
                payment.amount_captured = row.amount
            log.info(
                "payment status from webhook",
                extra={"payment_id": str(payment.id), "status": target.value},
            )
    row.processed_at = utcnow()
    return True
