"""A charging session's payment: pre-authorized at the start, captured from its CDR,
refunded."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.errors import CdrNotFoundError
from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.payments.calls import (
    FINAL,
    Call,
    PaymentNotFoundError,
    PaymentStateError,
    advance,
    begin_operation,
    finish_call,
    new_payment,
    send_authorize,
    send_capture,
)
from voltlane.billing.payments.shortfalls import open_shortfall
from voltlane.billing.providers import (
    PaymentProvider,
    ProviderError,
    ProviderUnavailableError,
)
from voltlane.core.db import Database
from voltlane.core.errors import ValidationError
from voltlane.models.tenant import (
    OperationKind,
    OperationState,
    Payment,
    PaymentOperation,
    PaymentPurpose,
    PaymentStatus,
)

log = logging.getLogger(__name__)


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
            payment = new_payment(
                provider,
                amount=amount,
                currency=currency,
                payment_method=payment_method,
                customer=customer,
                session_id=session_id,
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
        operation = await begin_operation(repo, payment, OperationKind.AUTHORIZE, amount)
        payment.attempts += 1
        call = Call(payment.id, operation.id, operation.idempotency_key, None)
    return await send_authorize(
        database,
        tenant,
        call,
        provider=provider,
        amount=amount,
        currency=currency,
        payment_method=payment_method,
        customer=customer,
    )


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
        owed = cdr.total_incl_vat if due is None else due
        if payment is not None and payment.status is PaymentStatus.CAPTURED:
            # Captured before (a repeated job, or a webhook told first): what is above the
            # hold is charged once all the same.
            await open_shortfall(db_session, payment, cdr, owed)
        if payment is None or payment.status in FINAL:
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
        # More than was reserved cannot be captured: the rest is a shortfall of its own.
        amount = min(max(owed, 0), payment.amount_authorized)
        kind = OperationKind.CAPTURE if amount > 0 else OperationKind.CANCEL
        operation = await begin_operation(repo, payment, kind, amount if amount > 0 else None)
        payment.cdr_id = cdr.id
        payment.attempts += 1
        shortfall = owed - amount
        call = Call(payment.id, operation.id, operation.idempotency_key, payment.psp_reference)
        currency = payment.currency
    return await send_capture(
        database,
        tenant,
        call,
        kind,
        provider=provider,
        amount=amount,
        currency=currency,
        shortfall=shortfall,
    )


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
        operation = await begin_operation(repo, payment, OperationKind.REFUND, amount)
        call = Call(payment.id, operation.id, operation.idempotency_key, payment.psp_reference)
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
            await finish_call(PaymentRepository(db_session), call, state, error=exc.detail)
        raise
    async with database.tenant_transaction(tenant) as db_session:
        payment = await finish_call(
            PaymentRepository(db_session),
            call,
            OperationState.SUCCEEDED,
            reference=result.reference,
        )
        payment.amount_refunded += amount
        if payment.amount_refunded >= payment.amount_captured:
            advance(payment, PaymentStatus.REFUNDED)
        return payment


async def refund_credited(
    database: Database, tenant: str, payment_id: uuid.UUID, *, provider: PaymentProvider
) -> Payment | None:
    """Refund what is left of a credited session's card payment (captured and not refunded
    yet, e.g. after a partial refund by hand); None when nothing is left. Repeating it after
    an unknown outcome repeats the same refund with its key; after a success it finds
    nothing left."""
    for _ in range(2):
        async with database.tenant_transaction(tenant) as db_session:
            payment = await PaymentRepository(db_session).payment(payment_id)
            if payment is None or payment.status is not PaymentStatus.CAPTURED:
                return None
            refundable = payment.amount_captured - payment.amount_refunded
        if refundable <= 0:
            return None
        try:
            return await refund_payment(
                database, tenant, payment_id, amount=refundable, provider=provider
            )
        except ValidationError:
            continue  # a refund by hand got there in between: read what is left again
    return None


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


@dataclass(frozen=True, slots=True)
class PaymentFilter:
    """What the finance back office looks for among payments (all optional)."""

    status: PaymentStatus | None = None  # OUTSTANDING: captures the PSP still owes
    purpose: PaymentPurpose | None = None
    provider: str | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None  # excluded


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """A payment with the name of who pays (None: an ad-hoc driver)."""

    payment: Payment
    customer: str | None

    @property
    def refundable(self) -> int:
        """What a refund can still give back."""
        if self.payment.status is not PaymentStatus.CAPTURED:
            return 0
        return self.payment.amount_captured - self.payment.amount_refunded


async def find_payments(
    db_session: AsyncSession, where: PaymentFilter, *, limit: int, offset: int
) -> list[PaymentRow]:
    """Payments matching ``where``, newest first, with who pays."""
    rows = await PaymentRepository(db_session).payments_matching(
        status=where.status,
        purpose=where.purpose,
        provider=where.provider,
        created_from=where.created_from,
        created_before=where.created_before,
        limit=limit,
        offset=offset,
    )
    return [PaymentRow(payment, customer) for payment, customer in rows]


async def payment_details(
    db_session: AsyncSession, payment_id: uuid.UUID
) -> tuple[PaymentRow, list[PaymentOperation]]:
    """A payment with who pays and every PSP call made for it (with its idempotency key)."""
    repo = PaymentRepository(db_session)
    if await repo.payment(payment_id) is None:
        raise PaymentNotFoundError(f"no payment {payment_id}", field="payment_id")
    payment, customer = await repo.payment_with_customer(payment_id)
    return PaymentRow(payment, customer), await repo.operations_of(payment_id)


async def payment_of_session(db_session: AsyncSession, session_id: uuid.UUID) -> Payment | None:
    """The PSP payment of a charging session (None: paid otherwise, or not at all)."""
    return await PaymentRepository(db_session).payment_of_session(session_id)
