"""Cards a driver saved through the brand's PSP: the PSP keeps the card, Voltlane keeps its
references (customer, payment method), what the driver recognises it by, and which one is
the default. The default card is the one the app charges: wallet top-ups, the first fee of
a plan, sessions started from the app (``default_payment_method``).

An account has one default at most (a partial unique index), and exactly one while it has
cards: the first card saved becomes the default, and removing the default hands it to the
newest card left. Every change locks the account row first, so two requests of one driver
never see each other half done.

A removed card is also made unusable at the PSP (detached), by a job the removal writes
into the outbox in its own transaction: the driver's removal never waits on the PSP nor
fails with it, and the detach is durable (it reaches the broker once the removal commits)
and retried with backoff while the PSP is unreachable.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.errors import AccountNotFoundError
from voltlane.billing.payment_method_repository import PaymentMethodRepository
from voltlane.billing.providers import (
    PaymentProvider,
    ProviderDeclinedError,
    ProviderUnavailableError,
)
from voltlane.core.db import Database
from voltlane.core.errors import ConflictError, NotFoundError, ValidationError
from voltlane.models.tenant import StoredPaymentMethod
from voltlane.worker import enqueue

log = logging.getLogger(__name__)

DETACH_PAYMENT_METHOD_TASK = "billing.detach_payment_method"

LABEL_LIMIT = 60
EXPIRES_RE = re.compile(r"^(0[1-9]|1[0-2])/\d{4}$")


class PaymentMethodNotFoundError(NotFoundError):
    title = "Payment method not found"


class CardOfAnotherAccountError(ConflictError):
    """The PSP returned a payment method another account saved already."""

    title = "Card saved by another account"


class NoPaymentMethodError(ConflictError):
    """The driver has no saved card (of the brand's provider) to pay with."""

    title = "No payment method"


@dataclass(frozen=True, slots=True)
class NewCard:
    """A card the PSP's hosted page saved: its references and how it is shown."""

    provider: str
    payment_method: str
    customer: str | None
    label: str
    expires: str | None  # "MM/YYYY"


@dataclass(frozen=True, slots=True)
class SavedCard:
    method: StoredPaymentMethod
    created: bool  # False: the card was saved before (the return page was opened again)


@dataclass(frozen=True, slots=True)
class RemovedCard:
    """A card no longer on the account; ``new_default`` took over as the default."""

    provider: str
    customer: str | None
    payment_method: str
    label: str
    new_default: StoredPaymentMethod | None


async def _locked(repo: PaymentMethodRepository, account_id: uuid.UUID) -> None:
    if await repo.lock_account(account_id) is None:
        raise AccountNotFoundError(f"no customer account {account_id}", field="account_id")


async def list_payment_methods(
    db_session: AsyncSession, account_id: uuid.UUID
) -> list[StoredPaymentMethod]:
    """The account's saved cards, the default first, then the newest."""
    return await PaymentMethodRepository(db_session).methods_of(account_id)


async def get_payment_method(
    db_session: AsyncSession, account_id: uuid.UUID, method_id: uuid.UUID
) -> StoredPaymentMethod:
    """One saved card of the account (PaymentMethodNotFoundError for any other id)."""
    method = await PaymentMethodRepository(db_session).method_of(account_id, method_id)
    if method is None:
        raise PaymentMethodNotFoundError(f"no payment method {method_id}")
    return method


async def default_payment_method(
    db_session: AsyncSession, account_id: uuid.UUID
) -> StoredPaymentMethod | None:
    """The card the app charges for this account, or None when it has saved none."""
    return await PaymentMethodRepository(db_session).default_of(account_id)


async def payment_customer(
    db_session: AsyncSession, account_id: uuid.UUID, provider: str
) -> str | None:
    """The PSP customer the account's cards at ``provider`` belong to (None: no card yet),
    so that a new card joins the same customer."""
    return await PaymentMethodRepository(db_session).customer_of(account_id, provider)


async def save_card(db_session: AsyncSession, account_id: uuid.UUID, card: NewCard) -> SavedCard:
    """Keep a card the PSP saved for the account; the account's first card becomes its
    default. Saving the same payment method again returns the row saved before."""
    label = " ".join(card.label.split())[:LABEL_LIMIT]
    if not card.payment_method or not label:
        raise ValidationError("a saved card needs its PSP reference and a label", field="card")
    expires = card.expires if card.expires and EXPIRES_RE.match(card.expires) else None
    repo = PaymentMethodRepository(db_session)
    await _locked(repo, account_id)
    existing = await repo.by_reference(card.provider, card.payment_method)
    if existing is not None:
        if existing.account_id != account_id:
            raise CardOfAnotherAccountError("this card is saved by another account")
        return SavedCard(existing, created=False)
    first = await repo.default_of(account_id) is None
    method = StoredPaymentMethod(
        account_id=account_id,
        provider=card.provider,
        customer_ref=card.customer,
        payment_method_ref=card.payment_method,
        label=label,
        expires=expires,
        is_default=first,
    )
    repo.add(method)
    await db_session.flush()
    await db_session.refresh(method)
    return SavedCard(method, created=True)


async def make_default(
    db_session: AsyncSession, account_id: uuid.UUID, method_id: uuid.UUID
) -> StoredPaymentMethod:
    """Make one of the account's cards the one the app charges."""
    repo = PaymentMethodRepository(db_session)
    await _locked(repo, account_id)
    method = await repo.method_of(account_id, method_id)
    if method is None:
        raise PaymentMethodNotFoundError(f"no payment method {method_id}")
    if not method.is_default:
        await repo.clear_default(account_id)
        await db_session.flush()
        method.is_default = True
        await db_session.flush()
    await db_session.refresh(method)
    return method


async def remove_payment_method(
    db_session: AsyncSession, tenant_key: str, account_id: uuid.UUID, method_id: uuid.UUID
) -> RemovedCard:
    """Remove a card from the account; when it was the default, the newest card left
    becomes the default. Its detach at the PSP is enqueued with the removal (after commit,
    retried while the PSP is unreachable)."""
    repo = PaymentMethodRepository(db_session)
    await _locked(repo, account_id)
    method = await repo.method_of(account_id, method_id)
    if method is None:
        raise PaymentMethodNotFoundError(f"no payment method {method_id}")
    removed = RemovedCard(
        method.provider, method.customer_ref, method.payment_method_ref, method.label, None
    )
    was_default = method.is_default
    await repo.delete(method)
    db_session.expunge(method)
    enqueue(
        db_session,
        DETACH_PAYMENT_METHOD_TASK,
        tenant=tenant_key,
        provider=removed.provider,
        payment_method=removed.payment_method,
        customer=removed.customer,
    )
    if not was_default:
        return removed
    left = await repo.methods_of(account_id)
    if not left:
        return removed
    left[0].is_default = True
    await db_session.flush()
    return RemovedCard(
        removed.provider, removed.customer, removed.payment_method, removed.label, left[0]
    )


async def detach_removed_card(
    database: Database,
    tenant_key: str,
    *,
    provider: PaymentProvider,
    card_provider: str,
    payment_method: str,
    customer: str | None,
) -> bool:
    """Detach a card the driver removed at the PSP that stored it. True when nothing is
    left to do: detached, refused by the PSP (it holds no such card any more), saved again
    meanwhile (Adyen keeps one token per card and shopper: the token is in use again), or
    stored at a PSP the brand no longer uses. False while the PSP cannot be reached: the
    job retries with the same idempotency key, so a detach that did reach it is not
    repeated."""
    context = {"payment_method": payment_method, "provider": card_provider}
    if provider.name != card_provider:
        log.warning("removed card stored at a provider the brand left: not detached", extra=context)
        return True
    async with database.tenant_transaction(tenant_key) as db_session:
        saved_again = await PaymentMethodRepository(db_session).by_reference(
            card_provider, payment_method
        )
    if saved_again is not None:
        return True
    try:
        await provider.detach_payment_method(
            payment_method,
            customer=customer,
            idempotency_key=f"voltlane-detach-{card_provider}-{payment_method}",
        )
    except ProviderUnavailableError:
        return False
    except ProviderDeclinedError as exc:
        log.info("removed card not detached", extra={**context, "error": exc.detail})
    return True
