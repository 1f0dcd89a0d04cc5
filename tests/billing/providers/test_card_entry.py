"""Card entry on the PSP's hosted page, with the real SDKs against the sandbox PSP: the
driver's browser fills in the page, Voltlane only ever sees the PSP's references."""

from __future__ import annotations

import httpx
import pytest

from tests.billing.providers.test_providers import adyen_at, stripe_at
from tests.billing.test_payments import fake_adyen, fake_stripe
from tests.fakes.psp import ADYEN_API_KEY
from tests.fakes.webhooks import adyen_item, adyen_webhook
from voltlane.billing.providers import (
    Authorization,
    CardEntry,
    EnteredCard,
    PaymentProvider,
    ProviderDeclinedError,
    ProviderUnavailableError,
)
from voltlane.billing.sandbox import TEST_CARDS
from voltlane.billing.sandbox.cards import EnteredCardData

RETURN = "https://voltaria.example/app/cards/added?entry={CHECKOUT_SESSION_ID}"
CANCEL = "https://voltaria.example/app/cards"
VISA = {"number": "4242 4242 4242 4242", "expiry": "12 / 30", "cvc": "123"}


__all__ = ["fake_adyen", "fake_stripe"]


async def fill_in(entry: CardEntry, card: dict[str, str] = VISA) -> httpx.Response:
    """What the driver's browser does: open the hosted page, send the form."""
    async with httpx.AsyncClient() as browser:
        page = await browser.get(entry.redirect_url)
        assert page.status_code == 200
        assert 'autocomplete="cc-number"' in page.text
        return await browser.post(entry.redirect_url, data=card)


async def charge(
    provider: PaymentProvider, card: EnteredCard, shopper: str | None
) -> Authorization:
    """EUR 30.00 held on the stored card, later and without the driver (off-session)."""
    return await provider.pre_authorize(
        amount=3000,
        currency="EUR",
        customer=shopper,
        payment_method=card.payment_method,
        reference="charge-1",
        idempotency_key=f"auth-{shopper}",
    )


async def stripe_entry(url: str, *, customer: str | None = None) -> CardEntry:
    return await stripe_at(url).start_card_entry(
        reference="entry-1",
        customer=customer,
        email="lena@example.com",
        return_url=RETURN,
        cancel_url=CANCEL,
        locale="de_DE",
        idempotency_key="card-entry-1",
    )


async def adyen_entry(url: str, *, customer: str | None = "driver-7") -> CardEntry:
    return await adyen_at(url).start_card_entry(
        reference="entry-1",
        customer=customer,
        email="lena@example.com",
        return_url="https://voltaria.example/app/cards/added",
        cancel_url=CANCEL,
        locale="de_DE",
        idempotency_key="card-entry-1",
    )


# -- Stripe: Checkout Session in setup mode ----------------------------------------------


async def test_stripe_card_entry_completed_gives_the_stored_card(fake_stripe) -> None:
    fake, url = fake_stripe
    entry = await stripe_entry(url)
    assert entry.reference.startswith("cs_test_")
    assert entry.redirect_url == f"{url}/pay/{entry.reference}"
    session = fake.account.stripe.sessions[entry.reference]
    [customer] = fake.account.stripe.customers.values()
    assert (session["mode"], session["locale"], session["customer"]) == (
        "setup",
        "de",
        customer["id"],
    )
    assert (customer["email"], customer["metadata"]) == (
        "lena@example.com",
        {"reference": "entry-1"},
    )
    assert (session["success_url"], session["cancel_url"]) == (RETURN, CANCEL)
    # The same request again (a retry) is the same session: one customer, one session.
    assert await stripe_entry(url) == entry
    assert (len(fake.account.stripe.customers), len(fake.account.stripe.sessions)) == (1, 1)

    answer = await fill_in(entry)
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        f"https://voltaria.example/app/cards/added?entry={entry.reference}"
    )
    card = await stripe_at(url).finish_card_entry(entry.reference)
    assert card is not None
    assert card == EnteredCard(card.payment_method, customer["id"], "Visa •••• 4242", "12/2030")
    assert card.payment_method.startswith("pm_")
    # Charged later, off-session, on the customer it is stored under.
    auth = await charge(stripe_at(url), card, card.customer)
    assert (auth.status, auth.amount) == ("authorized", 3000)


async def test_stripe_card_entry_still_open_gives_nothing_yet(fake_stripe) -> None:
    fake, url = fake_stripe
    entry = await stripe_entry(url, customer="cus_known")
    assert await stripe_at(url).finish_card_entry(entry.reference) is None
    # A customer given is used as it is: none is created.
    assert fake.account.stripe.customers == {}
    assert fake.account.stripe.sessions[entry.reference]["customer"] == "cus_known"


async def test_stripe_card_entry_expired_is_declined(fake_stripe) -> None:
    fake, url = fake_stripe
    entry = await stripe_entry(url)
    async with httpx.AsyncClient() as client:
        expired = await client.post(
            f"{url}/v1/checkout/sessions/{entry.reference}/expire",
            headers={"Authorization": "Bearer sk_test_123"},
        )
    assert expired.json()["status"] == "expired"
    with pytest.raises(ProviderDeclinedError, match="stripe: the card entry is expired"):
        await stripe_at(url).finish_card_entry(entry.reference)
    answer = await fill_in_expired(entry)
    assert answer.status_code == 410
    assert fake.account.stripe.payment_methods == {}


async def fill_in_expired(entry: CardEntry) -> httpx.Response:
    async with httpx.AsyncClient() as browser:
        return await browser.post(entry.redirect_url, data=VISA)


async def test_stripe_card_entry_psp_down(fake_stripe) -> None:
    fake, url = fake_stripe
    # The PSP creates the session, then answers after the client gave up.
    fake.slow["/v1/checkout/sessions$"] = 1.5
    with pytest.raises(ProviderUnavailableError):
        await stripe_at(url, timeout=0.5).start_card_entry(
            reference="entry-1",
            customer="cus_known",
            email="lena@example.com",
            return_url=RETURN,
            cancel_url=CANCEL,
            locale="de_DE",
            idempotency_key="card-entry-1",
        )
    entry = await stripe_entry(url, customer="cus_known")
    # The retry with the same key got the session made by the first request.
    assert list(fake.account.stripe.sessions) == [entry.reference]
    assert fake.requests_per_key["card-entry-1"] == 2
    fake.slow[f"/v1/checkout/sessions/{entry.reference}$"] = 1.5
    with pytest.raises(ProviderUnavailableError):
        await stripe_at(url, timeout=0.5).finish_card_entry(entry.reference)
    with pytest.raises(ProviderUnavailableError):
        await stripe_at("http://127.0.0.1:9").finish_card_entry(entry.reference)


# -- Adyen: Pay by Link storing the card -----------------------------------------------


async def test_adyen_card_entry_completed_gives_the_new_stored_card(fake_adyen) -> None:
    fake, url = fake_adyen
    # The driver has a Mastercard stored already: the link must tell the new one from it.
    older = fake.adyen.store(
        fake.account, "driver-7", EnteredCardData(TEST_CARDS["5555555555554444"], 1, 2029)
    )
    entry = await adyen_entry(url)
    assert entry.reference.startswith("PL")
    assert entry.redirect_url == f"{url}/pay/{entry.reference}"
    link = fake.account.adyen.links[entry.reference]
    assert {k: link[k] for k in ("amount", "shopperReference", "shopperLocale")} == {
        "amount": {"value": 0, "currency": "EUR"},
        "shopperReference": "driver-7",
        "shopperLocale": "de-DE",
    }
    assert (link["storePaymentMethodMode"], link["recurringProcessingModel"]) == (
        "enabled",
        "UnscheduledCardOnFile",
    )
    assert link["metadata"] == {"knownCards0": older.id}

    answer = await fill_in(entry)
    assert answer.status_code == 303
    assert answer.headers["location"] == "https://voltaria.example/app/cards/added"
    card = await adyen_at(url).finish_card_entry(entry.reference)
    assert card is not None
    assert card == EnteredCard(card.payment_method, "driver-7", "Visa •••• 4242", "12/2030")
    assert card.payment_method != older.id
    assert len(card.payment_method) == 16
    auth = await charge(adyen_at(url), card, card.customer)
    assert (auth.status, auth.amount) == ("authorized", 3000)
    # The token is the shopper's: another shopper cannot pay with it.
    with pytest.raises(ProviderDeclinedError, match="Contract not found"):
        await charge(adyen_at(url), card, "driver-8")


async def test_adyen_card_entry_still_open_gives_nothing_yet(fake_adyen) -> None:
    fake, url = fake_adyen
    entry = await adyen_entry(url, customer=None)
    assert await adyen_at(url).finish_card_entry(entry.reference) is None
    # A guest without a shopper reference is stored under the entry's own reference.
    assert fake.account.adyen.links[entry.reference]["shopperReference"] == "entry-1"
    assert fake.account.adyen.links[entry.reference]["metadata"] == {}


async def test_adyen_card_entry_expired_is_declined(fake_adyen) -> None:
    fake, url = fake_adyen
    entry = await adyen_entry(url)
    async with httpx.AsyncClient() as client:
        expired = await client.patch(
            f"{url}/v72/paymentLinks/{entry.reference}",
            json={"status": "expired"},
            headers={"x-api-key": ADYEN_API_KEY},
        )
    assert expired.json()["status"] == "expired"
    with pytest.raises(ProviderDeclinedError, match="adyen: the card entry is expired"):
        await adyen_at(url).finish_card_entry(entry.reference)
    assert (await fill_in_expired(entry)).status_code == 410
    # Nothing was stored: only the account's three test cards exist.
    assert [s.shopper for s in fake.account.adyen.stored.values()] == [None, None, None]


async def test_adyen_card_entry_psp_down(fake_adyen) -> None:
    fake, url = fake_adyen
    fake.slow["/v72/paymentLinks$"] = 1.5
    with pytest.raises(ProviderUnavailableError):
        await adyen_at(url, timeout=0.5).start_card_entry(
            reference="entry-1",
            customer=None,
            email="lena@example.com",
            return_url="https://voltaria.example/app/cards/added",
            cancel_url=CANCEL,
            locale="de_DE",
            idempotency_key="card-entry-1",
        )
    entry = await adyen_entry(url, customer=None)
    # The retry with the same key got the link made by the first request.
    assert list(fake.account.adyen.links) == [entry.reference]
    assert fake.requests_per_key["card-entry-1"] == 2
    fake.slow[f"/v72/paymentLinks/{entry.reference}$"] = 1.5
    with pytest.raises(ProviderUnavailableError):
        await adyen_at(url, timeout=0.5).finish_card_entry(entry.reference)
    with pytest.raises(ProviderUnavailableError):
        await adyen_at("http://127.0.0.1:9").finish_card_entry(entry.reference)


def test_adyen_zero_value_authorisation_of_a_stored_card_is_no_payment_event() -> None:
    body, headers = adyen_webhook(adyen_item("AUTHORISATION", "PSP7", value=0))
    [event] = adyen_at("http://127.0.0.1:9").parse_webhook(body, headers)
    assert (event.type, event.psp_reference, event.status, event.amount) == (
        "AUTHORISATION",
        "PSP7",
        None,
        0,
    )
