"""Wallet top-ups: authorized and captured at once, credited to the wallet once."""

from __future__ import annotations

import logging
import uuid

from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.payments.calls import (
    Call,
    PaymentNotFoundError,
    begin_operation,
    new_payment,
    send_authorize,
    send_capture,
)
from voltlane.billing.providers import (
    PaymentProvider,
)
from voltlane.billing.settlement import credit_top_up
from voltlane.core.db import Database
from voltlane.core.errors import ValidationError
from voltlane.models.tenant import (
    OperationKind,
    Payment,
    PaymentPurpose,
    PaymentStatus,
)

log = logging.getLogger(__name__)

CAPTURE_TOP_UP_TASK = "billing.capture_top_up"


async def top_up_wallet(
    database: Database,
    tenant: str,
    account_id: uuid.UUID,
    *,
    provider: PaymentProvider,
    amount: int,
    currency: str,
    payment_method: str,
    customer: str | None = None,
    payment_id: uuid.UUID | None = None,
) -> Payment:
    """Put ``amount`` on an account's prepaid wallet: authorized on the payment method and
    captured at once; the wallet is credited when the capture succeeds.

    ``payment_id`` fixes the new payment's id (a form sent twice asks with the same id, and
    the second insert fails on the primary key instead of charging twice).

    Like every payment it never raises for a PSP problem: a top-up that needs 3-D Secure
    comes back ``requires_action`` (captured by ``billing.capture_top_up`` once the PSP
    reports it authorized), a declined one ``failed``, one the PSP did not answer
    ``pending``.
    """
    if amount <= 0:
        raise ValidationError("the amount to top up must be positive", field="amount")
    async with database.tenant_transaction(tenant) as db_session:
        repo = PaymentRepository(db_session)
        if not await repo.account_exists(account_id):
            raise PaymentNotFoundError(f"no customer account {account_id}", field="account_id")
        payment = new_payment(
            provider,
            amount=amount,
            currency=currency,
            payment_method=payment_method,
            customer=customer,
            purpose=PaymentPurpose.WALLET_TOPUP,
            account_id=account_id,
        )
        if payment_id is not None:
            payment.id = payment_id
        payment.attempts = 1
        repo.add(payment)
        await db_session.flush()
        operation = await begin_operation(repo, payment, OperationKind.AUTHORIZE, amount)
        call = Call(payment.id, operation.id, operation.idempotency_key, None)
    payment = await send_authorize(
        database,
        tenant,
        call,
        provider=provider,
        amount=amount,
        currency=currency,
        payment_method=payment_method,
        customer=customer,
    )
    if payment.status is PaymentStatus.AUTHORIZED:
        return await capture_top_up(database, tenant, payment.id, provider=provider)
    return payment


async def capture_top_up(
    database: Database, tenant: str, payment_id: uuid.UUID, *, provider: PaymentProvider
) -> Payment:
    """Capture an authorized top-up and credit the wallet; calling again after a crash or a
    timeout repeats the capture with the same key and credits the wallet once."""
    async with database.tenant_transaction(tenant) as db_session:
        repo = PaymentRepository(db_session)
        payment = await repo.payment(payment_id, for_update=True)
        if payment is None or payment.purpose is not PaymentPurpose.WALLET_TOPUP:
            raise PaymentNotFoundError(f"no wallet top-up {payment_id}")
        if payment.status is PaymentStatus.CAPTURED:
            await credit_top_up(db_session, payment)
            return payment
        if payment.psp_reference is None or payment.status not in (
            PaymentStatus.AUTHORIZED,
            PaymentStatus.OUTSTANDING,
        ):
            return payment
        amount, currency = payment.amount_authorized, payment.currency
        operation = await begin_operation(repo, payment, OperationKind.CAPTURE, amount)
        payment.attempts += 1
        call = Call(payment.id, operation.id, operation.idempotency_key, payment.psp_reference)
    payment = await send_capture(
        database,
        tenant,
        call,
        OperationKind.CAPTURE,
        provider=provider,
        amount=amount,
        currency=currency,
        shortfall=0,
    )
    if payment.status is PaymentStatus.CAPTURED:
        async with database.tenant_transaction(tenant) as db_session:
            await credit_top_up(db_session, payment)
            log.info("wallet topped up", extra={"payment_id": str(payment.id), "amount": amount})
    return payment
