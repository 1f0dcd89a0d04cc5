"""The sandbox PSP of the demo, driven by the real SDKs as the platform configures them for
a brand without credentials: the driver enters a card on the sandbox's hosted page, the
hold is taken on it, 3-D Secure is answered on the sandbox's page, and the sandbox's signed
webhooks reach the brand's webhook endpoint."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select

from tests.billing.test_charge_payments import HOLD, charge_request, hold
from voltlane.billing.providers import (
    CardEntry,
    EnteredCard,
    PaymentProvider,
    ProviderDeclinedError,
    provider_for,
)
from voltlane.billing.sandbox import Sandbox, sandbox_brands, serve, start_demo_sandbox
from voltlane.billing.sandbox.demo import sandbox_account
from voltlane.core.db import Database
from voltlane.models.platform import TenantStatus
from voltlane.models.tenant import Payment, PaymentStatus, WebhookEvent
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo

RETURN = "http://{host}/charge/return"


@dataclass
class Received:
    host: str
    headers: dict[str, str]
    body: bytes


class WebhookReceiver:
    """Stands where the brand's web app is: records what the sandbox posts."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = dict(self.headers.items())
                receiver.received.append(Received(headers["Host"], headers, body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/webhooks/payments"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    async def wait_for(self, kind: str, count: int = 1) -> list[Received]:
        for _ in range(100):
            found = [r for r in self.received if kind in r.body.decode()]
            if len(found) >= count:
                return found
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind} webhook arrived: {self.received}")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    instance = WebhookReceiver()
    yield instance
    instance.server.shutdown()
    instance.server.server_close()


@pytest.fixture
def sandbox() -> Iterator[tuple[Sandbox, str]]:
    instance = Sandbox()
    with serve(instance) as url:
        yield instance, url


async def brand_in_sandbox(
    make_brand: Any,
    monkeypatch: pytest.MonkeyPatch,
    sandbox: tuple[Sandbox, str],
    receiver: WebhookReceiver,
    provider: str,
) -> tuple[TenantInfo, PaymentProvider]:
    """A brand set up as `voltlane run` sets up one without credentials: an account at the
    sandbox, the brand's variables pointing its provider there."""
    instance, url = sandbox
    brand = await make_brand(payments=provider, locale="de_DE")
    account, variables = sandbox_account(brand, provider)
    account.webhook_url = receiver.url
    account.webhook_host = f"{brand.slug}.localhost"
    instance.add_account(account)
    prefix = f"VOLTLANE_{brand.key.upper()}_"
    base = "STRIPE_API_BASE" if provider == "stripe" else "ADYEN_CHECKOUT_URL"
    variables[prefix + base] = url if provider == "stripe" else f"{url}/v72"
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return brand, provider_for(brand)


async def start_entry(provider: PaymentProvider, brand: TenantInfo) -> CardEntry:
    return await provider.start_card_entry(
        reference=f"entry-{brand.key}",
        customer=None,
        email="lena@example.com",
        return_url=RETURN.format(host=f"{brand.slug}.localhost"),
        cancel_url=f"http://{brand.slug}.localhost/charge",
        locale="de_DE",
        idempotency_key=f"entry-{brand.key}",
    )


def card(number: str, expiry: str = "12 / 30", cvc: str = "123") -> dict[str, str]:
    return {"number": number, "expiry": expiry, "cvc": cvc}


async def forward(app: Litestar, received: Received) -> httpx.Response:
    """What the brand's web app does with the webhook (the receiver stood in its place)."""
    async with (
        app.lifespan(),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=f"http://{received.host}"
        ) as client,
    ):
        return await client.post(
            "/api/webhooks/payments", content=received.body, headers=received.headers
        )


async def stored_payment(database: Database, brand: TenantInfo) -> Payment:
    async with database.tenant_session(brand.key) as db_session:
        [payment] = (await db_session.scalars(select(Payment))).all()
        return payment


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.mark.parametrize("provider_name", ["stripe", "adyen"])
async def test_a_driver_enters_a_card_and_the_hold_is_authorized(
    database: Database,
    make_brand,
    monkeypatch: pytest.MonkeyPatch,
    sandbox,
    receiver: WebhookReceiver,
    browser: httpx.AsyncClient,
    app: Litestar,
    provider_name: str,
) -> None:
    brand, provider = await brand_in_sandbox(
        make_brand, monkeypatch, sandbox, receiver, provider_name
    )
    entry = await start_entry(provider, brand)
    page = await browser.get(entry.redirect_url)
    assert page.status_code == 200
    assert '<html lang="de">' in page.text
    assert "Sandbox payment page — no real money" in page.text
    assert '<label for="field-number">Card number</label>' in page.text
    assert await provider.finish_card_entry(entry.reference) is None

    saved = await browser.post(entry.redirect_url, data=card("4242 4242 4242 4242"))
    assert saved.status_code == 303
    assert saved.headers["location"] == RETURN.format(host=f"{brand.slug}.localhost")
    entered = await provider.finish_card_entry(entry.reference)
    assert entered is not None
    assert entered == EnteredCard(
        entered.payment_method, entered.customer, "Visa •••• 4242", "12/2030"
    )
    assert entered.customer is not None
    request_id = await charge_request(database, brand)
    payment = await hold(
        database, brand, request_id, provider, entered.payment_method, customer=entered.customer
    )
    assert (payment.status, payment.amount_authorized, payment.provider) == (
        PaymentStatus.AUTHORIZED,
        HOLD,
        provider_name,
    )
    # The PSP tells the brand's endpoint too, signed with the brand's sandbox secret.
    kind = "amount_capturable_updated" if provider_name == "stripe" else "AUTHORISATION"
    [webhook] = await receiver.wait_for(kind)
    assert webhook.host == f"{brand.slug}.localhost"
    answer = await forward(app, webhook)
    assert answer.status_code == 200
    async with database.tenant_session(brand.key) as db_session:
        [event] = (await db_session.scalars(select(WebhookEvent))).all()
    assert (event.psp_reference, event.status, event.processed_at is not None) == (
        payment.psp_reference,
        "authorized",
        True,
    )


async def test_a_declined_card_is_refused_on_the_page_and_another_fails_when_charged(
    database: Database,
    make_brand,
    monkeypatch: pytest.MonkeyPatch,
    sandbox,
    receiver: WebhookReceiver,
    browser: httpx.AsyncClient,
) -> None:
    brand, provider = await brand_in_sandbox(make_brand, monkeypatch, sandbox, receiver, "stripe")
    entry = await start_entry(provider, brand)
    declined = await browser.post(entry.redirect_url, data=card("4000 0000 0000 0002"))
    assert declined.status_code == 402
    assert 'aria-describedby="error-number"' in declined.text
    assert '<p class="error" id="error-number">Your card was declined.</p>' in declined.text
    assert 'value="4000 0000 0000 0002"' in declined.text
    assert await provider.finish_card_entry(entry.reference) is None
    invalid = await browser.post(entry.redirect_url, data=card("4242 4242 4242 4241", "13/30", ""))
    assert invalid.status_code == 400
    errors = dict(re.findall(r'<p class="error" id="error-(\w+)">([^<]+)</p>', invalid.text))
    assert errors == {
        "number": "Your card number is invalid.",
        "expiry": "Your card&#x27;s expiry date is invalid.",
        "cvc": "Your card&#x27;s security code is incomplete.",
    }
    past = await browser.post(entry.redirect_url, data=card("4242424242424242", "01/20"))
    assert "Your card&#x27;s expiry date is in the past." in past.text

    # This card is saved, then declined when charged.
    saved = await browser.post(entry.redirect_url, data=card("4000 0000 0000 0341"))
    assert saved.status_code == 303
    entered = await provider.finish_card_entry(entry.reference)
    assert entered is not None
    request_id = await charge_request(database, brand)
    payment = await hold(
        database, brand, request_id, provider, entered.payment_method, customer=entered.customer
    )
    assert (payment.status, payment.last_error) == (PaymentStatus.FAILED, "card_declined")


def challenge_url(action: dict[str, Any] | None) -> str:
    """The bank's page the app sends the driver to (Stripe: use_stripe_sdk.stripe_js,
    Adyen: the redirect's url)."""
    assert action is not None
    if "use_stripe_sdk" in action:
        return str(action["use_stripe_sdk"]["stripe_js"])
    assert action["type"] == "redirect"
    return str(action["url"])


@pytest.mark.parametrize("provider_name", ["stripe", "adyen"])
async def test_three_d_secure_on_entry_and_on_the_hold(
    database: Database,
    make_brand,
    monkeypatch: pytest.MonkeyPatch,
    sandbox,
    receiver: WebhookReceiver,
    browser: httpx.AsyncClient,
    app: Litestar,
    provider_name: str,
) -> None:
    brand, provider = await brand_in_sandbox(
        make_brand, monkeypatch, sandbox, receiver, provider_name
    )
    entry = await start_entry(provider, brand)
    three_ds = card("4000 0000 0000 3220")
    asked = await browser.post(entry.redirect_url, data=three_ds)
    assert (asked.status_code, asked.headers["location"]) == (
        303,
        f"/pay/{entry.reference}/challenge",
    )
    bank = f"{entry.redirect_url}/challenge"
    page = await browser.get(bank)
    assert '<button type="submit" name="outcome" value="complete">Complete</button>' in page.text
    failed = await browser.post(bank, data={"outcome": "fail"})
    assert failed.status_code == 402
    assert "Your bank could not confirm the card." in failed.text
    assert await provider.finish_card_entry(entry.reference) is None
    await browser.post(entry.redirect_url, data=three_ds)
    done = await browser.post(bank, data={"outcome": "complete"})
    assert done.headers["location"] == RETURN.format(host=f"{brand.slug}.localhost")
    entered = await provider.finish_card_entry(entry.reference)
    assert entered is not None
    assert entered.label == "Visa •••• 3220"

    request_id = await charge_request(database, brand)
    payment = await hold(
        database, brand, request_id, provider, entered.payment_method, customer=entered.customer
    )
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    url = challenge_url(payment.action)
    back = f"http://{brand.slug}.localhost/charge/{request_id}"
    page = await browser.get(url, params={"return_url": back})
    assert page.status_code == 200
    assert "Amount: 30,00\xa0€" in page.text  # the hold, in the brand's number format
    confirmed = await browser.post(url, params={"return_url": back}, data={"outcome": "complete"})
    assert (confirmed.status_code, confirmed.headers["location"]) == (303, back)
    # Answered once: the page says so, nothing changes.
    again = await browser.post(url, data={"outcome": "fail"})
    assert again.status_code == 409
    # The hold becomes authorized when the PSP's webhook arrives.
    kind = "amount_capturable_updated" if provider_name == "stripe" else "AUTHORISATION"
    [webhook] = await receiver.wait_for(kind)
    assert (await forward(app, webhook)).status_code == 200
    stored = await stored_payment(database, brand)
    assert (stored.id, stored.status) == (payment.id, PaymentStatus.AUTHORIZED)


@pytest.mark.parametrize("provider_name", ["stripe", "adyen"])
async def test_a_brands_sandbox_keys_reach_only_its_own_objects(
    make_brand,
    monkeypatch: pytest.MonkeyPatch,
    sandbox,
    receiver: WebhookReceiver,
    provider_name: str,
) -> None:
    _brand_a, provider_a = await brand_in_sandbox(
        make_brand, monkeypatch, sandbox, receiver, provider_name
    )
    brand_b, provider_b = await brand_in_sandbox(
        make_brand, monkeypatch, sandbox, receiver, provider_name
    )
    entry_b = await start_entry(provider_b, brand_b)
    with pytest.raises(ProviderDeclinedError):
        await provider_a.finish_card_entry(entry_b.reference)
    assert await provider_b.finish_card_entry(entry_b.reference) is None


def test_the_demo_stands_in_only_for_brands_without_credentials(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    def brand(key: str, provider: str | None) -> TenantInfo:
        profile = {"payments": {"provider": provider}} if provider else {}
        return TenantInfo(
            id=uuid.uuid4(),
            key=key,
            slug=key,
            name=key.title(),
            status=TenantStatus.ACTIVE,
            theme="base",
            locale="de_DE",
            currency="EUR",
            timezone="Europe/Berlin",
            hosts=(),
            profile=profile,
        )

    brands = [
        brand("voltaria", "stripe"),
        brand("harbour", "adyen"),
        brand("ownkeys", "stripe"),  # has its own Stripe key
        brand("nopsp", None),
    ]
    environ = {"VOLTLANE_OWNKEYS_STRIPE_API_KEY": "sk_live_real", "PATH": "/usr/bin"}
    assert [(b.key, p) for b, p in sandbox_brands(brands, environ)] == [
        ("voltaria", "stripe"),
        ("harbour", "adyen"),
    ]
    assert start_demo_sandbox(replace(settings, demo=False), brands, environ=environ) is None
    # A platform-wide key counts for every brand using that provider.
    assert sandbox_brands(brands[:1], {"VOLTLANE_STRIPE_WEBHOOK_SECRET": "whsec_x"}) == []

    before = dict(environ)
    with caplog.at_level(logging.WARNING, logger="voltlane.billing.sandbox.demo"):
        running = start_demo_sandbox(replace(settings, demo=True), brands, environ=environ)
    assert running is not None
    try:
        added = {k: v for k, v in environ.items() if k not in before}
        assert sorted(added) == [
            "VOLTLANE_HARBOUR_ADYEN_API_KEY",
            "VOLTLANE_HARBOUR_ADYEN_CHECKOUT_URL",
            "VOLTLANE_HARBOUR_ADYEN_HMAC_KEY",
            "VOLTLANE_HARBOUR_ADYEN_MERCHANT_ACCOUNT",
            "VOLTLANE_VOLTARIA_STRIPE_API_BASE",
            "VOLTLANE_VOLTARIA_STRIPE_API_KEY",
            "VOLTLANE_VOLTARIA_STRIPE_WEBHOOK_SECRET",
        ]
        assert added["VOLTLANE_VOLTARIA_STRIPE_API_BASE"] == running.url
        assert added["VOLTLANE_HARBOUR_ADYEN_CHECKOUT_URL"] == f"{running.url}/v72"
        assert added["VOLTLANE_VOLTARIA_STRIPE_API_KEY"].startswith("sk_test_sandbox_")
        assert environ["VOLTLANE_OWNKEYS_STRIPE_API_KEY"] == "sk_live_real"
        sandboxed = [r for r in caplog.records if "sandbox mode" in r.getMessage()]
        assert [(r.tenant, r.provider) for r in sandboxed] == [  # type: ignore[attr-defined]
            ("voltaria", "stripe"),
            ("harbour", "adyen"),
        ]
        # The generated secrets are never logged.
        logged = caplog.text + json.dumps([vars(r) for r in caplog.records], default=str)
        assert not any(secret in logged for secret in added.values() if "http" not in secret)
        page = httpx.get(f"{running.url}/pay/cs_test_unknown")
        assert page.status_code == 404
    finally:
        running.stop()
    assert environ == before
