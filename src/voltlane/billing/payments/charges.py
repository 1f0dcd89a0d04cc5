"""A charge started from the driver app: the hold on the driver's card is taken before the
charging session exists (the charge request stands for it until then), linked to the
session once the charger reports it, and released when the start fails or the driver
gives up. Once linked, the session's CDR is captured, dunned and refunded like any other
session's payment."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.payments.calls import (
    FINAL,
    Call,
    PaymentNotFoundError,
    PaymentStateError,
    advance,
    begin_operation,
    new_payment,
    send_authorize,
    send_capture,
)
from voltlane.billing.providers import PaymentProvider
from voltlane.core.db import Database
from voltlane.core.errors import ValidationError
from voltlane.models.tenant import ChargeRequestStatus, OperationKind, Payment, PaymentStatus

log = logging.getLogger(__name__)

# A request in one of these takes no new hold.
_CLOSED = frozenset(
    {ChargeRequestStatus.FAILED, ChargeRequestStatus.CANCELLED, ChargeRequestStatus.FINISHED}
)


async def pre_authorize_charge(
    database: Database,
    tenant: str,
    charge_request_id: uuid.UUID,
    *,
    provider: PaymentProvider,
    amount: int,
    currency: str,
    payment_method: str,
    customer: str | None = None,
) -> Payment:
    """Reserve ``amount`` on the driver's payment method for a charge request whose session
    does not exist yet (the payment's purpose is ``session``, ``session_id`` follows with
    attach_charge_session).

    Like pre_authorize_session, it never raises for a PSP problem: the payment comes back
    ``authorized``, ``requires_action`` (3-D Secure: ``action`` holds what the app needs),
    ``failed`` (declined: ``last_error`` says why; calling again with another card is a new
    attempt) or ``pending`` (the PSP did not answer: calling again repeats the first
    request, with its idempotency key, whatever card this call names). A call for a charge
    whose hold exists returns its payment unchanged. A request that is failed, cancelled
    or finished takes no new hold and repeats no call (PaymentStateError): release_charge
    settles what it may hold.
    """
    if amount <= 0:
        raise ValidationError("the amount to pre-authorize must be positive", field="amount")
    async with database.tenant_transaction(tenant) as db_session:
        repo = PaymentRepository(db_session)
        # The request's row lock puts two first calls (two tabs) one after the other.
        request = await repo.charge_request(charge_request_id, for_update=True)
        if request is None:
            raise PaymentNotFoundError(
                f"no charge request {charge_request_id}", field="charge_request_id"
            )
        payment = await repo.payment_of_charge_request(charge_request_id, for_update=True)
        if payment is not None and payment.status not in (
            PaymentStatus.PENDING,
            PaymentStatus.FAILED,
        ):
            return payment
        if request.status in _CLOSED:
            raise PaymentStateError(f"the charge request is {request.status.value}")
        if payment is None:
            payment = new_payment(
                provider,
                amount=amount,
                currency=currency,
                payment_method=payment_method,
                customer=customer,
            )
            payment.charge_request_id = charge_request_id
            repo.add(payment)
            await db_session.flush()
        elif payment.status is PaymentStatus.FAILED:
            # A declined card may be replaced by another: a new attempt, with a new key.
            payment.status = PaymentStatus.PENDING
            payment.payment_method_ref = payment_method
            payment.customer_ref = customer
            payment.amount_authorized = amount
            payment.currency = currency
        operation = await begin_operation(
            repo, payment, OperationKind.AUTHORIZE, payment.amount_authorized
        )
        payment.attempts += 1
        call = Call(payment.id, operation.id, operation.idempotency_key, None)
        # What the first request sent: a key repeated with other parameters is refused.
        sent = (
            payment.amount_authorized,
            payment.currency,
            payment.payment_method_ref or payment_method,
            payment.customer_ref,
        )
    return await send_authorize(
        database,
        tenant,
        call,
        provider=provider,
        amount=sent[0],
        currency=sent[1],
        payment_method=sent[2],
        customer=sent[3],
    )


async def attach_charge_session(
    db_session: AsyncSession, charge_request_id: uuid.UUID, session_id: uuid.UUID
) -> None:
    """Name the charging session on the charge's payment, in the transaction that links
    the session to its charge request: from then on the session's CDR is captured from
    this hold (capture_cdr), followed up when it fails (dunning) and refundable. Nothing to
    do when the charge has no payment (paid from the wallet) or is linked already."""
    repo = PaymentRepository(db_session)
    payment = await repo.payment_of_charge_request(charge_request_id, for_update=True)
    if payment is None or payment.session_id == session_id:
        return
    if payment.session_id is not None:
        raise PaymentStateError(f"the charge's payment belongs to session {payment.session_id}")
    if await repo.payment_of_session(session_id) is not None:
        raise PaymentStateError(f"charging session {session_id} has a payment already")
    payment.session_id = session_id
    await db_session.flush()
    log.info(
        "charge payment linked to its session",
        extra={"payment_id": str(payment.id), "session_id": str(session_id)},
    )


async def release_charge(
    database: Database, tenant: str, charge_request_id: uuid.UUID, *, provider: PaymentProvider
) -> Payment | None:
    """Give back the hold of a charge that will not charge (the start failed, the driver
    cancelled): the PSP cancels the authorization and the payment ends ``cancelled``.

    Idempotent: a released charge is returned unchanged; a hold whose authorization is
    still unknown (``pending``) is first asked again with its key, then cancelled; one
    that was declined or never sent holds nothing and is only marked cancelled. Never raises
    for a PSP problem: when the PSP cannot be reached the payment stays ``pending`` or
    becomes ``outstanding`` and calling again repeats the call with the same key. None when
    the charge has no payment. A charge linked to its session is the CDR's to settle
    (PaymentStateError).
    """
    async with database.tenant_transaction(tenant) as db_session:
        repo = PaymentRepository(db_session)
        payment = await repo.payment_of_charge_request(charge_request_id, for_update=True)
        if payment is None or payment.status in FINAL:
            return payment
        if payment.session_id is not None:
            raise PaymentStateError("the charge has a charging session: its CDR settles it")
        resend = None
        if payment.status is PaymentStatus.PENDING:
            open_call = await repo.open_operation(
                payment.id, OperationKind.AUTHORIZE, payment.amount_authorized
            )
            if open_call is not None:
                resend = Call(payment.id, open_call.id, open_call.idempotency_key, None)
        if resend is None and (
            payment.psp_reference is None or payment.status is PaymentStatus.FAILED
        ):
            # Never authorized: nothing is held at the PSP.
            advance(payment, PaymentStatus.CANCELLED)
            return payment
        payment_id = payment.id
        sent = (
            payment.amount_authorized,
            payment.currency,
            payment.payment_method_ref or "",
            payment.customer_ref,
        )
    if resend is not None:
        # Whether the PSP holds anything is unknown: its answer to the same key tells.
        payment = await send_authorize(
            database,
            tenant,
            resend,
            provider=provider,
            amount=sent[0],
            currency=sent[1],
            payment_method=sent[2],
            customer=sent[3],
        )
        if payment.status is PaymentStatus.PENDING:
            return payment
    return await _cancel_hold(database, tenant, payment_id, provider)


async def _cancel_hold(
    database: Database, tenant: str, payment_id: uuid.UUID, provider: PaymentProvider
) -> Payment:
    async with database.tenant_transaction(tenant) as db_session:
        repo = PaymentRepository(db_session)
        payment = await repo.payment(payment_id, for_update=True)
        assert payment is not None
        if payment.status in FINAL or payment.session_id is not None:
            return payment
        if payment.psp_reference is None or payment.status is PaymentStatus.FAILED:
            advance(payment, PaymentStatus.CANCELLED)
            return payment
        operation = await begin_operation(repo, payment, OperationKind.CANCEL, None)
        payment.attempts += 1
        call = Call(payment.id, operation.id, operation.idempotency_key, payment.psp_reference)
        currency = payment.currency
    payment = await send_capture(
        database,
        tenant,
        call,
        OperationKind.CANCEL,
        provider=provider,
        amount=0,
        currency=currency,
        shortfall=0,
    )
    log.info(
        "charge hold released",
        extra={"payment_id": str(payment.id), "status": payment.status.value},
    )
    return payment
