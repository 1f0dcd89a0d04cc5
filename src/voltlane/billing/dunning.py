"""Dunning: getting paid for sessions whose payment failed.

A payment that failed at capture (or whose pre-authorization was declined) for a rated,
uncredited session is followed: the driver is told, and the stored payment method is
charged again after each of the brand's ``[payments] retry_days`` (a new pre-authorization
of the CDR's total and its capture, through the same idempotent operations as any payment).
A declined shortfall (what the CDR cost above the hold) is followed the same way, its
retries charging the shortfall off-session again.
When ``block_after`` retries have failed the driver's card is blocked and the driver told
why. A recovered payment marks the session's receipt paid. Charging is never held up: all
of this runs in the ``billing.dunning_run`` job.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import payments
from voltlane.billing.messages import payment_message
from voltlane.billing.payment_repository import PaymentRepository
from voltlane.billing.providers import PaymentProvider
from voltlane.billing.settlement import amount_due, settle
from voltlane.billing.settlement_repository import SettlementRepository
from voltlane.charging import tokens
from voltlane.core.db import Database
from voltlane.identity.notifications import queue_email
from voltlane.models.tenant import (
    Cdr,
    DunningState,
    IdToken,
    IdTokenStatus,
    Payment,
    PaymentPurpose,
    PaymentStatus,
)
from voltlane.tenancy import TenantInfo
from voltlane.worker import enqueue

log = logging.getLogger(__name__)

# How long a claimed retry is held by the run that claimed it before another may take it.
LEASE = timedelta(minutes=30)
BATCH = 100
DUNNING_RUN_TASK = "billing.dunning_run"


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    retry_days: tuple[int, ...]
    block_after: int

    @classmethod
    def of(cls, brand: TenantInfo) -> DunningPolicy:
        settings = brand.profile.get("payments") or {}
        return cls(
            tuple(settings.get("retry_days") or (1, 3, 7)), int(settings.get("block_after") or 3)
        )

    def next_retry(self, failed_retries: int, now: datetime) -> datetime:
        days = self.retry_days[min(failed_retries, len(self.retry_days) - 1)]
        return now + timedelta(days=days)


def _session_of(payment: Payment) -> uuid.UUID:
    """Dunning follows session payments and shortfalls (a failed top-up credits nothing);
    a shortfall's session is its CDR's."""
    if payment.session_id is None:
        raise payments.PaymentStateError(f"payment {payment.id} is not a session's")
    return payment.session_id


async def _cdr_of(repo: PaymentRepository, payment: Payment) -> Cdr | None:
    if payment.purpose is PaymentPurpose.SHORTFALL and payment.cdr_id is not None:
        return await repo.cdr(payment.cdr_id)
    return await repo.session_cdr(_session_of(payment))


@dataclass(frozen=True, slots=True)
class _Context:
    brand: TenantInfo
    now: datetime

    def day(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.brand.timezone))


async def _tell_driver(
    repo: PaymentRepository,
    context: _Context,
    kind: str,
    payment: Payment,
    cdr: Cdr,
    *,
    step: int,
    amount: int | None = None,
) -> None:
    """The message of one dunning step about ``amount`` (by default what is still due), to
    the e-mail of the card's account (none: the driver paid ad hoc and left no address; the
    step is logged instead)."""
    card, account = await repo.driver_of(cdr.session_id)
    if account is None or not account.email:
        log.info(
            "dunning step not mailed: no address",
            extra={"payment_id": str(payment.id), "step": kind},
        )
        return
    brand = context.brand
    retry = payment.next_dunning_at
    subject, body = payment_message(
        kind,
        locale=account.locale,
        currency=cdr.currency,
        timezone=brand.timezone,
        brand=brand.name,
        name=account.name,
        amount=await _still_due(repo, payment, cdr) if amount is None else amount,
        day=context.day(cdr.start_date_time).date(),
        retry=context.day(retry).date() if retry else None,
        reason=payment.last_error,
        card=(card.label or card.id_token) if card else None,
    )
    await queue_email(
        repo.db_session,
        brand.key,
        kind=f"dunning.{kind}",
        reference=f"{payment.id}:{step}",
        recipient=account.email,
        subject=subject,
        body=body,
    )


async def _still_due(repo: PaymentRepository, payment: Payment, cdr: Cdr) -> int:
    if payment.purpose is PaymentPurpose.SHORTFALL:
        return payment.amount_authorized - payment.amount_captured
    settlement = await SettlementRepository(repo.db_session).settlement(cdr.id)
    owed = settlement.amount_due if settlement is not None else cdr.total_incl_vat
    return owed - payment.amount_captured


async def open_dunning(
    db_session: AsyncSession, brand: TenantInfo, *, now: datetime, limit: int = BATCH
) -> list[uuid.UUID]:
    """Start following the failed payments no dunning follows yet: the session is settled
    (loyalty, wallet), and if anything is still due the first retry is scheduled and the
    driver told. Returns the payments now followed."""
    repo = PaymentRepository(db_session)
    policy = DunningPolicy.of(brand)
    context = _Context(brand, now)
    opened = []
    for payment, cdr in await repo.failed_without_dunning(limit):
        await settle(db_session, brand, cdr)
        if await _still_due(repo, payment, cdr) <= 0:
            # Discounts and the wallet paid it all: nothing to chase, nobody to trouble.
            payment.dunning_state = DunningState.RECOVERED
            continue
        payment.dunning_state = DunningState.SCHEDULED
        payment.dunning_attempts = 0
        payment.next_dunning_at = policy.next_retry(0, now)
        await _tell_driver(repo, context, "payment_failed", payment, cdr, step=0)
        opened.append(payment.id)
    return opened


async def claim_due(
    db_session: AsyncSession, *, now: datetime, limit: int = BATCH
) -> list[uuid.UUID]:
    """The retries due now, claimed for this run (see PaymentRepository.claim_due)."""
    return await PaymentRepository(db_session).claim_due(now, now + LEASE, limit)


async def retry_payment(
    database: Database,
    brand: TenantInfo,
    payment_id: uuid.UUID,
    *,
    provider: PaymentProvider,
    now: datetime,
) -> Payment:
    """Charge a claimed payment's CDR total again on its stored payment method and record
    the outcome: recovered, retry scheduled, or the card blocked after the last retry.

    A PSP that cannot be reached counts as no attempt: the claim's lease runs out and the
    next run tries again with the same idempotency keys.
    """
    async with database.tenant_session(brand.key) as db_session:
        repo = PaymentRepository(db_session)
        payment = await repo.payment(payment_id)
        cdr = await _cdr_of(repo, payment) if payment is not None else None
    if payment is None or cdr is None or payment.payment_method_ref is None:
        raise payments.PaymentNotFoundError(f"no payment {payment_id} to retry")
    if payment.purpose is PaymentPurpose.SHORTFALL:
        charged = await payments.charge_shortfall(
            database, brand.key, payment_id, provider=provider, retry=True
        )
        return await _record_retry(database, brand, payment_id, cdr, charged.status, now=now)
    async with database.tenant_transaction(brand.key) as db_session:
        due = await amount_due(db_session, brand, cdr.id) or 0
    if due <= 0:  # discounts left nothing to pay
        return await _record_retry(
            database, brand, payment_id, cdr, PaymentStatus.CAPTURED, now=now
        )
    result = await payments.pre_authorize_session(
        database,
        brand.key,
        _session_of(payment),
        provider=provider,
        amount=due,
        currency=cdr.currency,
        payment_method=payment.payment_method_ref,
        customer=payment.customer_ref,
    )
    if result.status is PaymentStatus.AUTHORIZED:
        captured = await payments.capture_cdr(
            database, brand.key, cdr.id, provider=provider, due=due
        )
        result = captured if captured is not None else result
    return await _record_retry(database, brand, payment_id, cdr, result.status, now=now)


async def _record_retry(
    database: Database,
    brand: TenantInfo,
    payment_id: uuid.UUID,
    cdr: Cdr,
    outcome: PaymentStatus,
    *,
    now: datetime,
) -> Payment:
    policy = DunningPolicy.of(brand)
    context = _Context(brand, now)
    async with database.tenant_transaction(brand.key) as db_session:
        repo = PaymentRepository(db_session)
        payment = await repo.payment(payment_id, for_update=True)
        assert payment is not None
        if payment.dunning_state is not DunningState.SCHEDULED:
            return payment  # recorded by an earlier run
        if outcome is PaymentStatus.CAPTURED:
            payment.dunning_state = DunningState.RECOVERED
            payment.next_dunning_at = None
            await repo.mark_receipt_paid(cdr.session_id, await _paid(repo, payment, cdr))
            step = payment.dunning_attempts + 1
            await _tell_driver(
                repo,
                context,
                "payment_recovered",
                payment,
                cdr,
                step=step,
                amount=payment.amount_captured,
            )
            log.info("payment recovered", extra={"payment_id": str(payment.id)})
            return payment
        if outcome not in (PaymentStatus.FAILED, PaymentStatus.REQUIRES_ACTION):
            return payment  # the PSP did not answer (yet): the lease expires, then again
        payment.dunning_attempts += 1
        if payment.dunning_attempts >= policy.block_after:
            payment.dunning_state = DunningState.EXHAUSTED
            payment.next_dunning_at = None
            await _block_card(repo, payment, cdr)
            kind = "token_blocked"
        else:
            payment.next_dunning_at = policy.next_retry(payment.dunning_attempts, now)
            kind = "payment_retry_failed"
        await _tell_driver(repo, context, kind, payment, cdr, step=payment.dunning_attempts)
        log.warning(
            "payment retry failed",
            extra={"payment_id": str(payment.id), "attempts": payment.dunning_attempts},
        )
        return payment


async def _paid(repo: PaymentRepository, payment: Payment, cdr: Cdr) -> int:
    """What the card has paid for the CDR: a shortfall adds to its session's hold."""
    if payment.purpose is not PaymentPurpose.SHORTFALL:
        return payment.amount_captured
    hold = await repo.payment_of_session(cdr.session_id)
    return payment.amount_captured + (hold.amount_captured if hold is not None else 0)


async def _block_card(repo: PaymentRepository, payment: Payment, cdr: Cdr) -> None:
    card, _ = await repo.driver_of(cdr.session_id)
    if card is not None and card.status is IdTokenStatus.ACCEPTED:
        await tokens.update_token(
            repo.db_session, card.id, tokens.IdTokenUpdate(status=IdTokenStatus.BLOCKED)
        )
        log.warning(
            "card blocked after failed payment retries",
            extra={"payment_id": str(payment.id), "id_token_pk": str(card.id)},
        )


@dataclass(frozen=True, slots=True)
class DunningRow:
    """A failed session payment and where its recovery stands."""

    payment: Payment
    customer: str | None  # None: an ad-hoc driver
    card: IdToken | None  # the card the session was started with
    owed: int  # minor units still due

    @property
    def card_blocked(self) -> bool:
        return self.card is not None and self.card.status is not IdTokenStatus.ACCEPTED


async def find_dunning(
    db_session: AsyncSession, *, state: DunningState | None, limit: int, offset: int
) -> list[DunningRow]:
    """Failed payments and the dunning of each (``state``: only those in it), the next
    retry first."""
    rows = await PaymentRepository(db_session).dunning_matching(
        state=state, limit=limit, offset=offset
    )
    return [DunningRow(payment, name, card, owed) for payment, name, card, owed in rows]


async def retry_now(
    db_session: AsyncSession, tenant_key: str, payment_id: uuid.UUID, *, now: datetime
) -> None:
    """Bring a payment's next scheduled retry forward to now and start the brand's dunning
    run (after commit), which charges it like any due retry."""
    repo = PaymentRepository(db_session)
    payment = await repo.payment(payment_id)
    if payment is None or payment.purpose is PaymentPurpose.WALLET_TOPUP:
        raise payments.PaymentNotFoundError(f"no payment {payment_id}", field="payment_id")
    if not await repo.schedule_retry_now(payment_id, now):
        raise payments.PaymentStateError("no retry of this payment is scheduled")
    enqueue(db_session, DUNNING_RUN_TASK, tenant=tenant_key)
