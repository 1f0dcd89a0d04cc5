"""Payments end to end: the service, PostgreSQL and the real SDKs against fake PSPs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

import voltlane.billing.payment_tasks  # noqa: F401 - registers billing.process_webhook
from tests.billing.providers.test_providers import adyen_at, stripe_at
from tests.factories import add_location, add_station
from tests.fakes.psp import FakeAdyen, FakeStripe, serve
from tests.fakes.webhooks import adyen_item, adyen_webhook, stripe_webhook
from voltlane.billing import payments
from voltlane.billing.providers import (
    PaymentProvider,
    ProviderUnavailableError,
    WebhookSignatureError,
)
from voltlane.core.db import Database
from voltlane.models.tenant import (
    Cdr,
    CdrKind,
    ChargingSession,
    Payment,
    PaymentOperation,
    PaymentStatus,
    SessionStatus,
    TariffVersion,
    WebhookEvent,
)
from voltlane.tenancy import TenantInfo
from voltlane.worker import outbox as outbox_module
from voltlane.worker.models import OutboxMessage

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


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


async def finished_session(database: Database, brand: TenantInfo) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        station = await add_station(db_session, location, f"ST-{uuid.uuid4().hex[:8]}")
        session = ChargingSession(
            charging_station_id=station.id,
            protocol="ocpp2.0.1",
            transaction_id="tx-1",
            status=SessionStatus.FINISHED,
            started_at=T0,
            stopped_at=T1,
            energy_wh=Decimal(10000),
        )
        db_session.add(session)
        await db_session.flush()
        return session.id


async def pre_authorize(
    database: Database,
    brand: TenantInfo,
    session_id: uuid.UUID,
    provider: PaymentProvider,
    payment_method: str,
    *,
    customer: str | None = None,
) -> Payment:
    """EUR 50.00 reserved on ``payment_method`` for the session."""
    return await payments.pre_authorize_session(
        database,
        brand.key,
        session_id,
        provider=provider,
        amount=5000,
        currency="EUR",
        payment_method=payment_method,
        customer=customer,
    )


async def add_cdr(
    database: Database, brand: TenantInfo, session_id: uuid.UUID, total: int
) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        session = await db_session.get(ChargingSession, session_id)
        assert session is not None
        tariff = TariffVersion(code="T1", segment="PUBLIC", currency="EUR", definition={})
        db_session.add(tariff)
        await db_session.flush()
        cdr = Cdr(
            id=uuid.uuid4(),
            kind=CdrKind.CDR,
            session_id=session_id,
            charging_station_id=session.charging_station_id,
            auth_method="AUTH_REQUEST",
            segment="PUBLIC",
            tariff_version_id=tariff.id,
            tariff_code="T1",
            currency="EUR",
            start_date_time=T0,
            end_date_time=T1,
            total_energy_kwh=Decimal(10),
            total_time_hours=Decimal(1),
            total_parking_time_hours=Decimal(0),
            total_excl_vat=1037,
            total_vat=197,
            total_incl_vat=total,
            priced={},
        )
        db_session.add(cdr)
        return cdr.id


async def operations(database: Database, brand: TenantInfo) -> list[tuple[str, str, int | None]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(
            select(PaymentOperation).order_by(PaymentOperation.created_at, PaymentOperation.id)
        )
        return [(r.kind.value, r.state.value, r.amount) for r in rows]


async def count(database: Database, brand: TenantInfo, model: type[object]) -> int:
    async with database.tenant_session(brand.key) as db_session:
        return int(await db_session.scalar(select(func.count()).select_from(model)) or 0)


async def payment_row(database: Database, brand: TenantInfo) -> Payment:
    async with database.tenant_session(brand.key) as db_session:
        [row] = (await db_session.scalars(select(Payment))).all()
        return row


async def test_stripe_pre_authorizes_then_captures_the_cdr_total(
    database: Database, make_brand, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand = await make_brand()
    session_id = await finished_session(database, brand)
    stripe = stripe_at(url)
    authorized = await pre_authorize(
        database, brand, session_id, stripe, "pm_card_visa", customer="cus_1"
    )
    assert authorized.status is PaymentStatus.AUTHORIZED
    assert authorized.psp_reference is not None
    assert fake.intents[authorized.psp_reference]["amount"] == 5000
    cdr_id = await add_cdr(database, brand, session_id, total=1234)
    captured = await payments.capture_cdr(database, brand.key, cdr_id, provider=stripe)
    assert captured is not None
    assert (captured.status, captured.amount_captured, captured.cdr_id) == (
        PaymentStatus.CAPTURED,
        1234,
        cdr_id,
    )
    assert captured.last_error is None
    assert fake.captured_amounts == {authorized.psp_reference: 1234}
    assert await operations(database, brand) == [
        ("authorize", "succeeded", 5000),
        ("capture", "succeeded", 1234),
    ]
    # Calling again (a redelivered job) changes nothing and calls nobody.
    again = await payments.capture_cdr(database, brand.key, cdr_id, provider=stripe)
    assert again is not None
    assert again.status is PaymentStatus.CAPTURED
    assert fake.captures == {authorized.psp_reference: 1}
    assert await count(database, brand, PaymentOperation) == 2


async def test_adyen_pre_authorizes_then_captures_the_cdr_total(
    database: Database, make_brand, fake_adyen
) -> None:
    fake, url = fake_adyen
    brand = await make_brand()
    session_id = await finished_session(database, brand)
    adyen = adyen_at(url)
    authorized = await pre_authorize(database, brand, session_id, adyen, "card_ok")
    assert authorized.status is PaymentStatus.AUTHORIZED
    cdr_id = await add_cdr(database, brand, session_id, total=1234)
    captured = await payments.capture_cdr(database, brand.key, cdr_id, provider=adyen)
    assert captured is not None
    assert (captured.status, captured.amount_captured) == (PaymentStatus.CAPTURED, 1234)
    assert captured.provider == "adyen"
    assert fake.captured_amounts == {authorized.psp_reference: 1234}


async def test_declined_card_fails_the_payment(database: Database, make_brand, fake_stripe) -> None:
    fake, url = fake_stripe
    brand = await make_brand()
    session_id = await finished_session(database, brand)
    payment = await pre_authorize(
        database, brand, session_id, stripe_at(url), "pm_card_chargeDeclined"
    )
    assert (payment.status, payment.last_error) == (PaymentStatus.FAILED, "card_declined")
    assert await operations(database, brand) == [("authorize", "failed", 5000)]
    assert fake.captures == {}


async def test_three_d_secure_requires_action(database: Database, make_brand, fake_adyen) -> None:
    _fake, url = fake_adyen
    brand = await make_brand()
    session_id = await finished_session(database, brand)
    payment = await pre_authorize(database, brand, session_id, adyen_at(url), "card_3ds")
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.action == {"type": "threeDS2", "paymentMethodType": "scheme", "token": "tok"}
    stored = await payment_row(database, brand)
    assert stored.action == payment.action


async def test_timeout_after_send_retries_with_the_same_key_and_captures_once(
    database: Database, make_brand, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand = await make_brand()
    session_id = await finished_session(database, brand)
    authorized = await pre_authorize(database, brand, session_id, stripe_at(url), "pm_card_visa")
    cdr_id = await add_cdr(database, brand, session_id, total=1234)
    # The fake captures, then answers after the client gave up.
    fake.slow["/capture$"] = 1.5
    first = await payments.capture_cdr(
        database, brand.key, cdr_id, provider=stripe_at(url, timeout=0.5)
    )
    assert first is not None
    assert first.status is PaymentStatus.OUTSTANDING
    assert await operations(database, brand) == [
        ("authorize", "succeeded", 5000),
        ("capture", "unknown", 1234),
    ]
    second = await payments.capture_cdr(database, brand.key, cdr_id, provider=stripe_at(url))
    assert second is not None
    assert (second.status, second.amount_captured) == (PaymentStatus.CAPTURED, 1234)
    psp = authorized.psp_reference
    assert psp is not None
    key = f"voltlane-capture-{second.id}-1"
    assert fake.requests_per_key[key] == 2
    assert fake.captures == {psp: 1}
    assert await operations(database, brand) == [
        ("authorize", "succeeded", 5000),
        ("capture", "succeeded", 1234),
    ]


async def test_psp_outage_leaves_the_payment_outstanding(
    database: Database, make_brand, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand = await make_brand()
    session_id = await finished_session(database, brand)
    authorized = await pre_authorize(database, brand, session_id, stripe_at(url), "pm_card_visa")
    cdr_id = await add_cdr(database, brand, session_id, total=1234)
    down = stripe_at("http://127.0.0.1:9")  # connection refused
    payment = await payments.capture_cdr(database, brand.key, cdr_id, provider=down)
    assert payment is not None
    assert (payment.status, payment.amount_captured, payment.attempts) == (
        PaymentStatus.OUTSTANDING,
        0,
        2,
    )
    assert payment.last_error is not None
    # What operators see: the PSP could not be reached, and for which call.
    assert payment.last_error.startswith("stripe: Unexpected error communicating with Stripe.")
    assert f"/v1/payment_intents/{authorized.psp_reference}/capture" in payment.last_error
    assert "Connection refused" in payment.last_error
    assert fake.captures == {}
    retried = await payments.capture_cdr(database, brand.key, cdr_id, provider=stripe_at(url))
    assert retried is not None
    assert (retried.status, retried.amount_captured, retried.last_error) == (
        PaymentStatus.CAPTURED,
        1234,
        None,
    )


async def test_refunds_part_then_the_rest(database: Database, make_brand, fake_adyen) -> None:
    fake, url = fake_adyen
    brand = await make_brand()
    session_id = await finished_session(database, brand)
    adyen = adyen_at(url)
    await pre_authorize(database, brand, session_id, adyen, "card_ok")
    cdr_id = await add_cdr(database, brand, session_id, total=1234)
    captured = await payments.capture_cdr(database, brand.key, cdr_id, provider=adyen)
    assert captured is not None
    down = adyen_at("http://127.0.0.1:9")
    with pytest.raises(ProviderUnavailableError):
        await payments.refund_payment(database, brand.key, captured.id, amount=234, provider=down)
    part = await payments.refund_payment(
        database, brand.key, captured.id, amount=234, provider=adyen
    )
    assert (part.status, part.amount_refunded) == (PaymentStatus.CAPTURED, 234)
    rest = await payments.refund_payment(
        database, brand.key, captured.id, amount=1000, provider=adyen
    )
    assert (rest.status, rest.amount_refunded) == (PaymentStatus.REFUNDED, 1234)
    psp = captured.psp_reference
    assert fake.refunds == {psp: 2}
    # The refund whose outcome was unknown was repeated with its key, not duplicated.
    assert [op for op in await operations(database, brand) if op[0] == "refund"] == [
        ("refund", "succeeded", 234),
        ("refund", "succeeded", 1000),
    ]


async def test_duplicate_webhook_is_ignored(database: Database, make_brand, fake_stripe) -> None:
    _fake, url = fake_stripe
    brand = await make_brand()
    session_id = await finished_session(database, brand)
    stripe = stripe_at(url)
    payment = await pre_authorize(database, brand, session_id, stripe, "pm_card_visa")
    body, headers = stripe_webhook(
        "evt_1", "payment_intent.succeeded", {"id": payment.psp_reference, "amount_received": 900}
    )
    async with database.tenant_transaction(brand.key) as db_session:
        first = await payments.record_webhook(db_session, stripe, body, headers)
    async with database.tenant_transaction(brand.key) as db_session:
        second = await payments.record_webhook(db_session, stripe, body, headers)
    assert len(first) == 1
    assert second == []
    assert await count(database, brand, WebhookEvent) == 1
    stored = await payment_row(database, brand)
    assert (stored.status, stored.amount_captured) == (PaymentStatus.CAPTURED, 900)


async def test_out_of_order_webhooks_never_move_the_status_back(
    database: Database, make_brand, fake_adyen
) -> None:
    _fake, url = fake_adyen
    brand = await make_brand()
    session_id = await finished_session(database, brand)
    adyen = adyen_at(url)
    payment = await pre_authorize(database, brand, session_id, adyen, "card_ok")
    psp = payment.psp_reference
    assert psp is not None
    captured = adyen_webhook(adyen_item("CAPTURE", "MOD9", original=psp, value=1234))
    authorised = adyen_webhook(adyen_item("AUTHORISATION", psp, value=5000))
    for body, headers in (captured, authorised):
        async with database.tenant_transaction(brand.key) as db_session:
            await payments.record_webhook(db_session, adyen, body, headers)
    stored = await payment_row(database, brand)
    assert (stored.status, stored.amount_captured) == (PaymentStatus.CAPTURED, 1234)
    async with database.tenant_session(brand.key) as db_session:
        rows = (await db_session.scalars(select(WebhookEvent).order_by(WebhookEvent.id))).all()
    assert [(r.event_id, r.status, r.processed_at is not None) for r in rows] == [
        ("CAPTURE:MOD9:true", "captured", True),
        (f"AUTHORISATION:{psp}:true", "authorized", True),
    ]


async def test_webhook_before_its_payment_is_known_waits_for_the_job(
    database: Database, make_brand, fake_stripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No relay in this process (another test's app may have installed one): the job stays
    # in the outbox where the test can see it.
    monkeypatch.setattr(outbox_module, "_relay", None)
    _fake, url = fake_stripe
    brand = await make_brand()
    stripe = stripe_at(url)
    body, headers = stripe_webhook(
        "evt_early", "payment_intent.amount_capturable_updated", {"id": "pi_later", "amount": 1}
    )
    async with database.tenant_transaction(brand.key) as db_session:
        [event_id] = await payments.record_webhook(db_session, stripe, body, headers)
    async with database.platform_session() as db_session:
        queued = await db_session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.message["kwargs"]["event_id"].astext == str(event_id))
        )
    assert queued == 1
    async with database.tenant_transaction(brand.key) as db_session:
        assert await payments.process_webhook_event(db_session, event_id) is False


async def test_bad_webhook_signature_is_rejected_and_nothing_stored(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    stripe = stripe_at("http://127.0.0.1:9")
    body, headers = stripe_webhook("evt_1", "payment_intent.succeeded", {"id": "pi_1"})
    with pytest.raises(WebhookSignatureError):
        async with database.tenant_transaction(brand.key) as db_session:
            await payments.record_webhook(db_session, stripe, body + b" ", headers)
    forged = adyen_webhook(adyen_item("CAPTURE", "MOD1", original="PSP1", key="00" * 32))
    with pytest.raises(WebhookSignatureError):
        async with database.tenant_transaction(brand.key) as db_session:
            await payments.record_webhook(db_session, adyen_at("http://127.0.0.1:9"), *forged)
    assert await count(database, brand, WebhookEvent) == 0
