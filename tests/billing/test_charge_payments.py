"""Holds for charges started from the driver app: pre-authorized before the charging
session exists, linked to the session, captured from its CDR, or released. PostgreSQL,
the real SDKs, the sandbox PSP, a real OCPP charger."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

import pytest
from ocpp.v16 import call as call16
from sqlalchemy import select

from tests.billing.providers.test_providers import adyen_at, stripe_at
from tests.billing.test_cdrs import ENERGY_039, SESSION_FEE, add_tariff, meter, ocpi_tariff
from tests.billing.test_payments import add_cdr, fake_adyen, fake_stripe, finished_session
from tests.factories import add_fleet_account, add_location, add_station
from tests.ocpp.conftest import add_ocpp_station, add_token, gateway, open_charger
from voltlane import billing
from voltlane.billing import payments
from voltlane.billing.dunning import find_dunning
from voltlane.billing.payments.sessions import PaymentFilter, find_payments
from voltlane.billing.providers import PaymentProvider
from voltlane.core.db import Database
from voltlane.core.errors import ValidationError
from voltlane.models.tenant import (
    ChargeRequest,
    ChargeRequestStatus,
    ChargingSession,
    ChargingStation,
    Evse,
    Payment,
    PaymentOperation,
    PaymentPurpose,
    PaymentStatus,
)
from voltlane.tenancy import TenantInfo

__all__ = ["fake_adyen", "fake_stripe", "gateway", "open_charger"]

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
HOLD = 3000  # EUR 30.00


async def charge_request(
    database: Database,
    brand: TenantInfo,
    *,
    station_id: str | None = None,
    id_token: str | None = None,
    status: ChargeRequestStatus = ChargeRequestStatus.AUTHORIZING,
    account_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """A "start charging here" at EVSE 1 of ``station_id`` (a new station when None),
    waiting for its hold: a guest's, or the driver account's."""
    async with database.tenant_transaction(brand.key) as db_session:
        if station_id is None:
            location = await add_location(db_session)
            station = await add_station(db_session, location, f"ST-{uuid.uuid4().hex[:8]}")
            station_pk = station.id
        else:
            found = await db_session.scalar(
                select(ChargingStation.id).where(ChargingStation.station_id == station_id)
            )
            assert found is not None
            station_pk = found
        evse = await db_session.scalar(select(Evse).where(Evse.charging_station_id == station_pk))
        assert evse is not None
        request = ChargeRequest(
            evse_id=evse.id,
            account_id=account_id,
            guest_email=None if account_id else "guest@example.com",
            id_token=id_token or f"APP{uuid.uuid4().hex[:16].upper()}",
            access_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
            status=status,
        )
        db_session.add(request)
        await db_session.flush()
        return request.id


async def hold(
    database: Database,
    brand: TenantInfo,
    request_id: uuid.UUID,
    provider: PaymentProvider,
    payment_method: str,
    *,
    customer: str | None = None,
) -> Payment:
    return await payments.pre_authorize_charge(
        database,
        brand.key,
        request_id,
        provider=provider,
        amount=HOLD,
        currency="EUR",
        payment_method=payment_method,
        customer=customer,
    )


async def operations(database: Database, brand: TenantInfo) -> list[tuple[str, str, int | None]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(
            select(PaymentOperation).order_by(PaymentOperation.created_at, PaymentOperation.id)
        )
        return [(r.kind.value, r.state.value, r.amount) for r in rows]


async def stored_payments(database: Database, brand: TenantInfo) -> list[Payment]:
    async with database.tenant_session(brand.key) as db_session:
        return list((await db_session.scalars(select(Payment))).all())


async def test_authorized_hold_before_the_session_exists(
    database: Database, make_brand, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand = await make_brand()
    request_id = await charge_request(database, brand)
    payment = await hold(database, brand, request_id, stripe_at(url), "pm_card_visa")
    assert (payment.status, payment.amount_authorized, payment.currency) == (
        PaymentStatus.AUTHORIZED,
        HOLD,
        "EUR",
    )
    assert (payment.purpose, payment.charge_request_id, payment.session_id) == (
        PaymentPurpose.SESSION,
        request_id,
        None,
    )
    assert payment.psp_reference is not None
    intent = fake.intents[payment.psp_reference]
    assert (intent["amount"], intent["capture_method"]) == (HOLD, "manual")
    assert intent["metadata"] == {"reference": str(payment.id)}
    # Asking again (the app polls, a second tab) changes nothing and calls nobody.
    again = await hold(database, brand, request_id, stripe_at(url), "pm_card_visa")
    assert (again.id, again.status) == (payment.id, PaymentStatus.AUTHORIZED)
    assert len(fake.intents) == 1
    assert await operations(database, brand) == [("authorize", "succeeded", HOLD)]


async def test_declined_card_fails_then_another_card_is_a_new_attempt(
    database: Database, make_brand, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand = await make_brand()
    request_id = await charge_request(database, brand)
    declined = await hold(database, brand, request_id, stripe_at(url), "pm_card_chargeDeclined")
    assert (declined.status, declined.last_error) == (PaymentStatus.FAILED, "card_declined")
    assert fake.captures == {}
    retried = await hold(database, brand, request_id, stripe_at(url), "pm_card_visa")
    assert (retried.id, retried.status, retried.payment_method_ref) == (
        declined.id,
        PaymentStatus.AUTHORIZED,
        "pm_card_visa",
    )
    assert fake.requests_per_key == {
        f"voltlane-authorize-{declined.id}-1": 1,
        f"voltlane-authorize-{declined.id}-2": 1,
    }
    assert await operations(database, brand) == [
        ("authorize", "failed", HOLD),
        ("authorize", "succeeded", HOLD),
    ]


async def test_three_d_secure_hold_requires_action(
    database: Database, make_brand, fake_adyen
) -> None:
    _fake, url = fake_adyen
    brand = await make_brand()
    request_id = await charge_request(database, brand)
    payment = await hold(database, brand, request_id, adyen_at(url), "card_3ds")
    assert payment.status is PaymentStatus.REQUIRES_ACTION
    assert payment.action == {"type": "threeDS2", "paymentMethodType": "scheme", "token": "tok"}
    [stored] = await stored_payments(database, brand)
    assert (stored.status, stored.action, stored.session_id) == (
        PaymentStatus.REQUIRES_ACTION,
        payment.action,
        None,
    )


async def test_timeout_then_retry_with_the_same_key_authorizes_once(
    database: Database, make_brand, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand = await make_brand()
    request_id = await charge_request(database, brand)
    # The PSP authorizes, then answers after the client gave up.
    fake.slow["/v1/payment_intents$"] = 1.5
    first = await hold(database, brand, request_id, stripe_at(url, timeout=0.5), "pm_card_visa")
    assert (first.status, first.psp_reference) == (PaymentStatus.PENDING, None)
    assert await operations(database, brand) == [("authorize", "unknown", HOLD)]
    # The app asks again (even naming another card): the first request is repeated.
    second = await hold(database, brand, request_id, stripe_at(url), "pm_card_mastercard")
    assert (second.status, second.payment_method_ref) == (PaymentStatus.AUTHORIZED, "pm_card_visa")
    assert fake.requests_per_key == {f"voltlane-authorize-{first.id}-1": 2}
    assert list(fake.intents) == [second.psp_reference]
    assert await operations(database, brand) == [("authorize", "succeeded", HOLD)]


async def test_attached_hold_is_captured_from_the_real_cdr(
    database: Database, make_brand, open_charger, fake_stripe
) -> None:
    fake, url = fake_stripe
    stripe = stripe_at(url)
    brand = await make_brand(payments="stripe")
    await add_ocpp_station(database, brand, "CP16")
    await add_token(database, brand, "APPTOKEN0001")
    await add_tariff(database, brand, ocpi_tariff("AC-STD", ENERGY_039, SESSION_FEE))
    request_id = await charge_request(database, brand, station_id="CP16", id_token="APPTOKEN0001")
    held = await hold(database, brand, request_id, stripe, "pm_card_visa")
    assert held.status is PaymentStatus.AUTHORIZED

    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    started = await cp.call(
        call16.StartTransaction(
            connector_id=1, id_tag="APPTOKEN0001", meter_start=1_000_000, timestamp=NOW.isoformat()
        )
    )
    async with database.tenant_session(brand.key) as db_session:
        [session] = (await db_session.scalars(select(ChargingSession))).all()
    async with database.tenant_transaction(brand.key) as db_session:
        await payments.attach_charge_session(db_session, request_id, session.id)
    async with database.tenant_transaction(brand.key) as db_session:
        # Linking again (a redelivered message) is no change.
        await payments.attach_charge_session(db_session, request_id, session.id)
    # Once linked, the hold is the session's: its CDR settles it, no release.
    with pytest.raises(payments.PaymentStateError, match="its CDR settles it"):
        await payments.release_charge(database, brand.key, request_id, provider=stripe)
    await cp.call(
        call16.MeterValues(
            connector_id=1,
            transaction_id=started.transaction_id,
            meter_value=[meter("2026-11-24T12:40:00Z", 1_012_345)],
        )
    )
    await cp.call(
        call16.StopTransaction(
            transaction_id=started.transaction_id,
            meter_stop=1_012_345,
            timestamp="2026-11-24T12:40:00Z",
            reason="EVDisconnected",
        )
    )
    async with database.tenant_transaction(brand.key) as db_session:
        cdr = await billing.rate_session(db_session, session.id)
    assert cdr is not None
    captured = await payments.capture_cdr(database, brand.key, cdr.id, provider=stripe)
    # 12.345 kWh x 0.39 + 0.50, 19 % VAT: 6.32.
    assert cdr.total_incl_vat == 632
    assert captured is not None
    assert (captured.id, captured.status, captured.amount_captured, captured.cdr_id) == (
        held.id,
        PaymentStatus.CAPTURED,
        632,
        cdr.id,
    )
    assert (captured.session_id, captured.charge_request_id) == (session.id, request_id)
    assert fake.captured_amounts == {held.psp_reference: 632}
    refunded = await payments.refund_payment(
        database, brand.key, held.id, amount=132, provider=stripe
    )
    assert (refunded.status, refunded.amount_refunded) == (PaymentStatus.CAPTURED, 132)
    done = await payments.release_charge(database, brand.key, request_id, provider=stripe)
    assert done is not None
    assert (done.status, done.amount_captured) == (PaymentStatus.CAPTURED, 632)
    assert fake.refunds == {held.psp_reference: 1}
    assert fake.cancels == {}


async def test_release_cancels_the_hold_once(database: Database, make_brand, fake_stripe) -> None:
    fake, url = fake_stripe
    brand = await make_brand()
    request_id = await charge_request(database, brand)
    held = await hold(database, brand, request_id, stripe_at(url), "pm_card_visa")
    down = stripe_at("http://127.0.0.1:9")
    unreachable = await payments.release_charge(database, brand.key, request_id, provider=down)
    assert unreachable is not None
    assert unreachable.status is PaymentStatus.OUTSTANDING
    released = await payments.release_charge(
        database, brand.key, request_id, provider=stripe_at(url)
    )
    assert released is not None
    assert (released.status, released.amount_captured) == (PaymentStatus.CANCELLED, 0)
    again = await payments.release_charge(database, brand.key, request_id, provider=stripe_at(url))
    assert again is not None
    assert again.status is PaymentStatus.CANCELLED
    assert fake.cancels == {held.psp_reference: 1}
    assert fake.intents[held.psp_reference]["status"] == "canceled"
    assert fake.requests_per_key[f"voltlane-cancel-{held.id}-1"] == 1
    assert await operations(database, brand) == [
        ("authorize", "succeeded", HOLD),
        ("cancel", "succeeded", None),
    ]


async def test_release_of_a_hold_whose_answer_was_lost_asks_again_then_cancels(
    database: Database, make_brand, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand = await make_brand()
    request_id = await charge_request(database, brand)
    fake.slow["/v1/payment_intents$"] = 1.5
    pending = await hold(database, brand, request_id, stripe_at(url, timeout=0.5), "pm_card_visa")
    assert pending.status is PaymentStatus.PENDING
    released = await payments.release_charge(
        database, brand.key, request_id, provider=stripe_at(url)
    )
    assert released is not None
    [intent] = fake.intents.values()
    assert (released.status, released.psp_reference) == (PaymentStatus.CANCELLED, intent["id"])
    assert intent["status"] == "canceled"


async def test_release_of_a_declined_or_missing_hold_calls_nobody(
    database: Database, make_brand, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand = await make_brand()
    request_id = await charge_request(database, brand)
    assert (
        await payments.release_charge(database, brand.key, request_id, provider=stripe_at(url))
        is None
    )
    await hold(database, brand, request_id, stripe_at(url), "pm_card_chargeDeclined")
    released = await payments.release_charge(
        database, brand.key, request_id, provider=stripe_at(url)
    )
    assert released is not None
    assert released.status is PaymentStatus.CANCELLED
    assert fake.cancels == {}
    # A hold that never started a session is not a debt: dunning does not list it.
    async with database.tenant_session(brand.key) as db_session:
        assert await find_dunning(db_session, state=None, limit=50, offset=0) == []


async def test_declined_hold_without_session_is_not_followed_by_dunning(
    database: Database, make_brand, fake_stripe
) -> None:
    _fake, url = fake_stripe
    brand = await make_brand()
    request_id = await charge_request(database, brand)
    declined = await hold(database, brand, request_id, stripe_at(url), "pm_card_chargeDeclined")
    assert declined.status is PaymentStatus.FAILED
    # A session's own declined payment is listed, the app charge's is not.
    session_id = await finished_session(database, brand)
    failed = await payments.pre_authorize_session(
        database,
        brand.key,
        session_id,
        provider=stripe_at(url),
        amount=HOLD,
        currency="EUR",
        payment_method="pm_card_chargeDeclined",
    )
    await add_cdr(database, brand, session_id, total=1234)
    async with database.tenant_session(brand.key) as db_session:
        rows = await find_dunning(db_session, state=None, limit=50, offset=0)
    assert [(row.payment.id, row.owed) for row in rows] == [(failed.id, 1234)]


async def test_bad_input_writes_nothing(database: Database, make_brand, fake_stripe) -> None:
    fake, url = fake_stripe
    brand = await make_brand()
    request_id = await charge_request(database, brand)
    with pytest.raises(ValidationError) as invalid:
        await payments.pre_authorize_charge(
            database,
            brand.key,
            request_id,
            provider=stripe_at(url),
            amount=0,
            currency="EUR",
            payment_method="pm_card_visa",
        )
    assert invalid.value.field == "amount"
    with pytest.raises(payments.PaymentNotFoundError) as unknown:
        await hold(database, brand, uuid.uuid4(), stripe_at(url), "pm_card_visa")
    assert unknown.value.field == "charge_request_id"
    cancelled = await charge_request(database, brand, status=ChargeRequestStatus.CANCELLED)
    with pytest.raises(payments.PaymentStateError, match="the charge request is cancelled"):
        await hold(database, brand, cancelled, stripe_at(url), "pm_card_visa")
    assert await stored_payments(database, brand) == []
    assert fake.intents == {}


async def test_another_brands_charge_request_is_out_of_reach(
    database: Database, make_brand, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand_a, brand_b = await make_brand(), await make_brand()
    request_id = await charge_request(database, brand_a)
    held = await hold(database, brand_a, request_id, stripe_at(url), "pm_card_visa")
    with pytest.raises(payments.PaymentNotFoundError):
        await hold(database, brand_b, request_id, stripe_at(url), "pm_card_visa")
    assert (
        await payments.release_charge(database, brand_b.key, request_id, provider=stripe_at(url))
        is None
    )
    session_b = await finished_session(database, brand_b)
    async with database.tenant_transaction(brand_b.key) as db_session:
        await payments.attach_charge_session(db_session, request_id, session_b)
    assert await stored_payments(database, brand_b) == []
    [payment_a] = await stored_payments(database, brand_a)
    assert (payment_a.id, payment_a.status, payment_a.session_id) == (
        held.id,
        PaymentStatus.AUTHORIZED,
        None,
    )
    assert fake.cancels == {}


async def test_finance_sees_who_pays_for_a_hold_before_its_session(
    database: Database, make_brand, fake_stripe
) -> None:
    _fake, url = fake_stripe
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        account = await add_fleet_account(db_session, name="Lena Fischer")
    request_id = await charge_request(database, brand, account_id=account.id)
    held = await hold(database, brand, request_id, stripe_at(url), "pm_card_visa")
    async with database.tenant_session(brand.key) as db_session:
        [row] = await find_payments(db_session, PaymentFilter(), limit=10, offset=0)
    assert (row.payment.id, row.customer) == (held.id, "Lena Fischer")
