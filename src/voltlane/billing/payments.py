"""Payments: pre-authorize at the start of a session, capture the CDR's total at its end,
refund, and follow the PSP's webhooks.

Every PSP call is preceded by a committed ``payment_operations`` row holding its
idempotency key. That is why the use cases that call a PSP take the ``Database`` and open
their own transactions instead of running in the caller's: the key must be durable BEFORE
the request leaves, so that a retry after a crash or a timeout-after-send finds it and sends
the same key (the PSP then answers with the first result instead of charging twice). The
call itself runs outside any transaction: no row lock or connection is held while waiting
on the network.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.errors import CdrNotFoundError
from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.providers import (
    Authorization,
    OperationResult,
    PaymentProvider,
    ProviderError,
    ProviderUnavailableError,
)
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.core.errors import ConflictError, NotFoundError, ValidationError
from voltlane.core.ids import new_id
from voltlane.models.tenant import (
    OperationKind,
    OperationState,
    Payment,
    PaymentOperation,
    PaymentStatus,
    WebhookEvent,
)
from voltlane.worker import enqueue

log = logging.getLogger(__name__)

CAPTURE_PAYMENT_TASK = "billing.capture_payment"
PROCESS_WEBHOOK_TASK = "billing.process_webhook"

# Statuses only move forward along this order, whatever order the PSP's webhooks arrive
# in: a late "authorized" never undoes "captured". Equal ranks do not replace each other.
STATUS_RANK = {
    PaymentStatus.PENDING: 0,
    PaymentStatus.REQUIRES_ACTION: 1,
    PaymentStatus.FAILED: 2,
    PaymentStatus.AUTHORIZED: 3,
    PaymentStatus.OUTSTANDING: 4,
    PaymentStatus.CAPTURED: 5,
    PaymentStatus.CANCELLED: 5,
    PaymentStatus.REFUNDED: 6,
}

_FINAL = {PaymentStatus.CAPTURED, PaymentStatus.CANCELLED, PaymentStatus.REFUNDED}


class PaymentNotFoundError(NotFoundError):
    title = "Payment not found"


class PaymentStateError(ConflictError):
    """The payment is not in a status that allows the operation."""

    title = "Payment cannot do this now"


def advance(payment: Payment, status: PaymentStatus) -> bool:
    """Move ``payment`` to ``status`` if that is forward in STATUS_RANK; True if it moved."""
    if STATUS_RANK[status] <= STATUS_RANK[payment.status]:
        return False
    payment.status = status
    return True


@dataclass(frozen=True, slots=True)
class _Call:
    """What the PSP call needs, read in the first transaction."""

    payment_id: uuid.UUID
    operation_id: uuid.UUID
    idempotency_key: str
    psp_reference: str | None


async def _operation(
    repo: PaymentRepository, payment: Payment, kind: OperationKind, amount: int | None
) -> PaymentOperation:
    """The call to make: one whose outcome is unknown is repeated with its own key; otherwise
    a new key (a PSP caches a refusal under its key, so a new attempt needs a new one)."""
    found = await repo.open_operation(payment.id, kind, amount)
    if found is not None:
        return found
    number = await repo.operation_count(payment.id, kind) + 1
    operation = PaymentOperation(
        id=new_id(),
        payment_id=payment.id,
        kind=kind,
        idempotency_key=f"voltlane-{kind.value}-{payment.id}-{number}",
        amount=amount,
        state=OperationState.PENDING,
    )
    repo.add(operation)
    return operation


async def _finish(
    repo: PaymentRepository,
    call: _Call,
    state: OperationState,
    *,
    reference: str | None = None,
    error: str | None = None,
) -> Payment:
    """Record the outcome of the call; returns the payment, locked, to update further."""
    payment = await repo.payment(call.payment_id, for_update=True)
    operation = await repo.operation(call.operation_id)
    assert payment is not None
    assert operation is not None
    operation.state = state
    operation.response_reference = reference
    operation.error = error[:500] if error else None
    operation.completed_at = utcnow()
    payment.last_error = error[:500] if error else None
    return payment


async def pre_authorize_session(
    database: Database,
    tenant: str,
    session_id: uuid.UUID,
    *,
    provider: PaymentProvider,
    amount: int,
    currency: str,
    payment_method: str,
    customer: str | None = None,
) -> Payment:
    """Reserve ``amount`` on the driver's payment method for a charging session.

    Never raises for a PSP problem: the payment comes back ``authorized``,
    ``requires_action`` (3-D Secure: ``action`` holds what the app needs), ``failed``
    (declined: ``last_error`` says why) or ``pending`` (the PSP did not answer; calling
    again repeats the request with the same idempotency key). A second call for an
    authorized session returns its payment unchanged.
    """
    if amount <= 0:
        raise ValidationError("the amount to pre-authorize must be positive", field="amount")
    async with database.tenant_transaction(tenant) as db_session:
        repo = PaymentRepository(db_session)
        if not await repo.session_exists(session_id):
            raise PaymentNotFoundError(f"no charging session {session_id}", field="session_id")
        payment = await repo.payment_of_session(session_id, for_update=True)
        if payment is None:
            payment = Payment(
                id=new_id(),
                session_id=session_id,
                provider=provider.name,
                currency=currency,
                amount_authorized=amount,
                amount_captured=0,
                amount_refunded=0,
                customer_ref=customer,
                payment_method_ref=payment_method,
                status=PaymentStatus.PENDING,
                attempts=0,
            )
            repo.add(payment)
            await db_session.flush()
        elif payment.status is PaymentStatus.FAILED:
            # A declined card may be replaced by another: a new attempt, with a new key.
            payment.status = PaymentStatus.PENDING
            payment.payment_method_ref = payment_method
            payment.amount_authorized = amount
        elif payment.status is not PaymentStatus.PENDING:
            return payment
        operation = await _operation(repo, payment, OperationKind.AUTHORIZE, amount)
        payment.attempts += 1
        call = _Call(payment.id, operation.id, operation.idempotency_key, None)
    try:
        authorization: Authorization | None = await provider.pre_authorize(
            amount=amount,
            currency=currency,
            customer=customer,
            payment_method=payment_method,
            reference=str(call.payment_id),
            idempotency_key=call.idempotency_key,
        )
        failure: ProviderError | None = None
    except ProviderError as exc:
        authorization, failure = None, exc
    async with database.tenant_transaction(tenant) as db_session:
        repo = PaymentRepository(db_session)
        if authorization is None:
            assert failure is not None
            unknown = isinstance(failure, ProviderUnavailableError)
            state = OperationState.UNKNOWN if unknown else OperationState.FAILED
            payment = await _finish(repo, call, state, error=failure.detail)
            if not unknown:
                payment.status = PaymentStatus.FAILED
            log.warning(
                "pre-authorization failed",
                extra={"payment_id": str(payment.id), "error": failure.detail},
            )
            return payment
        declined = authorization.status == "declined"
        payment = await _finish(
            repo,
            call,
            OperationState.FAILED if declined else OperationState.SUCCEEDED,
            reference=authorization.psp_reference or None,
            error=authorization.decline_reason if declined else None,
        )
        payment.psp_reference = authorization.psp_reference or payment.psp_reference
        if declined:
            payment.status = PaymentStatus.FAILED
        elif authorization.status == "requires_action":
            payment.action = authorization.action
            advance(payment, PaymentStatus.REQUIRES_ACTION)
        else:
            payment.action = None
            advance(payment, PaymentStatus.AUTHORIZED)
        return payment


async def capture_cdr(
    database: Database,
    tenant: str,
    cdr_id: uuid.UUID,
    *,
    provider: PaymentProvider,
    due: int | None = None,
) -> Payment | None:
    """Capture what the driver owes for the CDR (``due``: its settlement after discounts;
    by default its ``total_incl_vat``) against its session's pre-authorization (the rest of
    the reservation is released; nothing to pay cancels it).

    Never raises for a PSP problem, so that charging is never blocked by payments: when the
    PSP cannot be reached the payment is left ``outstanding`` and calling again (the
    ``billing.capture_payment`` task retries) repeats the call with the same key. Returns
    None when the session has no payment (free, roaming or fleet-invoiced sessions).
    """
    async with database.tenant_transaction(tenant) as db_session:
        repo = PaymentRepository(db_session)
        cdr = await repo.cdr(cdr_id)
        if cdr is None:
            raise CdrNotFoundError(f"no CDR {cdr_id}", field="cdr_id")
        payment = await repo.payment_of_session(cdr.session_id, for_update=True)
        if payment is None or payment.status in _FINAL:
            return payment
        if payment.psp_reference is None or payment.status not in (
            PaymentStatus.AUTHORIZED,
            PaymentStatus.OUTSTANDING,
        ):
            payment.last_error = f"cannot capture a payment that is {payment.status.value}"
            log.warning(
                "payment not captured",
                extra={"payment_id": str(payment.id), "status": payment.status.value},
            )
            return payment
        if cdr.currency != payment.currency:
            payment.last_error = f"CDR in {cdr.currency}, pre-authorized in {payment.currency}"
            payment.status = PaymentStatus.FAILED
            return payment
        owed = cdr.total_incl_vat if due is None else due
        # More than was reserved cannot be captured: the difference is reported below.
        amount = min(max(owed, 0), payment.amount_authorized)
        kind = OperationKind.CAPTURE if amount > 0 else OperationKind.CANCEL
        operation = await _operation(repo, payment, kind, amount if amount > 0 else None)
        payment.cdr_id = cdr.id
        payment.attempts += 1
        shortfall = owed - amount
        call = _Call(payment.id, operation.id, operation.idempotency_key, payment.psp_reference)
        currency = payment.currency
    assert call.psp_reference is not None
    result: OperationResult | None = None
    failure: ProviderError | None = None
    try:
        if kind is OperationKind.CAPTURE:
            result = await provider.capture(
                call.psp_reference,
                amount=amount,
                currency=currency,
                idempotency_key=call.idempotency_key,
            )
        else:
            result = await provider.cancel(call.psp_reference, idempotency_key=call.idempotency_key)
    except ProviderError as exc:
        failure = exc
    async with database.tenant_transaction(tenant) as db_session:
        return await _record_capture(
            PaymentRepository(db_session),
            call,
            kind,
            amount=amount,
            shortfall=shortfall,
            result=result,
            failure=failure,
        )


async def _record_capture(
    repo: PaymentRepository,
    call: _Call,
    kind: OperationKind,
    *,
    amount: int,
    shortfall: int,
    result: OperationResult | None,
    failure: ProviderError | None,
) -> Payment:
    if result is not None:
        payment = await _finish(repo, call, OperationState.SUCCEEDED, reference=result.reference)
        if kind is OperationKind.CAPTURE:
            payment.amount_captured = amount
            advance(payment, PaymentStatus.CAPTURED)
            if shortfall > 0:
                payment.last_error = f"{shortfall} above the pre-authorization not captured"
        else:
            advance(payment, PaymentStatus.CANCELLED)
        return payment
    assert failure is not None
    if isinstance(failure, ProviderUnavailableError):
        payment = await _finish(repo, call, OperationState.UNKNOWN, error=failure.detail)
        advance(payment, PaymentStatus.OUTSTANDING)
    else:
        payment = await _finish(repo, call, OperationState.FAILED, error=failure.detail)
        if payment.status not in _FINAL:
            payment.status = PaymentStatus.FAILED
    log.warning("capture failed", extra={"payment_id": str(payment.id), "error": failure.detail})
    return payment


async def refund_payment(
    database: Database,
    tenant: str,
    payment_id: uuid.UUID,
    *,
    amount: int,
    provider: PaymentProvider,
) -> Payment:
    """Give back ``amount`` (at most what was captured and not refunded yet).

    Raises ProviderUnavailableError when the PSP does not answer: repeating the same refund
    sends the same idempotency key, so it is paid out once. ProviderDeclinedError when the
    PSP refuses it.
    """
    async with database.tenant_transaction(tenant) as db_session:
        repo = PaymentRepository(db_session)
        payment = await repo.payment(payment_id, for_update=True)
        if payment is None:
            raise PaymentNotFoundError(f"no payment {payment_id}", field="payment_id")
        if payment.status is not PaymentStatus.CAPTURED or payment.psp_reference is None:
            raise PaymentStateError(f"the payment is {payment.status.value}, not captured")
        refundable = payment.amount_captured - payment.amount_refunded
        if not 0 < amount <= refundable:
            raise ValidationError(f"the amount must be between 1 and {refundable}", field="amount")
        operation = await _operation(repo, payment, OperationKind.REFUND, amount)
        call = _Call(payment.id, operation.id, operation.idempotency_key, payment.psp_reference)
        currency = payment.currency
    assert call.psp_reference is not None
    try:
        result = await provider.refund(
            call.psp_reference,
            amount=amount,
            currency=currency,
            idempotency_key=call.idempotency_key,
        )
    except ProviderError as exc:
        unknown = isinstance(exc, ProviderUnavailableError)
        async with database.tenant_transaction(tenant) as db_session:
            state = OperationState.UNKNOWN if unknown else OperationState.FAILED
            await _finish(PaymentRepository(db_session), call, state, error=exc.detail)
        raise
    async with database.tenant_transaction(tenant) as db_session:
        payment = await _finish(
            PaymentRepository(db_session),
            call,
            OperationState.SUCCEEDED,
            reference=result.reference,
        )
        payment.amount_refunded += amount
        if payment.amount_refunded >= payment.amount_captured:
            advance(payment, PaymentStatus.REFUNDED)
        return payment


async def list_payments(
    db_session: AsyncSession, *, status: PaymentStatus | None, limit: int, offset: int
) -> tuple[list[Payment], int]:
    """Payments, oldest first (``status=outstanding``: what the PSP still owes the brand)."""
    return await PaymentRepository(db_session).payments(status=status, limit=limit, offset=offset)


async def get_payment(db_session: AsyncSession, payment_id: uuid.UUID) -> Payment:
    payment = await PaymentRepository(db_session).payment(payment_id)
    if payment is None:
        raise PaymentNotFoundError(f"no payment {payment_id}", field="payment_id")
    return payment


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
