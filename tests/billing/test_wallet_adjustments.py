"""Staff adjustments of a prepaid wallet: once per request, never below zero, even when two
debits race."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from tests.factories import add_fleet_account
from voltlane.billing import wallets
from voltlane.billing.settlement import wallet_of
from voltlane.core.db import Database
from voltlane.core.errors import VoltlaneError
from voltlane.models.tenant import AccountKind, Invoicing, WalletEntry, WalletKind, WalletReason
from voltlane.tenancy import TenantInfo

STAFF = uuid.UUID("00000000-0000-4000-8000-00000000f1a0")


def adjustment(amount: int, **changes: object) -> wallets.WalletAdjustment:
    made = wallets.WalletAdjustment(
        amount=amount,
        currency="EUR",
        reason=WalletReason.CORRECTION if amount < 0 else WalletReason.GOODWILL,
        note="Charger fault at the harbour",
        staff_user_id=STAFF,
        staff_email="fin@example.com",
        reference=uuid.uuid4(),
    )
    return replace(made, **changes)  # type: ignore[arg-type]


async def driver_with(database: Database, brand: TenantInfo, balance: int) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        account = await add_fleet_account(
            db_session, kind=AccountKind.DRIVER, name="Lena", invoicing=Invoicing.PER_SESSION
        )
        if balance:
            db_session.add(
                WalletEntry(
                    account_id=account.id,
                    kind=WalletKind.TOPUP,
                    amount=balance,
                    currency="EUR",
                    reference=uuid.uuid4(),
                )
            )
        return account.id


async def balance_of(database: Database, brand: TenantInfo, account_id: uuid.UUID) -> int:
    async with database.tenant_session(brand.key) as db_session:
        total, _ = await wallet_of(db_session, account_id, "EUR", limit=1)
    return total


async def test_two_debits_at_once_never_take_the_balance_below_zero(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    account = await driver_with(database, brand, 2500)

    async def second_debit() -> None:
        async with database.tenant_transaction(brand.key) as db_session:
            await wallets.adjust_wallet(db_session, account, adjustment(-2000))

    async with database.tenant_transaction(brand.key) as db_session:
        await wallets.adjust_wallet(db_session, account, adjustment(-2000))
        racing = asyncio.create_task(second_debit())
        await asyncio.sleep(0.5)
        # The second debit waits for the account's lock while the first is uncommitted.
        assert not racing.done()
    with pytest.raises(wallets.WalletBalanceError) as refused:
        await racing
    assert refused.value.field == "amount"
    assert await balance_of(database, brand, account) == 500


async def test_a_request_sent_twice_moves_the_wallet_once(database: Database, make_brand) -> None:
    brand = await make_brand()
    account = await driver_with(database, brand, 0)
    credit = adjustment(1250)
    async with database.tenant_transaction(brand.key) as db_session:
        first, booked = await wallets.adjust_wallet(db_session, account, credit)
    async with database.tenant_transaction(brand.key) as db_session:
        again, booked_again = await wallets.adjust_wallet(db_session, account, credit)
    assert (booked, booked_again) == (True, False)
    assert again.id == first.id
    assert (first.kind, first.amount, first.reason, first.note, first.staff_email) == (
        WalletKind.ADJUSTMENT,
        1250,
        WalletReason.GOODWILL,
        "Charger fault at the harbour",
        "fin@example.com",
    )
    assert first.staff_user_id == STAFF
    assert await balance_of(database, brand, account) == 1250


async def test_what_is_no_adjustment_is_refused_and_writes_nothing(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    lena = await driver_with(database, brand, 1000)
    mia = await driver_with(database, brand, 0)
    booked = adjustment(500)
    async with database.tenant_transaction(brand.key) as db_session:
        await wallets.adjust_wallet(db_session, lena, booked)
    refusals: list[tuple[str, str | None]] = []
    for account, wrong in (
        (lena, adjustment(0)),
        (lena, adjustment(wallets.MAX_ADJUSTMENT + 1)),
        (lena, adjustment(-100, reason=WalletReason.GOODWILL)),
        (lena, adjustment(100, note="  ")),
        (lena, adjustment(100, note="x" * 201)),
        (lena, adjustment(100, currency="eur")),
        (lena, adjustment(100, currency="XYZ")),
        (lena, adjustment(-1501)),
        (mia, replace(booked)),  # Lena's request, sent for Mia
        (uuid.uuid4(), adjustment(100)),
    ):
        async with database.tenant_transaction(brand.key) as db_session:
            try:
                await wallets.adjust_wallet(db_session, account, wrong)
            except VoltlaneError as exc:
                refusals.append((type(exc).__name__, exc.field))
    assert refusals == [
        ("InvalidAdjustmentError", "amount"),
        ("InvalidAdjustmentError", "amount"),
        ("InvalidAdjustmentError", "reason"),
        ("InvalidAdjustmentError", "note"),
        ("InvalidAdjustmentError", "note"),
        ("InvalidAdjustmentError", "currency"),
        ("TariffError", "currency"),
        ("WalletBalanceError", "amount"),
        ("ConflictError", "reference"),
        ("AccountNotFoundError", "account_id"),
    ]
    async with database.tenant_session(brand.key) as db_session:
        assert await db_session.scalar(select(func.count()).select_from(WalletEntry)) == 2
    assert await balance_of(database, brand, lena) == 1500
    assert await balance_of(database, brand, mia) == 0
