"""A card the driver removes is detached at the PSP that stores it (Stripe: the
PaymentMethod detached from its customer; Adyen: the shopper's stored token deleted), by a
job the removal writes into the outbox: the removal never waits on the PSP, and the job
retries while the PSP is down. The real SDKs run against the sandbox PSP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.billing.providers.test_providers import adyen_at, fake_adyen, fake_stripe, stripe_at
from tests.fakes.psp import ADYEN_API_KEY, ADYEN_MERCHANT, FakeAdyen, FakeStripe
from tests.fakes.webhooks import ADYEN_HMAC_KEY
from tests.pwa.money_factories import (
    add_card,
    add_driver,
    form_page,
    sign_in_as,
    use_fake_stripe,
)
from tests.web.helpers import HTML
from voltlane.billing import payment_tasks
from voltlane.billing.payment_methods import DETACH_PAYMENT_METHOD_TASK
from voltlane.billing.payment_tasks import RetryLaterError
from voltlane.billing.providers import ProviderDeclinedError, ProviderUnavailableError
from voltlane.billing.sandbox import TEST_CARDS, StoredCard
from voltlane.billing.sandbox.cards import EnteredCardData
from voltlane.billing.sandbox.stripe_objects import method_object
from voltlane.core.db import Database
from voltlane.identity.drivers import deletion
from voltlane.identity.drivers.schemas import DriverIdentity
from voltlane.models.tenant import DriverLogin, StoredPaymentMethod
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext, outbox
from voltlane.worker.models import OutboxMessage

__all__ = ["fake_adyen", "fake_stripe"]

VISA = EnteredCardData(TEST_CARDS["4242424242424242"], 12, 2030)
DOWN = "http://127.0.0.1:9"  # nothing listens there: the PSP cannot be reached
ADYEN_TOKEN = "8315000000000001"


def stripe_card(fake: FakeStripe, ident: str = "pm_lena", customer: str = "cus_lena") -> str:
    """A card a Checkout Session stored on ``customer`` at the fake Stripe."""
    fake.account.stripe.payment_methods[ident] = method_object(ident, VISA, customer=customer)
    fake.account.stripe.cards[ident] = VISA
    return ident


def adyen_card(fake: FakeAdyen, shopper: str = "driver-7") -> str:
    """A card a payment link stored for ``shopper`` at the fake Adyen."""
    fake.account.adyen.stored[ADYEN_TOKEN] = StoredCard(ADYEN_TOKEN, VISA, shopper)
    return ADYEN_TOKEN


async def test_stripe_detaches_the_card_from_its_customer_and_never_charges_it_again(
    fake_stripe: tuple[FakeStripe, str],
) -> None:
    fake, url = fake_stripe
    method = stripe_card(fake)
    stripe = stripe_at(url)
    await stripe.detach_payment_method(method, customer="cus_lena", idempotency_key="detach-1")
    # A retry with the same key (the first answer lost on the way) is the same detach.
    await stripe.detach_payment_method(method, customer="cus_lena", idempotency_key="detach-1")
    with pytest.raises(ProviderDeclinedError, match="not attached to a customer"):
        await stripe.detach_payment_method(method, customer="cus_lena", idempotency_key="again")
    with pytest.raises(ProviderDeclinedError, match="detached from a Customer"):
        await stripe.pre_authorize(
            amount=5000,
            currency="EUR",
            customer=None,
            payment_method=method,
            reference="after",
            idempotency_key="charge-after",
        )
    with pytest.raises(ProviderDeclinedError, match="No such PaymentMethod"):
        await stripe.detach_payment_method("pm_unknown", customer=None, idempotency_key="u")
    with pytest.raises(ProviderUnavailableError):
        await stripe_at(DOWN, timeout=1).detach_payment_method(
            method, customer="cus_lena", idempotency_key="down"
        )
    assert fake.account.stripe.payment_methods[method]["customer"] is None
    assert fake.detaches == {method: 1}
    assert fake.requests_per_key["detach-1"] == 2


async def test_adyen_deletes_the_shoppers_stored_token(
    fake_adyen: tuple[FakeAdyen, str],
) -> None:
    fake, url = fake_adyen
    token = adyen_card(fake)
    adyen = adyen_at(url)
    # Only the shopper it is stored for can have it deleted.
    with pytest.raises(ProviderDeclinedError, match="Contract not found"):
        await adyen.detach_payment_method(token, customer="driver-8", idempotency_key="other")
    assert token in fake.account.adyen.stored
    with pytest.raises(ProviderDeclinedError, match="for its shopper"):
        await adyen.detach_payment_method(token, customer=None, idempotency_key="nobody")
    with pytest.raises(ProviderUnavailableError):
        await adyen_at(DOWN, timeout=1).detach_payment_method(
            token, customer="driver-7", idempotency_key="down"
        )
    await adyen.detach_payment_method(token, customer="driver-7", idempotency_key="delete-1")
    with pytest.raises(ProviderDeclinedError, match="Contract not found"):
        await adyen.detach_payment_method(token, customer="driver-7", idempotency_key="again")
    assert token not in fake.account.adyen.stored
    assert fake.detaches == {token: 1}
    # The three test cards any shopper may use are untouched.
    assert sorted(fake.account.adyen.stored) == ["card_3ds", "card_ok", "card_refused"]


async def written_detaches(database: Database, brand: TenantInfo) -> list[dict[str, Any]]:
    async with database.platform_session() as db_session:
        found = await db_session.scalars(
            select(OutboxMessage).where(OutboxMessage.actor_name == DETACH_PAYMENT_METHOD_TASK)
        )
        return [
            row.message["kwargs"] for row in found if row.message["kwargs"]["tenant"] == brand.key
        ]


async def test_a_driver_removes_a_card_while_stripe_is_down_and_the_job_detaches_it_later(
    database: Database,
    settings: Settings,
    make_brand: Any,
    client_for: Any,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, url = fake_stripe
    # The job is read from the outbox here instead of being relayed to the broker.
    monkeypatch.setattr(outbox, "_relay", None)
    brand = await make_brand(payments="stripe")
    use_fake_stripe(brand, DOWN, monkeypatch)
    account_id, token = await add_driver(database, brand)
    kept = await add_card(database, brand, account_id)
    removed = await add_card(database, brand, account_id, stripe_card(fake), "Visa •••• 4242")
    async with client_for(f"{brand.slug}.localhost") as client:
        sign_in_as(client, token)
        _, csrf = await form_page(client, "/account/payment-methods")
        answer = await client.post(
            f"/account/payment-methods/{removed}/remove",
            data={"_csrf_token": csrf},
            headers=HTML,
        )
    async with database.tenant_session(brand.key) as db_session:
        left = list(await db_session.scalars(select(StoredPaymentMethod.id)))
    jobs = await written_detaches(database, brand)
    context = JobContext(database=database, settings=settings)
    with pytest.raises(RetryLaterError):
        await payment_tasks.detach_payment_method(context, **jobs[0])
    untouched = fake.account.stripe.payment_methods["pm_lena"]["customer"]
    use_fake_stripe(brand, url, monkeypatch)  # Stripe is back: the broker's retry succeeds
    await payment_tasks.detach_payment_method(context, **jobs[0])

    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/account/payment-methods?notice=removed",
    )
    assert left == [kept]
    assert jobs == [
        {
            "tenant": brand.key,
            "provider": "stripe",
            "payment_method": "pm_lena",
            "customer": "cus_lena",
        }
    ]
    assert untouched == "cus_lena"
    assert fake.account.stripe.payment_methods["pm_lena"]["customer"] is None
    assert fake.detaches == {"pm_lena": 1}


async def test_the_job_deletes_an_adyen_token_unless_the_card_was_saved_again(
    database: Database,
    settings: Settings,
    make_brand: Any,
    fake_adyen: tuple[FakeAdyen, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, url = fake_adyen
    brand = await make_brand(payments="adyen")
    prefix = f"VOLTLANE_{brand.key.upper()}_"
    for name, value in (
        ("ADYEN_API_KEY", ADYEN_API_KEY),
        ("ADYEN_MERCHANT_ACCOUNT", ADYEN_MERCHANT),
        ("ADYEN_HMAC_KEY", ADYEN_HMAC_KEY),
        ("ADYEN_CHECKOUT_URL", f"{url}/v72"),
    ):
        monkeypatch.setenv(prefix + name, value)
    token = adyen_card(fake)
    account_id, _ = await add_driver(database, brand)
    job = {"tenant": brand.key, "provider": "adyen", "payment_method": token}
    context = JobContext(database=database, settings=settings)
    # Removed, then entered again before the job ran: Adyen gave the same token back, and
    # the account uses it again, so it stays.
    async with database.tenant_transaction(brand.key) as db_session:
        db_session.add(
            StoredPaymentMethod(
                id=uuid.uuid4(),
                account_id=account_id,
                provider="adyen",
                customer_ref="driver-7",
                payment_method_ref=token,
                label="Visa •••• 4242",
                is_default=True,
            )
        )
    await payment_tasks.detach_payment_method(context, **job, customer="driver-7")
    kept = token in fake.account.adyen.stored
    async with database.tenant_transaction(brand.key) as db_session:
        for method in await db_session.scalars(select(StoredPaymentMethod)):
            await db_session.delete(method)
    await payment_tasks.detach_payment_method(context, **job, customer="driver-7")
    # A job repeated after its detach (a redelivery) finds nothing left and ends.
    await payment_tasks.detach_payment_method(context, **job, customer="driver-7")

    assert kept
    assert token not in fake.account.adyen.stored
    assert fake.detaches == {token: 1}


async def test_deleting_an_account_detaches_every_saved_card_at_its_psp(
    database: Database, make_brand: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The jobs are read from the outbox here instead of being relayed to the broker.
    monkeypatch.setattr(outbox, "_relay", None)
    brand = await make_brand(payments="stripe")
    other = await make_brand(payments="stripe")
    account_id, _ = await add_driver(database, brand)
    kept_id, _ = await add_driver(database, other)
    await add_card(database, brand, account_id, payment_method="pm_first")
    await add_card(database, brand, account_id, payment_method="pm_second", label="Visa •••• 1881")
    await add_card(database, other, kept_id, payment_method="pm_other_brand")
    async with database.tenant_transaction(brand.key) as db_session:
        login = await db_session.scalar(
            select(DriverLogin).where(DriverLogin.account_id == account_id)
        )
        assert login is not None
        identity = DriverIdentity(login.id, account_id, login.email, "Lena Fischer", verified=True)
        await deletion.delete_account(db_session, identity, password=None, reauthenticated=True)

    assert sorted(
        (job["payment_method"], job["provider"], job["customer"])
        for job in await written_detaches(database, brand)
    ) == [("pm_first", "stripe", "cus_lena"), ("pm_second", "stripe", "cus_lena")]
    assert await written_detaches(database, other) == []
    async with database.tenant_session(brand.key) as db_session:
        left = await db_session.scalar(
            select(func.count())
            .select_from(StoredPaymentMethod)
            .where(StoredPaymentMethod.account_id == account_id)
        )
    assert left == 0
