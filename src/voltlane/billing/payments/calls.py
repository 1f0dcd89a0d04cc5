"""The calls to a PSP: each preceded by a committed operation with its idempotency key,
each outcome recorded; statuses that only move forward."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.payments.shortfalls import open_shortfall
from voltlane.billing.providers import (
    Authorization,
    OperationResult,
    PaymentProvider,
    ProviderError,
    ProviderUnavailableError,
)
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.core.errors import ConflictError, NotFoundError
from voltlane.core.ids import new_id
from voltlane.models.tenant import (
    OperationKind,
    OperationState,
    Payment,
    PaymentOperation,
    PaymentPurpose,
    PaymentStatus,
)

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

FINAL = {PaymentStatus.CAPTURED, PaymentStatus.CANCELLED, PaymentStatus.REFUNDED}


class PaymentNotFoundError(NotFoundError):
    title = "Payment not found"


class PaymentStateError(ConflictError):
    """The payment is not in a status that allows the operation."""

    title = "Payment cannot do this now"


def new_payment(
    provider: PaymentProvider,
    *,
    amount: int,
    currency: str,
    payment_method: str,
    customer: str | None,
    purpose: PaymentPurpose = PaymentPurpose.SESSION,
    session_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None,
) -> Payment:
    """A payment about to be authorized: nothing captured, nothing sent yet."""
    return Payment(
        id=new_id(),
        purpose=purpose,
        session_id=session_id,
        account_id=account_id,
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


def advance(payment: Payment, status: PaymentStatus) -> bool:
    """Move ``payment`` to ``status`` if that is forward in STATUS_RANK; True if it moved."""
    if STATUS_RANK[status] <= STATUS_RANK[payment.status]:
        return False
    payment.status = status
    return True


@dataclass(frozen=True, slots=True)
class Call:
    """What the PSP call needs, read in the first transaction."""

    payment_id: uuid.UUID
    operation_id: uuid.UUID
    idempotency_key: str
    psp_reference: str | None


async def begin_operation(
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


async def finish_call(
    repo: PaymentRepository,
    call: Call,
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


async def send_authorize(
    database: Database,
    tenant: str,
    call: Call,
    *,
    provider: PaymentProvider,
    amount: int,
    currency: str,
    payment_method: str,
    customer: str | None,
) -> Payment:
    """Send a committed AUTHORIZE operation and record what the PSP answered."""
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
            payment = await finish_call(repo, call, state, error=failure.detail)
            if not unknown:
                payment.status = PaymentStatus.FAILED
            log.warning(
                "pre-authorization failed",
                extra={"payment_id": str(payment.id), "error": failure.detail},
            )
            return payment
        declined = authorization.status == "declined"
        payment = await finish_call(
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


async def send_capture(
    database: Database,
    tenant: str,
    call: Call,
    kind: OperationKind,
    *,
    provider: PaymentProvider,
    amount: int,
    currency: str,
    shortfall: int,
) -> Payment:
    """Send a committed CAPTURE (or CANCEL) operation and record what the PSP answered."""
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
        return await record_capture(
            PaymentRepository(db_session),
            call,
            kind,
            amount=amount,
            shortfall=shortfall,
            result=result,
            failure=failure,
        )


async def record_capture(
    repo: PaymentRepository,
    call: Call,
    kind: OperationKind,
    *,
    amount: int,
    shortfall: int,
    result: OperationResult | None,
    failure: ProviderError | None,
) -> Payment:
    if result is not None:
        payment = await finish_call(
            repo, call, OperationState.SUCCEEDED, reference=result.reference
        )
        if kind is OperationKind.CAPTURE:
            payment.amount_captured = amount
            advance(payment, PaymentStatus.CAPTURED)
            cdr = await repo.cdr(payment.cdr_id) if payment.cdr_id is not None else None
            if shortfall > 0 and cdr is not None:
                # More than the hold: charged separately (or left open for finance).
                await open_shortfall(repo.db_session, payment, cdr, amount + shortfall)
        else:
            advance(payment, PaymentStatus.CANCELLED)
        return payment
    assert failure is not None
    if isinstance(failure, ProviderUnavailableError):
        payment = await finish_call(repo, call, OperationState.UNKNOWN, error=failure.detail)
        advance(payment, PaymentStatus.OUTSTANDING)
    else:
        payment = await finish_call(repo, call, OperationState.FAILED, error=failure.detail)
        if payment.status not in FINAL:
            payment.status = PaymentStatus.FAILED
    log.warning("capture failed", extra={"payment_id": str(payment.id), "error": failure.detail})
    return payment
