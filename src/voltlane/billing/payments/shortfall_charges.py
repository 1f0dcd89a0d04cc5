"""The off-session charge of a shortfall (see shortfalls) and its outcome."""

from __future__ import annotations

import logging
import uuid

from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.payments.calls import (
    FINAL,
    Call,
    PaymentNotFoundError,
    advance,
    begin_operation,
    finish_call,
)
from voltlane.billing.providers import (
    Authorization,
    PaymentProvider,
    ProviderError,
    ProviderUnavailableError,
)
from voltlane.billing.shortfall_repository import ShortfallRepository
from voltlane.core.db import Database
from voltlane.models.tenant import (
    OperationKind,
    OperationState,
    Payment,
    PaymentPurpose,
    PaymentStatus,
)

log = logging.getLogger(__name__)


async def charge_shortfall(
    database: Database,
    tenant: str,
    payment_id: uuid.UUID,
    *,
    provider: PaymentProvider,
    retry: bool = False,
) -> Payment:
    """Charge a shortfall to its stored card, off-session, and record the outcome:
    ``captured``, ``failed`` (declined: ``last_error`` says why; dunning follows it) or
    still ``pending`` (the PSP did not answer: calling again sends the same key).

    A captured shortfall, or one without a card, is returned unchanged; so is a failed one
    unless ``retry`` (dunning's next attempt, with a new key). Never raises for a PSP
    problem.
    """
    async with database.tenant_transaction(tenant) as db_session:
        repo = PaymentRepository(db_session)
        payment = await repo.payment(payment_id, for_update=True)
        if payment is None or payment.purpose is not PaymentPurpose.SHORTFALL:
            raise PaymentNotFoundError(f"no shortfall payment {payment_id}", field="payment_id")
        if payment.status in FINAL or payment.payment_method_ref is None:
            return payment
        credited = payment.cdr_id is not None and await ShortfallRepository(db_session).is_credited(
            payment.cdr_id
        )
        if credited and not await repo.open_operation(
            payment.id, OperationKind.CHARGE, payment.amount_authorized
        ):
            # The session was credited before its shortfall was charged: nothing is owed.
            advance(payment, PaymentStatus.CANCELLED)
            return payment
        if payment.status is PaymentStatus.FAILED:
            if not retry:
                return payment
            payment.status = PaymentStatus.PENDING
        operation = await begin_operation(
            repo, payment, OperationKind.CHARGE, payment.amount_authorized
        )
        payment.attempts += 1
        call = Call(payment.id, operation.id, operation.idempotency_key, None)
        amount, currency = payment.amount_authorized, payment.currency
        card, customer = payment.payment_method_ref, payment.customer_ref
    result: Authorization | None = None
    failure: ProviderError | None = None
    try:
        result = await provider.charge_stored(
            amount=amount,
            currency=currency,
            customer=customer,
            payment_method=card,
            reference=str(payment_id),
            idempotency_key=call.idempotency_key,
        )
    except ProviderError as exc:
        failure = exc
    async with database.tenant_transaction(tenant) as db_session:
        return await _record_charge(PaymentRepository(db_session), call, result, failure)


async def _record_charge(
    repo: PaymentRepository,
    call: Call,
    result: Authorization | None,
    failure: ProviderError | None,
) -> Payment:
    if result is None:
        assert failure is not None
        unknown = isinstance(failure, ProviderUnavailableError)
        state = OperationState.UNKNOWN if unknown else OperationState.FAILED
        payment = await finish_call(repo, call, state, error=failure.detail)
        if not unknown and payment.status not in FINAL:
            payment.status = PaymentStatus.FAILED
        log.warning(
            "shortfall charge failed",
            extra={"payment_id": str(call.payment_id), "unknown": unknown},
        )
        return payment
    captured = result.status == "captured"
    payment = await finish_call(
        repo,
        call,
        OperationState.SUCCEEDED if captured else OperationState.FAILED,
        reference=result.psp_reference or None,
        error=None if captured else (result.decline_reason or result.status),
    )
    payment.psp_reference = result.psp_reference or payment.psp_reference
    if captured:
        payment.amount_captured = payment.amount_authorized
        advance(payment, PaymentStatus.CAPTURED)
    elif payment.status not in FINAL:
        # Off-session, a 3-D Secure request is a refusal too: nobody is there to pass it.
        payment.status = PaymentStatus.FAILED
    return payment
