"""Money in the driver's account, through the real app on a brand's host: saved cards
entered on the PSP's hosted page, wallet top-ups with the real Stripe SDK against the
sandbox PSP, and what another brand or driver cannot reach. Plans and loyalty points:
test_money_plans.py."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy import func, select

from tests.pwa.money_factories import (
    BALANCE_RE,
    CARD_ROW_RE,
    TOKEN_RE,
    add_card,
    add_driver,
    errors_of,
    fake_stripe,
    form_page,
    plus_plan,
    rows,
    sign_in_as,
    use_fake_stripe,
)
from tests.web.helpers import HTML
from voltlane.billing.settlement import wallet_of
from voltlane.core.db import Database
from voltlane.models.tenant import (
    Payment,
    PaymentStatus,
    StoredPaymentMethod,
    Subscription,
    WalletEntry,
)

__all__ = ["fake_stripe"]

CARDS = "/account/payment-methods"
PAGES = (
    "/account/payment-methods",
    "/account/subscription",
    "/account/wallet",
    "/account/loyalty",
)


async def test_every_money_page_sends_a_driver_who_is_not_signed_in_to_sign_in(
    make_brand, client_for
) -> None:
    brand = await make_brand()
    async with client_for(f"{brand.slug}.localhost") as client:
        answers = [await client.get(path, headers=HTML) for path in PAGES]
        top_up = await client.post("/account/wallet/top-ups", data={}, headers=HTML)

    assert [(a.status_code, a.headers["location"]) for a in answers] == [
        (303, f"/account/sign-in?next={path}") for path in PAGES
    ]
    # No CSRF cookie, no session: refused before anything is read.
    assert top_up.status_code == 403


async def test_the_default_card_switches_and_removing_it_hands_it_to_the_newest_card(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(payments="stripe")
    account, token = await add_driver(database, brand)
    visa = await add_card(database, brand, account)
    master = await add_card(
        database, brand, account, "pm_card_mastercard", "Mastercard •••• 4444", "01/2029"
    )
    path = "/account/payment-methods"
    async with client_for(f"{brand.slug}.localhost") as client:
        sign_in_as(client, token)
        first, csrf = await form_page(client, path)
        switched = await client.post(
            f"{path}/{master}/default", data={"_csrf_token": csrf}, headers=HTML
        )
        after_switch = (await client.get(switched.headers["location"], headers=HTML)).text
        removed = await client.post(
            f"{path}/{master}/remove", data={"_csrf_token": csrf}, headers=HTML
        )
        after_remove = (await client.get(removed.headers["location"], headers=HTML)).text
        gone = await client.post(f"{path}/{master}/default", data={"_csrf_token": csrf})

    assert CARD_ROW_RE.findall(first) == [str(visa), str(master)]
    assert first.count('data-testid="default-card"') == 1
    assert "Visa •••• 4242" in first
    assert "Expires 12/2030" in first
    assert (switched.status_code, switched.headers["location"]) == (303, f"{path}?notice=default")
    assert CARD_ROW_RE.findall(after_switch) == [str(master), str(visa)]
    assert "This card is now your default card." in after_switch
    assert removed.headers["location"] == f"{path}?notice=removed"
    assert CARD_ROW_RE.findall(after_remove) == [str(visa)]
    assert gone.status_code == 404
    [left] = await rows(database, brand, StoredPaymentMethod)
    assert (left.id, left.is_default, left.label) == (visa, True, "Visa •••• 4242")


async def test_a_top_up_typed_in_german_puts_exactly_that_on_the_wallet_once(
    database: Database, make_brand, client_for, fake_stripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = fake_stripe
    brand = await make_brand(payments="stripe", locale="de_DE")
    use_fake_stripe(brand, url, monkeypatch)
    account, token = await add_driver(database, brand)
    await add_card(database, brand, account)
    async with client_for(f"{brand.slug}.localhost") as client:
        sign_in_as(client, token)
        wallet, csrf = await form_page(client, "/account/wallet")
        form = {"custom": "25,00", "form_token": TOKEN_RE.findall(wallet)[0], "_csrf_token": csrf}
        topped = await client.post("/account/wallet/top-ups", data=form, headers=HTML)
        again = await client.post("/account/wallet/top-ups", data=form, headers=HTML)
        receipt = await client.get(topped.headers["location"], headers=HTML)
        after = (await client.get("/account/wallet", headers=HTML)).text
        # A double tap: the same form twice at the same moment.
        same = {**form, "custom": "", "preset": "1000", "form_token": TOKEN_RE.findall(after)[0]}
        tapped = await asyncio.gather(
            client.post("/account/wallet/top-ups", data=same, headers=HTML),
            client.post("/account/wallet/top-ups", data=same, headers=HTML),
        )

    [first, second] = await rows(database, brand, Payment, Payment.created_at)
    assert (topped.status_code, topped.headers["location"]) == (
        303,
        f"/account/wallet/top-ups/{first.id}",
    )
    assert again.headers["location"] == topped.headers["location"]
    assert BALANCE_RE.findall(wallet) == ["0,00\xa0€"]
    assert (first.status, first.amount_captured, first.payment_method_ref) == (
        PaymentStatus.CAPTURED,
        2500,
        "pm_card_visa",
    )
    assert fake.captured_amounts[first.psp_reference] == 2500
    assert receipt.status_code == 200
    assert 'data-status="captured"' in receipt.text
    assert BALANCE_RE.findall(receipt.text) == ["25,00\xa0€"]
    assert BALANCE_RE.findall(after) == ["25,00\xa0€"]
    assert [t.headers["location"] for t in tapped] == [f"/account/wallet/top-ups/{second.id}"] * 2
    assert (second.amount_captured, sorted(fake.captures.values())) == (1000, [1, 1])
    async with database.tenant_session(brand.key) as db_session:
        balance, entries = await wallet_of(db_session, account, "EUR", limit=10)
    assert (balance, sorted(e.amount for e in entries)) == (3500, [1000, 2500])


async def test_a_declined_top_up_adds_nothing_and_3d_secure_sends_the_driver_to_the_bank(
    database: Database, make_brand, client_for, fake_stripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = fake_stripe
    brand = await make_brand(payments="stripe")
    use_fake_stripe(brand, url, monkeypatch)
    account, token = await add_driver(database, brand)
    await add_card(database, brand, account, "pm_card_chargeDeclined", "Visa •••• 0002")
    challenge = await add_card(
        database, brand, account, "pm_card_threeDSecure2Required", "Visa •••• 3220"
    )
    host = f"{brand.slug}.localhost"
    async with client_for(host) as client, httpx.AsyncClient() as browser:
        sign_in_as(client, token)
        wallet, csrf = await form_page(client, "/account/wallet")
        form = {"preset": "2500", "form_token": TOKEN_RE.findall(wallet)[0], "_csrf_token": csrf}
        declined = await client.post("/account/wallet/top-ups", data=form, headers=HTML)
        declined_page = (await client.get(declined.headers["location"], headers=HTML)).text
        await client.post(f"{CARDS}/{challenge}/default", data={"_csrf_token": csrf})
        challenged = await client.post(
            "/account/wallet/top-ups", data={**form, "form_token": str(uuid.uuid4())}
        )
        bank_page = await browser.get(challenged.headers["location"])
        confirmed = await browser.post(challenged.headers["location"], data={"outcome": "complete"})
        back = confirmed.headers["location"].removeprefix(f"http://{host}")
        returned = (await client.get(back, headers=HTML)).text

    [failed, pending] = await rows(database, brand, Payment, Payment.created_at)
    assert "Your bank declined the top-up of €25.00. Nothing was charged." in declined_page
    assert failed.status is PaymentStatus.FAILED
    # The bank's page of the sandbox PSP, and back to the app once the driver confirmed.
    assert challenged.headers["location"].startswith(f"{url}/authenticate/{pending.psp_reference}")
    assert (bank_page.status_code, confirmed.status_code) == (200, 303)
    assert back == f"/account/wallet/top-ups/{pending.id}?returned=1"
    assert "Your bank&#39;s answer is on its way: the €25.00 reach your wallet" in returned
    # Authorized at the PSP; the capture follows its webhook (billing.capture_top_up).
    assert fake.intents[pending.psp_reference]["status"] == "requires_capture"
    assert pending.status is PaymentStatus.REQUIRES_ACTION
    assert (sum(fake.captures.values()), await rows(database, brand, WalletEntry)) == (0, [])


async def test_a_card_entered_on_the_psps_page_is_saved_once_and_becomes_the_default(
    database: Database, make_brand, client_for, fake_stripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = fake_stripe
    brand = await make_brand(payments="stripe")
    use_fake_stripe(brand, url, monkeypatch)
    account, token = await add_driver(database, brand)
    host = f"{brand.slug}.localhost"
    async with client_for(host) as client, httpx.AsyncClient() as browser:
        sign_in_as(client, token)
        page, csrf = await form_page(client, CARDS)
        form = {"form_token": TOKEN_RE.findall(page)[0], "_csrf_token": csrf}
        started = await client.post(f"{CARDS}/add", data=form)
        tapped_twice = await client.post(f"{CARDS}/add", data=form)
        hosted = started.headers["location"]
        too_early = await client.get(f"{CARDS}/return", headers=HTML)
        entered = await browser.post(
            hosted, data={"number": "4242 4242 4242 4242", "expiry": "12 / 30", "cvc": "123"}
        )
        back = await client.get(entered.headers["location"].removeprefix(f"http://{host}"))
        listed = (await client.get(back.headers["location"], headers=HTML)).text
        reopened = await client.get(f"{CARDS}/return", headers=HTML)

    [card] = await rows(database, brand, StoredPaymentMethod)
    assert hosted.startswith(f"{url}/pay/cs_test_")
    assert tapped_twice.headers["location"] == hosted
    assert too_early.status_code == 200
    assert "Your card has not been saved yet." in too_early.text
    assert (entered.status_code, entered.headers["location"]) == (
        303,
        f"http://{host}{CARDS}/return",
    )
    assert (back.status_code, back.headers["location"]) == (303, f"{CARDS}?notice=added")
    assert "Your card is saved." in listed
    assert CARD_ROW_RE.findall(listed) == [str(card.id)]
    assert (card.account_id, card.provider, card.label, card.is_default) == (
        account,
        "stripe",
        "Visa •••• 4242",
        True,
    )
    assert card.expires == "12/2030"
    assert card.payment_method_ref in fake.account.stripe.payment_methods
    assert (
        card.customer_ref
        == fake.account.stripe.payment_methods[card.payment_method_ref]["customer"]
    )
    # The entry is done: opening the return page again adds nothing.
    assert reopened.headers["location"] == f"{CARDS}?notice=lost"


async def test_a_declined_or_abandoned_card_entry_saves_no_card(
    database: Database, make_brand, client_for, fake_stripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = fake_stripe
    brand = await make_brand(payments="stripe")
    use_fake_stripe(brand, url, monkeypatch)
    _, token = await add_driver(database, brand)
    host = f"{brand.slug}.localhost"
    async with client_for(host) as client, httpx.AsyncClient() as browser:
        sign_in_as(client, token)
        page, csrf = await form_page(client, CARDS)
        started = await client.post(
            f"{CARDS}/add", data={"form_token": TOKEN_RE.findall(page)[0], "_csrf_token": csrf}
        )
        hosted = started.headers["location"]
        refused = await browser.post(
            hosted, data={"number": "4000 0000 0000 0002", "expiry": "12 / 30", "cvc": "123"}
        )
        # The PSP ends the entry (it expired, or the driver's bank refused the card).
        session = hosted.rsplit("/", 1)[1]
        await browser.post(
            f"{url}/v1/checkout/sessions/{session}/expire",
            headers={"Authorization": "Bearer sk_test_brand"},
        )
        declined = await client.get(f"{CARDS}/return")
        declined_page = (await client.get(declined.headers["location"], headers=HTML)).text
        again = await client.post(
            f"{CARDS}/add", data={"form_token": str(uuid.uuid4()), "_csrf_token": csrf}
        )
        cancelled = await client.get(f"{CARDS}/cancelled")
        cancelled_page = (await client.get(cancelled.headers["location"], headers=HTML)).text

    assert refused.status_code == 402
    assert declined.headers["location"] == f"{CARDS}?notice=declined"
    assert "The card could not be saved: your bank or the payment provider declined it." in (
        declined_page
    )
    assert again.headers["location"] != hosted
    assert cancelled.headers["location"] == f"{CARDS}?notice=cancelled"
    assert "You left the card page: no card was added." in cancelled_page
    assert await rows(database, brand, StoredPaymentMethod) == []


async def test_the_card_page_says_so_when_the_psp_cannot_be_reached(
    database: Database, make_brand, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    brand = await make_brand(payments="stripe")
    use_fake_stripe(brand, "http://127.0.0.1:9", monkeypatch)
    _, token = await add_driver(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        sign_in_as(client, token)
        page, csrf = await form_page(client, CARDS)
        unreachable = await client.post(
            f"{CARDS}/add",
            data={"form_token": TOKEN_RE.findall(page)[0], "_csrf_token": csrf},
            headers=HTML,
        )
        expired_form = await client.post(
            f"{CARDS}/add", data={"form_token": "", "_csrf_token": csrf}, headers=HTML
        )

    assert (unreachable.status_code, errors_of(unreachable.text)) == (
        503,
        {"add": "The payment provider cannot be reached. Try again in a moment."},
    )
    assert (expired_form.status_code, errors_of(expired_form.text)) == (
        422,
        {"add": "This form has expired: try again."},
    )
    assert "vl_card_entry" not in unreachable.headers.get("set-cookie", "")


async def test_every_top_up_form_error_stands_beside_its_field_and_writes_nothing(
    database: Database, make_brand, client_for, fake_stripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = fake_stripe
    brand = await make_brand(payments="stripe")
    use_fake_stripe(brand, url, monkeypatch)
    _, token = await add_driver(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        sign_in_as(client, token)
        wallet, csrf = await form_page(client, "/account/wallet")
        base = {"form_token": TOKEN_RE.findall(wallet)[0], "_csrf_token": csrf}
        sent = {
            name: await client.post("/account/wallet/top-ups", data=data, headers=HTML)
            for name, data in {
                "no card": {**base, "preset": "2500"},
                "letters": {**base, "custom": "abc"},
                "too little": {**base, "custom": "2.50"},
                "too much": {**base, "custom": "500.01"},
                "fractions": {**base, "custom": "25.001"},
                "nothing": base,
                "unknown preset": {**base, "preset": "999"},
                "no token": {"custom": "25.00", "_csrf_token": csrf},
            }.items()
        }

    assert {name: (r.status_code, errors_of(r.text)) for name, r in sent.items()} == {
        "no card": (409, {"card": "Add a card under Payment methods to top up your wallet."}),
        "letters": (422, {"custom": "Enter an amount such as 25.00."}),
        "too little": (422, {"custom": "Enter an amount from €5.00 to €500.00."}),
        "too much": (422, {"custom": "Enter an amount from €5.00 to €500.00."}),
        "fractions": (422, {"custom": "Enter at most two decimals."}),
        "nothing": (422, {"preset": "Choose an amount or type one."}),
        "unknown preset": (422, {"preset": "Choose one of the amounts."}),
        "no token": (422, {"form_token": "This form has expired: choose the amount again."}),
    }
    assert 'value="abc"' in sent["letters"].text
    assert await rows(database, brand, Payment) == []
    assert fake.requests_per_key == {}


async def test_another_brands_or_drivers_cards_plans_and_top_ups_are_not_found(
    database: Database, make_brand, client_for, fake_stripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = fake_stripe
    brand = await make_brand(payments="stripe")
    other = await make_brand(payments="stripe")
    use_fake_stripe(other, url, monkeypatch)
    account, token = await add_driver(database, brand)
    await add_card(database, brand, account)
    neighbour, _ = await add_driver(database, brand, "jonas@example.com")
    neighbours_card = await add_card(database, brand, neighbour, "pm_card_mastercard")
    elsewhere, elsewhere_token = await add_driver(database, other)
    elsewhere_card = await add_card(database, other, elsewhere)
    elsewhere_plan = await plus_plan(database, other)
    async with client_for(f"{other.slug}.localhost") as client:
        sign_in_as(client, elsewhere_token)
        wallet, csrf = await form_page(client, "/account/wallet")
        form = {"preset": "1000", "form_token": TOKEN_RE.findall(wallet)[0], "_csrf_token": csrf}
        elsewhere_top_up = (await client.post("/account/wallet/top-ups", data=form)).headers[
            "location"
        ]
    async with client_for(f"{brand.slug}.localhost") as client:
        sign_in_as(client, token)
        _, csrf = await form_page(client, "/account/payment-methods")
        answers = {
            "card elsewhere": await client.post(
                f"/account/payment-methods/{elsewhere_card}/default", data={"_csrf_token": csrf}
            ),
            "remove elsewhere": await client.post(
                f"/account/payment-methods/{elsewhere_card}/remove", data={"_csrf_token": csrf}
            ),
            "neighbour's card": await client.post(
                f"/account/payment-methods/{neighbours_card}/remove", data={"_csrf_token": csrf}
            ),
            "plan elsewhere": await client.post(
                "/account/subscription",
                data={"plan_id": str(elsewhere_plan), "_csrf_token": csrf},
            ),
            "top-up elsewhere": await client.get(elsewhere_top_up, headers=HTML),
        }

    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 404)
    assert len(await rows(database, brand, StoredPaymentMethod)) == 2
    assert await rows(database, brand, Subscription) == []
    async with database.tenant_session(other.key) as db_session:
        assert await db_session.scalar(select(func.count()).select_from(Payment)) == 1
