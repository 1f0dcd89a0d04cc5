"""The Stripe and Adyen adapters, with the real SDKs against local fake PSPs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.factories import brand_spec
from tests.fakes.psp import FakeAdyen, FakeStripe, serve
from tests.fakes.webhooks import (
    ADYEN_HMAC_KEY,
    STRIPE_WEBHOOK_SECRET,
    adyen_item,
    adyen_webhook,
    stripe_webhook,
)
from voltlane.billing.providers import (
    Authorization,
    PaymentsNotConfiguredError,
    ProviderDeclinedError,
    ProviderUnavailableError,
    WebhookEvent,
    WebhookSignatureError,
    provider_for,
)
from voltlane.billing.providers.adyen import AdyenProvider
from voltlane.billing.providers.stripe import StripeProvider
from voltlane.models.platform import TenantStatus
from voltlane.tenancy import TenantInfo


@pytest.fixture
def fake_stripe() -> Iterator[tuple[FakeStripe, str]]:
    fake = FakeStripe()
    with serve(fake) as url:
        yield fake, url


@pytest.fixture
def fake_adyen() -> Iterator[tuple[FakeAdyen, str]]:
    fake = FakeAdyen()
    with serve(fake) as url:
        yield fake, url


def stripe_at(url: str, timeout: float = 5.0) -> StripeProvider:
    return StripeProvider(
        api_key="sk_test_123", webhook_secret=STRIPE_WEBHOOK_SECRET, api_base=url, timeout=timeout
    )


def adyen_at(url: str, timeout: float = 5.0) -> AdyenProvider:
    return AdyenProvider(
        api_key="adyen-test-key",
        merchant_account="VoltlaneECOM",
        hmac_key=ADYEN_HMAC_KEY,
        checkout_url=f"{url}/v72",
        timeout=timeout,
    )


async def test_stripe_authorizes_then_captures_the_real_amount(fake_stripe) -> None:
    fake, url = fake_stripe
    stripe = stripe_at(url)
    auth = await stripe.pre_authorize(
        amount=5000,
        currency="EUR",
        customer="cus_1",
        payment_method="pm_card_visa",
        reference="p1",
        idempotency_key="k-auth",
    )
    assert auth == Authorization(auth.psp_reference, "authorized", 5000)
    assert fake.intents[auth.psp_reference]["capture_method"] == "manual"
    assert fake.intents[auth.psp_reference]["currency"] == "eur"
    done = await stripe.capture(
        auth.psp_reference, amount=1234, currency="EUR", idempotency_key="k-cap"
    )
    assert done.amount == 1234
    assert fake.captured_amounts == {auth.psp_reference: 1234}
    assert fake.requests_per_key == {"k-auth": 1, "k-cap": 1}


async def test_stripe_declined_card_and_three_d_secure(fake_stripe) -> None:
    _fake, url = fake_stripe
    stripe = stripe_at(url)
    declined = await stripe.pre_authorize(
        amount=5000,
        currency="EUR",
        customer=None,
        payment_method="pm_card_chargeDeclined",
        reference="p1",
        idempotency_key="k1",
    )
    assert declined.status == "declined"
    assert declined.decline_reason == "card_declined"
    assert declined.psp_reference.startswith("pi_")
    action = await stripe.pre_authorize(
        amount=5000,
        currency="EUR",
        customer=None,
        payment_method="pm_card_threeDSecure2Required",
        reference="p2",
        idempotency_key="k2",
    )
    assert action.status == "requires_action"
    assert action.action is not None
    assert action.action["type"] == "use_stripe_sdk"


async def test_stripe_errors_are_sorted_by_what_a_retry_can_do(fake_stripe) -> None:
    _fake, url = fake_stripe
    with pytest.raises(ProviderDeclinedError):
        await stripe_at(url).capture("pi_unknown", amount=1, currency="EUR", idempotency_key="x")
    with pytest.raises(ProviderUnavailableError):
        await stripe_at("http://127.0.0.1:9").capture(
            "pi_1", amount=1, currency="EUR", idempotency_key="y"
        )


async def test_stripe_customer(fake_stripe) -> None:
    _fake, url = fake_stripe
    customer = await stripe_at(url).create_customer(
        email="d@example.com", reference="driver-1", idempotency_key="c1"
    )
    assert customer.reference.startswith("cus_")


async def test_adyen_authorizes_captures_cancels_and_refunds(fake_adyen) -> None:
    fake, url = fake_adyen
    adyen = adyen_at(url)
    auth = await adyen.pre_authorize(
        amount=5000,
        currency="EUR",
        customer="driver-1",
        payment_method="card_ok",
        reference="p1",
        idempotency_key="a1",
    )
    assert auth == Authorization(auth.psp_reference, "authorized", 5000)
    done = await adyen.capture(
        auth.psp_reference, amount=1234, currency="EUR", idempotency_key="c1"
    )
    # A modification has a reference of its own.
    assert len(done.reference) == 16
    assert done.reference != auth.psp_reference
    await adyen.refund(auth.psp_reference, amount=200, currency="EUR", idempotency_key="r1")
    other = await adyen.pre_authorize(
        amount=5000,
        currency="EUR",
        customer=None,
        payment_method="card_ok",
        reference="p2",
        idempotency_key="a2",
    )
    await adyen.cancel(other.psp_reference, idempotency_key="x1")
    assert fake.captured_amounts == {auth.psp_reference: 1234}
    assert fake.refunds == {auth.psp_reference: 1}
    assert fake.cancels == {other.psp_reference: 1}
    assert (
        await adyen.create_customer(email=None, reference="d1", idempotency_key="z")
    ).reference == "d1"


async def test_adyen_refused_and_challenge(fake_adyen) -> None:
    _fake, url = fake_adyen
    adyen = adyen_at(url)
    refused = await adyen.pre_authorize(
        amount=5000,
        currency="EUR",
        customer=None,
        payment_method="card_refused",
        reference="p1",
        idempotency_key="a1",
    )
    assert (refused.status, refused.decline_reason) == ("declined", "Refused")
    challenge = await adyen.pre_authorize(
        amount=5000,
        currency="EUR",
        customer=None,
        payment_method="card_3ds",
        reference="p2",
        idempotency_key="a2",
    )
    assert challenge.status == "requires_action"
    assert challenge.action == {"type": "threeDS2", "paymentMethodType": "scheme", "token": "tok"}


async def test_adyen_outage_and_bad_credentials(fake_adyen) -> None:
    _fake, url = fake_adyen
    with pytest.raises(ProviderUnavailableError):
        await adyen_at("http://127.0.0.1:9").capture(
            "PSP1", amount=1, currency="EUR", idempotency_key="k"
        )
    wrong = AdyenProvider(
        api_key="wrong", merchant_account="M", hmac_key=ADYEN_HMAC_KEY, checkout_url=f"{url}/v72"
    )
    with pytest.raises(ProviderDeclinedError):
        await wrong.capture("PSP1", amount=1, currency="EUR", idempotency_key="k")


def test_stripe_webhook_is_verified_on_the_raw_body() -> None:
    stripe = stripe_at("http://127.0.0.1:9")
    body, headers = stripe_webhook(
        "evt_1", "payment_intent.succeeded", {"id": "pi_9", "amount_received": 1234}
    )
    [event] = stripe.parse_webhook(body, headers)
    assert event == WebhookEvent("evt_1", "payment_intent.succeeded", "pi_9", "captured", 1234)
    tampered = body.replace(b"1234", b"9999")
    with pytest.raises(WebhookSignatureError):
        stripe.parse_webhook(tampered, headers)
    with pytest.raises(WebhookSignatureError):
        stripe.parse_webhook(body, {})
    _, wrong = stripe_webhook("evt_1", "payment_intent.succeeded", {}, secret="whsec_other")
    with pytest.raises(WebhookSignatureError):
        stripe.parse_webhook(body, wrong)


def test_adyen_webhook_items_are_verified_by_hmac() -> None:
    adyen = adyen_at("http://127.0.0.1:9")
    body, headers = adyen_webhook(
        adyen_item("AUTHORISATION", "PSP1", value=5000),
        adyen_item("CAPTURE", "MOD1", original="PSP1", value=1234),
    )
    events = adyen.parse_webhook(body, headers)
    assert [(e.event_id, e.psp_reference, e.status, e.amount) for e in events] == [
        ("AUTHORISATION:PSP1:true", "PSP1", "authorized", 5000),
        ("CAPTURE:MOD1:true", "PSP1", "captured", 1234),
    ]
    forged = json.loads(body)
    forged["notificationItems"][1]["NotificationRequestItem"]["amount"]["value"] = 1
    with pytest.raises(WebhookSignatureError):
        adyen.parse_webhook(json.dumps(forged).encode(), headers)
    unsigned, _ = adyen_webhook({"eventCode": "CAPTURE", "pspReference": "X"})
    with pytest.raises(WebhookSignatureError):
        adyen.parse_webhook(unsigned, headers)


def brand_info(provider: str | None) -> TenantInfo:
    spec = brand_spec()
    profile = {"payments": {"provider": provider}} if provider else {}
    return TenantInfo(
        id=uuid.uuid4(),
        key=spec.key,
        slug=spec.slug,
        name=spec.name,
        status=TenantStatus.ACTIVE,
        theme=spec.theme,
        locale=spec.locale,
        currency=spec.currency,
        timezone=spec.timezone,
        hosts=(),
        profile=profile,
    )


def test_registry_picks_the_brands_provider_with_credentials_from_the_environment() -> None:
    env = {
        "VOLTLANE_STRIPE_API_KEY": "sk_test_1",
        "VOLTLANE_STRIPE_WEBHOOK_SECRET": "whsec_1",
        "VOLTLANE_ADYEN_API_KEY": "k",
        "VOLTLANE_ADYEN_MERCHANT_ACCOUNT": "M",
        "VOLTLANE_ADYEN_HMAC_KEY": ADYEN_HMAC_KEY,
    }
    assert isinstance(provider_for(brand_info("stripe"), env), StripeProvider)
    assert isinstance(provider_for(brand_info("adyen"), env), AdyenProvider)
    with pytest.raises(PaymentsNotConfiguredError, match="has no payment provider"):
        provider_for(brand_info(None), env)
    with pytest.raises(PaymentsNotConfiguredError) as raised:
        provider_for(brand_info("adyen"), {"VOLTLANE_ADYEN_API_KEY": "secret-value"})
    assert raised.value.detail == "environment variable VOLTLANE_ADYEN_MERCHANT_ACCOUNT is not set"
    assert "secret-value" not in str(raised.value)
