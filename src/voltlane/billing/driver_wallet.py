"""A driver's prepaid wallet and loyalty points as the app shows them, and wallet top-ups
paid with the driver's default card.

A top-up goes through ``top_up_wallet`` like every top-up (authorized and captured at
once, credited once). The app's form carries a random token; the payment's id is derived
from the account and that token, so a form sent twice (a double tap, a reload, a retry
after a lost answer) finds the first payment instead of charging again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.accounts import AccountUpdate, update_account
from voltlane.billing.driver_wallet_repository import DriverWalletRepository
from voltlane.billing.payment_methods import NoPaymentMethodError, default_payment_method
from voltlane.billing.payments import PaymentNotFoundError, top_up_wallet
from voltlane.billing.providers import PaymentProvider
from voltlane.billing.settlement_repository import SettlementRepository
from voltlane.core.db import Database
from voltlane.core.errors import ValidationError
from voltlane.models.tenant import CustomerAccount, LoyaltyEntry, Payment, WalletEntry
from voltlane.tariff.rounding import to_minor

# In units of the brand's currency: the amounts offered, and what may be typed.
PRESET_AMOUNTS = (Decimal(10), Decimal(25), Decimal(50))
TOP_UP_MIN = Decimal(5)
TOP_UP_MAX = Decimal(500)

# Top-up payment ids: uuid5 of the account and the form's token in this namespace.
_TOP_UP_NAMESPACE = uuid.UUID("5f0c8a1e-7a51-4d0e-9a52-3c0f2b6d9e41")


def preset_amounts(currency: str) -> list[int]:
    """The amounts the app offers, in minor units of ``currency``."""
    return [to_minor(amount, currency) for amount in PRESET_AMOUNTS]


def top_up_limits(currency: str) -> tuple[int, int]:
    """The least and the most one top-up may be, in minor units of ``currency``."""
    return to_minor(TOP_UP_MIN, currency), to_minor(TOP_UP_MAX, currency)


def top_up_id(account_id: uuid.UUID, form_token: uuid.UUID) -> uuid.UUID:
    """The payment id of the top-up a form with ``form_token`` asks for."""
    return uuid.uuid5(_TOP_UP_NAMESPACE, f"{account_id}:{form_token}")


@dataclass(frozen=True, slots=True)
class TopUp:
    payment: Payment
    repeated: bool  # True: this form was sent before; nothing new was charged


async def wallet_moves(
    db_session: AsyncSession, account_id: uuid.UUID, currency: str, *, limit: int, offset: int
) -> tuple[int, list[WalletEntry]]:
    """The account's wallet balance in ``currency`` and a page of its movements, newest
    first."""
    balance = await SettlementRepository(db_session).wallet_balance(account_id, currency)
    entries = await DriverWalletRepository(db_session).wallet_entries(
        account_id, currency, limit=limit, offset=offset
    )
    return balance, entries


async def loyalty_moves(
    db_session: AsyncSession, account_id: uuid.UUID, *, limit: int, offset: int
) -> tuple[int, list[LoyaltyEntry]]:
    """The account's loyalty points and a page of their movements, newest first."""
    balance = await SettlementRepository(db_session).points(account_id)
    entries = await DriverWalletRepository(db_session).loyalty_entries(
        account_id, limit=limit, offset=offset
    )
    return balance, entries


async def set_redeem_points(
    db_session: AsyncSession, account_id: uuid.UUID, *, redeem: bool
) -> CustomerAccount:
    """The driver's choice to spend points as a discount on their next sessions."""
    return await update_account(db_session, account_id, AccountUpdate(redeem_points=redeem))


async def get_top_up(
    db_session: AsyncSession, account_id: uuid.UUID, payment_id: uuid.UUID
) -> Payment:
    """One of the account's own top-ups (PaymentNotFoundError for any other payment)."""
    payment = await DriverWalletRepository(db_session).top_up(account_id, payment_id)
    if payment is None:
        raise PaymentNotFoundError(f"no top-up {payment_id}")
    return payment


async def top_up_with_default_card(
    database: Database,
    tenant: str,
    account_id: uuid.UUID,
    *,
    provider: PaymentProvider,
    amount: int,
    currency: str,
    form_token: uuid.UUID,
) -> TopUp:
    """Top up the wallet by ``amount`` minor units, paid with the account's default card.

    Opens its own transactions (the idempotency key is committed before the PSP call, see
    ``billing.payments``). The same ``form_token`` again returns the first top-up.
    """
    least, most = top_up_limits(currency)
    if not least <= amount <= most:
        raise ValidationError(f"a top-up is between {least} and {most} minor units", field="amount")
    payment_id = top_up_id(account_id, form_token)
    async with database.tenant_transaction(tenant) as db_session:
        existing = await DriverWalletRepository(db_session).top_up(account_id, payment_id)
        if existing is not None:
            return TopUp(existing, repeated=True)
        card = await default_payment_method(db_session, account_id)
        if card is None or card.provider != provider.name:
            raise NoPaymentMethodError("add a card before topping up", field="amount")
        method, customer = card.payment_method_ref, card.customer_ref
    try:
        payment = await top_up_wallet(
            database,
            tenant,
            account_id,
            provider=provider,
            amount=amount,
            currency=currency,
            payment_method=method,
            customer=customer,
            payment_id=payment_id,
        )
    except IntegrityError:
        # The same form, sent at the same moment, inserted the payment first.
        async with database.tenant_transaction(tenant) as db_session:
            existing = await DriverWalletRepository(db_session).top_up(account_id, payment_id)
        if existing is None:
            raise
        return TopUp(existing, repeated=True)
    return TopUp(payment, repeated=False)
