"""Jobs of payments: capture a CDR's amount, apply a webhook event that came early, dunning."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from voltlane.billing.credit_refunds import REFUND_CREDITED_TASK
from voltlane.billing.dunning import DUNNING_RUN_TASK, claim_due, open_dunning, retry_payment
from voltlane.billing.invoice_tasks import ISSUE_DOCUMENTS
from voltlane.billing.jobs import brand_info, for_each_brand
from voltlane.billing.payment_methods import DETACH_PAYMENT_METHOD_TASK, detach_removed_card
from voltlane.billing.payments import (
    CAPTURE_PAYMENT_TASK,
    CAPTURE_TOP_UP_TASK,
    CHARGE_SHORTFALL_TASK,
    PROCESS_WEBHOOK_TASK,
    capture_cdr,
    capture_top_up,
    charge_shortfall,
    process_webhook_event,
    refund_credited,
)
from voltlane.billing.providers import (
    PaymentsNotConfiguredError,
    ProviderDeclinedError,
    ProviderUnavailableError,
    provider_for,
)
from voltlane.billing.settlement import amount_due
from voltlane.core.clock import utcnow
from voltlane.core.errors import VoltlaneError
from voltlane.models.tenant import PaymentStatus
from voltlane.worker import JobContext, enqueue, task
from voltlane.worker.schedule import every

log = logging.getLogger(__name__)

DUNNING = "billing.dunning"
DUNNING_RUN = DUNNING_RUN_TASK
DUNNING_EVERY = timedelta(hours=1)


class RetryLaterError(VoltlaneError):
    """Raised only to let the broker retry the job with backoff."""

    status = 503
    title = "Retry later"


@task(CAPTURE_PAYMENT_TASK, queue="billing", max_retries=30, max_backoff_ms=60 * 60 * 1000)
async def capture_payment(jobs: JobContext, *, tenant: str, cdr_id: str) -> None:
    """Capture the CDR's amount; retried with backoff while the PSP is unreachable (the
    same idempotency key every time, so the driver is charged once)."""
    info = await brand_info(jobs, tenant)
    async with jobs.database.tenant_transaction(tenant) as db_session:
        due = await amount_due(db_session, info, uuid.UUID(cdr_id))
    payment = await capture_cdr(
        jobs.database, tenant, uuid.UUID(cdr_id), provider=provider_for(info), due=due
    )
    if payment is not None and payment.status is PaymentStatus.OUTSTANDING:
        raise RetryLaterError(f"capture of CDR {cdr_id} outstanding: {payment.last_error}")
    # The session's receipt can now say what was paid; a declined capture is followed up.
    async with jobs.database.tenant_transaction(tenant) as db_session:
        enqueue(db_session, ISSUE_DOCUMENTS, tenant=tenant)
        if payment is not None and payment.status is PaymentStatus.FAILED:
            enqueue(db_session, DUNNING_RUN, tenant=tenant)


@task(CHARGE_SHORTFALL_TASK, queue="billing", max_retries=30, max_backoff_ms=60 * 60 * 1000)
async def charge_shortfall_of(jobs: JobContext, *, tenant: str, payment_id: str) -> None:
    """Charge what a CDR cost above its hold to the driver's stored card; retried with
    backoff while the PSP is unreachable (the same idempotency key every time, so the
    driver is charged once). The receipt follows; a declined charge is dunned."""
    info = await brand_info(jobs, tenant)
    payment = await charge_shortfall(
        jobs.database, tenant, uuid.UUID(payment_id), provider=provider_for(info)
    )
    if payment.status is PaymentStatus.PENDING:
        raise RetryLaterError(f"shortfall {payment_id} not answered: {payment.last_error}")
    async with jobs.database.tenant_transaction(tenant) as db_session:
        enqueue(db_session, ISSUE_DOCUMENTS, tenant=tenant)
        if payment.status is PaymentStatus.FAILED:
            enqueue(db_session, DUNNING_RUN, tenant=tenant)


@task(CAPTURE_TOP_UP_TASK, queue="billing", max_retries=30, max_backoff_ms=60 * 60 * 1000)
async def capture_top_up_of(jobs: JobContext, *, tenant: str, payment_id: str) -> None:
    """Capture an authorized wallet top-up and credit the wallet (retried while the PSP is
    unreachable, with the same idempotency key)."""
    info = await brand_info(jobs, tenant)
    payment = await capture_top_up(
        jobs.database, tenant, uuid.UUID(payment_id), provider=provider_for(info)
    )
    if payment.status is PaymentStatus.OUTSTANDING:
        raise RetryLaterError(f"top-up {payment_id} outstanding: {payment.last_error}")


@task(DETACH_PAYMENT_METHOD_TASK, queue="billing", max_retries=30, max_backoff_ms=60 * 60 * 1000)
async def detach_payment_method(
    jobs: JobContext, *, tenant: str, provider: str, payment_method: str, customer: str | None
) -> None:
    """Detach a card the driver removed at its PSP; retried with backoff while the PSP is
    unreachable."""
    info = await brand_info(jobs, tenant)
    try:
        brand_provider = provider_for(info)
    except PaymentsNotConfiguredError:
        log.warning("removed card not detached: the brand has no payment provider")
        return
    done = await detach_removed_card(
        jobs.database,
        tenant,
        provider=brand_provider,
        card_provider=provider,
        payment_method=payment_method,
        customer=customer,
    )
    if not done:
        raise RetryLaterError(f"detach of {provider} card: the provider is unreachable")


@task(REFUND_CREDITED_TASK, queue="billing", max_retries=30, max_backoff_ms=60 * 60 * 1000)
async def refund_credited_payment(jobs: JobContext, *, tenant: str, payment_id: str) -> None:
    """Give a credited session's card money back; retried with backoff while the PSP is
    unreachable (with the same idempotency key). A refusal is left on the payment's
    operations for finance to see."""
    info = await brand_info(jobs, tenant)
    try:
        provider = provider_for(info)
    except PaymentsNotConfiguredError:
        log.warning("credited session not refunded: the brand has no payment provider")
        return
    try:
        await refund_credited(jobs.database, tenant, uuid.UUID(payment_id), provider=provider)
    except ProviderUnavailableError as exc:
        raise RetryLaterError(f"refund of payment {payment_id}: {exc.detail}") from exc
    except ProviderDeclinedError as exc:
        log.warning(
            "credited session not refunded: the provider declined",
            extra={"payment_id": payment_id, "error": exc.detail},
        )


@task(PROCESS_WEBHOOK_TASK, queue="billing", max_retries=10)
async def process_webhook(jobs: JobContext, *, tenant: str, event_id: str) -> None:
    """Apply a stored webhook event whose payment was not known when it arrived."""
    async with jobs.database.tenant_transaction(tenant) as db_session:
        done = await process_webhook_event(db_session, uuid.UUID(event_id))
    if not done:
        raise RetryLaterError(f"webhook event {event_id}: payment not known yet")


@task(DUNNING, queue="billing", max_retries=3)
async def dunning(jobs: JobContext) -> None:
    """Hourly: every active brand follows up its failed payments."""
    await for_each_brand(jobs, DUNNING_RUN)


@task(DUNNING_RUN, queue="billing", max_retries=5)
async def dunning_run(jobs: JobContext, *, tenant: str) -> None:
    """New failed payments get their first retry scheduled (and the driver a message); the
    retries that are due are charged, one after the other."""
    brand = await brand_info(jobs, tenant)
    if not isinstance(brand.profile.get("payments"), dict):
        return  # a brand without a PSP has no payments to follow up
    now = utcnow()
    async with jobs.database.tenant_transaction(tenant) as db_session:
        await open_dunning(db_session, brand, now=now)
        due = await claim_due(db_session, now=now)
    provider = provider_for(brand)
    for payment_id in due:
        await retry_payment(jobs.database, brand, payment_id, provider=provider, now=now)


every(DUNNING, DUNNING_EVERY)
