"""Prepaid wallets: topped up through the PSP once per top-up, spent on sessions before the
card, shown on the receipt."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from tests.billing.providers.test_providers import stripe_at
from tests.billing.test_cdrs import only_session
from tests.billing.test_invoicing import NOW, Meter, charge, charging_brand, rate_all
from tests.billing.test_loyalty import driver, receipts
from tests.billing.test_payments import fake_stripe, pre_authorize
from tests.ocpp.conftest import add_token, gateway, open_charger
from voltlane.billing import payments
from voltlane.billing.cdrs import credit_cdr
from voltlane.billing.dunning import open_dunning
from voltlane.billing.invoicing import document_of
from voltlane.billing.settlement import wallet_of
from voltlane.core.db import Database
from voltlane.models.tenant import (
    DunningState,
    Notification,
    Payment,
    PaymentOperation,
    PaymentStatus,
    SessionSettlement,
)
from voltlane.tenancy import TenantInfo

__all__ = ["fake_stripe", "gateway", "open_charger"]


async def balance(database: Database, brand: TenantInfo, account: uuid.UUID) -> list[int]:
    """The balance, then the movements, largest first (movements of one transaction share
    their time)."""
    async with database.tenant_session(brand.key) as db_session:
        total, entries = await wallet_of(db_session, account, "EUR", limit=20)
    return [total, *sorted((e.amount for e in entries), reverse=True)]


async def test_a_top_up_is_captured_at_once_and_credited_once(
    database: Database, make_brand, fake_stripe
) -> None:
    fake, url = fake_stripe
    stripe = stripe_at(url)
    brand = await make_brand(payments="stripe")
    account = await driver(database, brand)

    topped = await payments.top_up_wallet(
        database,
        brand.key,
        account,
        provider=stripe,
        amount=2000,
        currency="EUR",
        payment_method="pm_card_visa",
    )
    again = await payments.capture_top_up(database, brand.key, topped.id, provider=stripe)
    fake.decline_next = 1
    declined = await payments.top_up_wallet(
        database,
        brand.key,
        account,
        provider=stripe,
        amount=5000,
        currency="EUR",
        payment_method="pm_card_visa",
    )
    challenged = await payments.top_up_wallet(
        database,
        brand.key,
        account,
        provider=stripe,
        amount=3000,
        currency="EUR",
        payment_method="pm_card_threeDSecure2Required",
    )

    assert (topped.status, topped.amount_captured, topped.account_id, topped.session_id) == (
        PaymentStatus.CAPTURED,
        2000,
        account,
        None,
    )
    assert again.status is PaymentStatus.CAPTURED
    assert list(fake.captured_amounts.values()) == [2000]
    assert declined.status is PaymentStatus.FAILED
    assert challenged.status is PaymentStatus.REQUIRES_ACTION
    assert await balance(database, brand, account) == [2000, 2000]
    async with database.tenant_session(brand.key) as db_session:
        operations = (
            await db_session.execute(
                select(PaymentOperation.kind, PaymentOperation.state).where(
                    PaymentOperation.payment_id == topped.id
                )
            )
        ).all()
    assert sorted((k.value, s.value) for k, s in operations) == [
        ("authorize", "succeeded"),
        ("capture", "succeeded"),
    ]


async def test_sessions_are_paid_from_the_wallet_first_and_the_rest_is_due(
    database: Database, make_brand, open_charger, fake_stripe
) -> None:
    _, url = fake_stripe
    brand = await charging_brand(database, make_brand, payments="stripe")
    account = await driver(database, brand)
    await payments.top_up_wallet(
        database,
        brand.key,
        account,
        provider=stripe_at(url),
        amount=500,
        currency="EUR",
        payment_method="pm_card_visa",
    )
    await add_token(database, brand, "RFID0001", account_id=account)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    await charge(cp, meter, "RFID0001", "2026-11-24T08:00:00Z", "2026-11-24T08:45:00Z", 7_250)
    await charge(cp, meter, "RFID0001", "2026-11-24T09:00:00Z", "2026-11-24T09:45:00Z", 10_000)
    await rate_all(database, brand)

    issued = await receipts(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        settled = list(
            await db_session.scalars(
                select(SessionSettlement).order_by(SessionSettlement.wallet_paid.desc())
            )
        )

    # 5.00 on the wallet: 3.96 for the first session, the remaining 1.04 for the second
    # (5.24), whose 4.20 stay due.
    assert [(s.wallet_paid, s.amount_due) for s in settled] == [(396, 0), (104, 420)]
    assert [(r.total_gross, r.paid, r.due_date is None) for r in issued] == [
        (396, 396, True),
        (524, 104, False),
    ]
    assert document_of(issued[0]).notes == ("€3.96 paid from your prepaid balance.",)
    assert document_of(issued[1]).payable == 420
    assert await balance(database, brand, account) == [0, 500, -104, -396]
    # Crediting the first session puts its 3.96 back on the wallet, once.
    for _ in range(2):
        async with database.tenant_transaction(brand.key) as db_session:
            await credit_cdr(db_session, settled[0].cdr_id, reason="Charger fault")
        await receipts(database, brand)
    assert await balance(database, brand, account) == [396, 500, 396, -104, -396]


async def test_a_declined_card_is_not_chased_when_the_wallet_paid_the_session(
    database: Database, make_brand, open_charger, fake_stripe
) -> None:
    fake, url = fake_stripe
    stripe = stripe_at(url)
    brand = await charging_brand(database, make_brand, payments="stripe")
    account = await driver(database, brand)
    await payments.top_up_wallet(
        database,
        brand.key,
        account,
        provider=stripe,
        amount=1000,
        currency="EUR",
        payment_method="pm_card_visa",
    )
    await add_token(database, brand, "RFID0001", account_id=account)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await charge(cp, Meter(), "RFID0001", "2026-11-24T08:00:00Z", "2026-11-24T08:45:00Z", 7_250)
    session = await only_session(database, brand)
    fake.decline_next = 1
    declined = await pre_authorize(database, brand, session.id, stripe, "pm_card_visa")
    await rate_all(database, brand)

    async with database.tenant_transaction(brand.key) as db_session:
        opened = await open_dunning(db_session, brand, now=NOW)
    async with database.tenant_session(brand.key) as db_session:
        followed = await db_session.get(Payment, declined.id)
        mails = list(await db_session.scalars(select(Notification)))

    assert declined.status is PaymentStatus.FAILED
    assert opened == []
    assert followed is not None
    assert followed.dunning_state is DunningState.RECOVERED
    assert mails == []
    assert await balance(database, brand, account) == [604, 1000, -396]
