"""What a session cost above its card hold (a shortfall): charged off-session to the
driver's stored card as a payment of its own, followed by dunning when declined, left open
for finance when nobody can be charged, and never charged twice. Real OCPP 1.6 sessions,
the real Stripe and Adyen SDKs against the sandbox PSP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

import voltlane.billing.payment_tasks  # noqa: F401 - registers the billing jobs
from tests.billing.providers.test_providers import adyen_at, stripe_at
from tests.billing.test_cdrs import only_session
from tests.billing.test_dunning import DAY, mails, open_and_claim
from tests.billing.test_invoicing import NOW, Meter, charge, charging_brand, driver_account
from tests.billing.test_invoicing import rate_all as rate
from tests.billing.test_payments import fake_adyen, fake_stripe
from tests.fakes.webhooks import adyen_item, adyen_webhook, stripe_webhook
from tests.ocpp.conftest import add_token, gateway, open_charger
from tests.pwa.money_factories import use_fake_stripe
from tests.web.helpers import HTML, sign_in
from tests.web.test_portal_finance import PASSWORD, PAYMENT_ROW_RE, READER, add_staff
from voltlane.billing import payment_tasks, payments
from voltlane.billing import tasks as billing_tasks
from voltlane.billing.cdrs import credit_cdr
from voltlane.billing.credit_refunds import REFUND_CREDITED_TASK
from voltlane.billing.dunning import find_dunning, retry_payment
from voltlane.billing.invoicing import credit_document, issue_documents
from voltlane.billing.payment_tasks import RetryLaterError
from voltlane.billing.providers import PaymentProvider
from voltlane.billing.settlement import outstanding_by_customer
from voltlane.core.db import Database
from voltlane.models.tenant import (
    Cdr,
    DunningState,
    Invoice,
    Payment,
    PaymentOperation,
    PaymentPurpose,
    PaymentStatus,
    StoredPaymentMethod,
    WebhookEvent,
)
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext
from voltlane.worker import outbox as outbox_module
from voltlane.worker.models import OutboxMessage

__all__ = ["fake_adyen", "fake_stripe", "gateway", "open_charger"]

# The CDR of 7.25 kWh at 0.39 EUR/kWh + 0.50 per session, 19 % VAT: 3.96 EUR; the hold
# took 3.00 EUR of it, 0.96 EUR is above it.
TOTAL, HOLD, ABOVE = 396, 300, 96
PSPS = {
    "stripe": ("cus_lena", "pm_card_visa", "pm_card_chargeDeclined"),
    "adyen": ("lena-7", "card_ok", "card_refused"),
}


@pytest.fixture(autouse=True)
def jobs_stay_in_the_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tests read the jobs a step wrote from the outbox: no relay moves them on."""
    monkeypatch.setattr(outbox_module, "_relay", None)


def provider_of(name: str, url: str, timeout: float = 5.0) -> PaymentProvider:
    return stripe_at(url, timeout) if name == "stripe" else adyen_at(url, timeout)


async def session_above_its_hold(
    database: Database,
    make_brand: Any,
    open_charger: Any,
    psp: str,
    url: str,
    *,
    stored: str | None = None,
    account: bool = True,
) -> tuple[TenantInfo, uuid.UUID, Payment]:
    """Lena (stored card ``stored``, her default, when given) charges 3.96 EUR with card
    RFID0001 after a 3.00 EUR hold on that card (a guest: no account, no stored card);
    the CDR is rated and its total captured from the hold."""
    brand = await charging_brand(database, make_brand, payments=psp)
    customer, card, _ = PSPS[psp]
    account_id = await driver_account(database, brand, locale="de_DE") if account else None
    await add_token(database, brand, "RFID0001", account_id=account_id, label="Lenas Karte")
    if stored is not None:
        assert account_id is not None
        async with database.tenant_transaction(brand.key) as db_session:
            db_session.add(
                StoredPaymentMethod(
                    id=uuid.uuid4(),
                    account_id=account_id,
                    provider=psp,
                    customer_ref=customer,
                    payment_method_ref=stored,
                    label="Visa •••• 4242",
                    is_default=True,
                )
            )
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await charge(cp, Meter(), "RFID0001", "2026-11-24T10:00:00Z", "2026-11-24T10:45:00Z", 7_250)
    session = await only_session(database, brand)
    provider = provider_of(psp, url)
    hold = await payments.pre_authorize_session(
        database,
        brand.key,
        session.id,
        provider=provider,
        amount=HOLD,
        currency="EUR",
        payment_method=card,
        customer=customer if account else None,
    )
    assert hold.status is PaymentStatus.AUTHORIZED
    await rate(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        [cdr_id] = (await db_session.scalars(select(Cdr.id))).all()
    captured = await payments.capture_cdr(database, brand.key, cdr_id, provider=provider)
    assert captured is not None
    assert (captured.status, captured.amount_captured) == (PaymentStatus.CAPTURED, HOLD)
    return brand, cdr_id, captured


async def shortfall_of(database: Database, brand: TenantInfo) -> Payment:
    async with database.tenant_session(brand.key) as db_session:
        [row] = await db_session.scalars(
            select(Payment).where(Payment.purpose == PaymentPurpose.SHORTFALL)
        )
        return row


async def jobs_named(database: Database, brand: TenantInfo, name: str) -> list[dict[str, Any]]:
    """The arguments of the brand's ``name`` jobs in the outbox."""
    async with database.platform_session() as db_session:
        rows = await db_session.scalars(
            select(OutboxMessage.message).where(
                OutboxMessage.actor_name == name,
                OutboxMessage.message["kwargs"]["tenant"].astext == brand.key,
            )
        )
        return [row["kwargs"] for row in rows]


async def operations_of(
    database: Database, brand: TenantInfo, payment_id: uuid.UUID
) -> list[tuple[str, str, int | None, str]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(
            select(PaymentOperation)
            .where(PaymentOperation.payment_id == payment_id)
            .order_by(PaymentOperation.created_at, PaymentOperation.id)
        )
        return [(r.kind.value, r.state.value, r.amount, r.idempotency_key) for r in rows]


async def receipt(database: Database, brand: TenantInfo) -> Invoice | None:
    async with database.tenant_transaction(brand.key) as db_session:
        await issue_documents(db_session, brand, now=NOW)
    async with database.tenant_session(brand.key) as db_session:
        return await db_session.scalar(select(Invoice))


@pytest.mark.parametrize("psp", ["stripe", "adyen"])
async def test_the_shortfall_is_charged_off_session_to_the_stored_card_once(
    database: Database, make_brand, open_charger, fake_stripe, fake_adyen, psp: str
) -> None:
    fake, url = fake_stripe if psp == "stripe" else fake_adyen
    customer, card, _ = PSPS[psp]
    brand, cdr_id, hold = await session_above_its_hold(
        database, make_brand, open_charger, psp, url, stored=card
    )
    opened = await shortfall_of(database, brand)
    unsettled = await receipt(database, brand)

    charged = await payments.charge_shortfall(
        database, brand.key, opened.id, provider=provider_of(psp, url)
    )
    # A repeated job, a repeated capture: nothing more is charged.
    again = await payments.charge_shortfall(
        database, brand.key, opened.id, provider=provider_of(psp, url)
    )
    recaptured = await payments.capture_cdr(
        database, brand.key, cdr_id, provider=provider_of(psp, url)
    )
    document = await receipt(database, brand)

    assert (opened.status, opened.amount_authorized, opened.currency, opened.cdr_id) == (
        PaymentStatus.PENDING,
        ABOVE,
        "EUR",
        cdr_id,
    )
    assert (opened.payment_method_ref, opened.customer_ref, opened.session_id) == (
        card,
        customer,
        None,
    )
    assert await jobs_named(database, brand, payments.CHARGE_SHORTFALL_TASK) == [
        {"tenant": brand.key, "payment_id": str(opened.id)}
    ]
    assert unsettled is None  # the receipt waits for the charge above the hold
    assert (charged.status, charged.amount_captured, charged.last_error) == (
        PaymentStatus.CAPTURED,
        ABOVE,
        None,
    )
    assert again.status is PaymentStatus.CAPTURED
    assert recaptured is not None
    assert recaptured.id == hold.id
    assert charged.psp_reference is not None
    assert hold.psp_reference is not None
    assert fake.captured_amounts == {hold.psp_reference: HOLD, charged.psp_reference: ABOVE}
    assert fake.merchant_initiated == {charged.psp_reference: card}
    key = f"voltlane-charge-{opened.id}-1"
    assert await operations_of(database, brand, opened.id) == [("charge", "succeeded", ABOVE, key)]
    assert fake.requests_per_key[key] == 1
    assert document is not None
    assert (document.total_gross, document.paid) == (TOTAL, TOTAL)
    notes = document.document["notes"]
    assert notes == [
        "3,00\xa0€ über die Reservierung auf Ihrer Karte bezahlt.",
        "0,96\xa0€ über der Reservierung gesondert von Ihrer Karte abgebucht.",
    ]


@pytest.mark.parametrize("psp", ["stripe", "adyen"])
async def test_a_declined_shortfall_is_dunned_and_the_driver_told(
    database: Database, make_brand, open_charger, fake_stripe, fake_adyen, psp: str
) -> None:
    fake, url = fake_stripe if psp == "stripe" else fake_adyen
    _, _, declined_card = PSPS[psp]
    brand, _cdr_id, hold = await session_above_its_hold(
        database, make_brand, open_charger, psp, url, stored=declined_card
    )
    opened = await shortfall_of(database, brand)
    declined = await payments.charge_shortfall(
        database, brand.key, opened.id, provider=provider_of(psp, url)
    )
    document = await receipt(database, brand)
    first = await open_and_claim(database, brand, NOW)
    async with database.tenant_session(brand.key) as db_session:
        listed = await find_dunning(db_session, state=DunningState.SCHEDULED, limit=10, offset=0)
    retried = await open_and_claim(database, brand, NOW + DAY)
    failed_again = await retry_payment(
        database, brand, opened.id, provider=provider_of(psp, url), now=NOW + DAY
    )

    assert (declined.status, declined.amount_captured) == (PaymentStatus.FAILED, 0)
    assert declined.last_error == ("card_declined" if psp == "stripe" else "Refused")
    assert first == []
    assert [(r.payment.id, r.owed, r.customer) for r in listed] == [
        (opened.id, ABOVE, "Lena Fischer")
    ]
    assert retried == [opened.id]
    assert (failed_again.status, failed_again.dunning_attempts) == (PaymentStatus.FAILED, 1)
    assert [op[:3] for op in await operations_of(database, brand, opened.id)] == [
        ("charge", "failed", ABOVE),
        ("charge", "failed", ABOVE),
    ]
    assert hold.psp_reference is not None
    assert fake.captured_amounts == {hold.psp_reference: HOLD}
    assert document is not None
    assert (document.total_gross, document.paid) == (TOTAL, HOLD)
    assert document.document["notes"] == [
        "3,00\xa0€ über die Reservierung auf Ihrer Karte bezahlt.",
        "0,96\xa0€ über der Reservierung sind noch zu zahlen.",
    ]
    assert await mails(database, brand) == [
        (
            "dunning.payment_failed",
            "lena@example.com",
            f"{brand.name}: Ihre Zahlung von 0,96\xa0€ ist fehlgeschlagen",
        ),
        (
            "dunning.payment_retry_failed",
            "lena@example.com",
            f"{brand.name}: Ihre Zahlung von 0,96\xa0€ ist erneut fehlgeschlagen",
        ),
    ]


@pytest.mark.parametrize("psp", ["stripe", "adyen"])
async def test_a_timeout_after_send_is_retried_with_the_same_key_and_charged_once(
    database: Database, make_brand, open_charger, fake_stripe, fake_adyen, psp: str
) -> None:
    fake, url = fake_stripe if psp == "stripe" else fake_adyen
    _, card, _ = PSPS[psp]
    brand, _cdr_id, _hold = await session_above_its_hold(
        database, make_brand, open_charger, psp, url, stored=card
    )
    opened = await shortfall_of(database, brand)
    # The PSP charges, then answers after the client gave up.
    fake.slow["/payment_intents$" if psp == "stripe" else "/payments$"] = 1.5
    unanswered = await payments.charge_shortfall(
        database, brand.key, opened.id, provider=provider_of(psp, url, timeout=0.5)
    )
    after_timeout = await operations_of(database, brand, opened.id)
    charged = await payments.charge_shortfall(
        database, brand.key, opened.id, provider=provider_of(psp, url)
    )

    key = f"voltlane-charge-{opened.id}-1"
    assert unanswered.status is PaymentStatus.PENDING
    assert after_timeout == [("charge", "unknown", ABOVE, key)]
    assert (charged.status, charged.amount_captured) == (PaymentStatus.CAPTURED, ABOVE)
    assert await operations_of(database, brand, opened.id) == [("charge", "succeeded", ABOVE, key)]
    assert fake.requests_per_key[key] == 2
    assert charged.psp_reference is not None
    assert fake.captures[charged.psp_reference] == 1
    assert sorted(fake.captured_amounts.values()) == [ABOVE, HOLD]


@pytest.mark.parametrize("psp", ["stripe", "adyen"])
async def test_a_guests_shortfall_is_an_open_receivable_finance_sees(
    database: Database, make_brand, open_charger, fake_stripe, fake_adyen, psp: str
) -> None:
    fake, url = fake_stripe if psp == "stripe" else fake_adyen
    brand, cdr_id, hold = await session_above_its_hold(
        database, make_brand, open_charger, psp, url, account=False
    )
    opened = await shortfall_of(database, brand)
    document = await receipt(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        outstanding = await outstanding_by_customer(db_session, limit=10, offset=0)
        listed = await find_dunning(db_session, state=None, limit=10, offset=0)
    dunned = await open_and_claim(database, brand, NOW + 30 * DAY)

    assert (opened.status, opened.amount_authorized, opened.currency, opened.cdr_id) == (
        PaymentStatus.FAILED,
        ABOVE,
        "EUR",
        cdr_id,
    )
    assert (opened.payment_method_ref, opened.last_error) == (None, payments.NO_STORED_CARD)
    assert await jobs_named(database, brand, payments.CHARGE_SHORTFALL_TASK) == []
    assert [
        (r.account_id, r.currency, r.sessions, r.owed, r.at_psp, r.failed, r.to_transfer)
        for r in outstanding
    ] == [(None, "EUR", 1, ABOVE, 0, ABOVE, 0)]
    assert [(r.payment.id, r.owed, r.customer) for r in listed] == [(opened.id, ABOVE, None)]
    assert dunned == []
    assert hold.psp_reference is not None
    assert fake.captured_amounts == {hold.psp_reference: HOLD}
    assert document is not None
    assert (document.total_gross, document.paid) == (TOTAL, HOLD)


async def test_stripe_webhooks_of_the_shortfall_are_applied_once(
    database: Database, make_brand, open_charger, fake_stripe
) -> None:
    _fake, url = fake_stripe
    brand, _cdr_id, _hold = await session_above_its_hold(
        database, make_brand, open_charger, "stripe", url, stored="pm_card_visa"
    )
    stripe = stripe_at(url)
    opened = await shortfall_of(database, brand)
    charged = await payments.charge_shortfall(database, brand.key, opened.id, provider=stripe)
    body, headers = stripe_webhook(
        "evt_shortfall",
        "payment_intent.succeeded",
        {"id": charged.psp_reference, "amount_received": ABOVE},
    )
    async with database.tenant_transaction(brand.key) as db_session:
        first = await payments.record_webhook(db_session, stripe, body, headers)
    async with database.tenant_transaction(brand.key) as db_session:
        second = await payments.record_webhook(db_session, stripe, body, headers)
    again = await payments.charge_shortfall(database, brand.key, opened.id, provider=stripe)

    assert len(first) == 1
    assert second == []
    assert (again.status, again.amount_captured) == (PaymentStatus.CAPTURED, ABOVE)
    assert await count_events(database, brand) == 1
    assert [op[:2] for op in await operations_of(database, brand, opened.id)] == [
        ("charge", "succeeded")
    ]


async def test_adyen_webhooks_of_the_shortfall_are_applied_once(
    database: Database, make_brand, open_charger, fake_adyen
) -> None:
    fake, url = fake_adyen
    brand, _cdr_id, _hold = await session_above_its_hold(
        database, make_brand, open_charger, "adyen", url, stored="card_ok"
    )
    adyen = adyen_at(url)
    opened = await shortfall_of(database, brand)
    charged = await payments.charge_shortfall(database, brand.key, opened.id, provider=adyen)
    assert charged.psp_reference is not None
    body, headers = adyen_webhook(adyen_item("AUTHORISATION", charged.psp_reference, value=ABOVE))
    async with database.tenant_transaction(brand.key) as db_session:
        first = await payments.record_webhook(db_session, adyen, body, headers)
    async with database.tenant_transaction(brand.key) as db_session:
        second = await payments.record_webhook(db_session, adyen, body, headers)
    after = await shortfall_of(database, brand)

    assert len(first) == 1
    assert second == []
    # A late "authorised" never moves a captured charge back.
    assert (after.status, after.amount_captured) == (PaymentStatus.CAPTURED, ABOVE)
    assert await count_events(database, brand) == 1
    assert fake.captures[charged.psp_reference] == 1


async def count_events(database: Database, brand: TenantInfo) -> int:
    async with database.tenant_session(brand.key) as db_session:
        return len((await db_session.scalars(select(WebhookEvent))).all())


async def test_the_job_retries_through_a_psp_outage_and_the_sweep_picks_it_up_again(
    database: Database,
    settings: Settings,
    make_brand: Any,
    open_charger: Any,
    fake_stripe: tuple[Any, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, url = fake_stripe
    brand, _cdr_id, _hold = await session_above_its_hold(
        database, make_brand, open_charger, "stripe", url, stored="pm_card_visa"
    )
    use_fake_stripe(brand, url, monkeypatch)
    monkeypatch.setenv(f"VOLTLANE_{brand.key.upper()}_STRIPE_TIMEOUT", "0.5")
    context = JobContext(database=database, settings=settings)
    opened = await shortfall_of(database, brand)
    job = {"tenant": brand.key, "payment_id": str(opened.id)}
    fake.slow["/payment_intents$"] = 1.5

    with pytest.raises(RetryLaterError, match="not answered"):
        await payment_tasks.charge_shortfall_of(context, **job)
    await billing_tasks.capture_owed(context, tenant=brand.key)
    queued = await jobs_named(database, brand, payments.CHARGE_SHORTFALL_TASK)
    await payment_tasks.charge_shortfall_of(context, **job)
    await payment_tasks.charge_shortfall_of(context, **job)  # a redelivered job
    await billing_tasks.capture_owed(context, tenant=brand.key)
    charged = await shortfall_of(database, brand)

    assert queued == [job, job]  # opened with the capture, then again by the sweep
    assert (charged.status, charged.amount_captured) == (PaymentStatus.CAPTURED, ABOVE)
    assert fake.requests_per_key[f"voltlane-charge-{opened.id}-1"] == 2
    assert charged.psp_reference is not None
    assert fake.captures[charged.psp_reference] == 1
    assert await jobs_named(database, brand, payments.CHARGE_SHORTFALL_TASK) == [job, job]


async def test_crediting_the_session_refunds_its_shortfall_too(
    database: Database, make_brand, open_charger, fake_adyen
) -> None:
    fake, url = fake_adyen
    brand, _cdr_id, hold = await session_above_its_hold(
        database, make_brand, open_charger, "adyen", url, stored="card_ok"
    )
    adyen = adyen_at(url)
    opened = await shortfall_of(database, brand)
    charged = await payments.charge_shortfall(database, brand.key, opened.id, provider=adyen)
    document = await receipt(database, brand)
    assert document is not None
    async with database.tenant_transaction(brand.key) as db_session:
        await credit_document(db_session, brand, document.id, reason="Goodwill", now=NOW)
    queued = await jobs_named(database, brand, REFUND_CREDITED_TASK)
    refunded = await payments.refund_credited(database, brand.key, opened.id, provider=adyen)

    assert sorted(job["payment_id"] for job in queued) == sorted([str(hold.id), str(opened.id)])
    assert refunded is not None
    assert (refunded.status, refunded.amount_refunded) == (PaymentStatus.REFUNDED, ABOVE)
    assert charged.psp_reference is not None
    assert fake.refunds == {charged.psp_reference: 1}


async def test_a_shortfall_credited_before_its_charge_is_cancelled_and_never_sent(
    database: Database, make_brand, open_charger, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand, cdr_id, _hold = await session_above_its_hold(
        database, make_brand, open_charger, "stripe", url, stored="pm_card_visa"
    )
    opened = await shortfall_of(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await credit_cdr(db_session, cdr_id, reason="Charger fault")

    cancelled = await payments.charge_shortfall(
        database, brand.key, opened.id, provider=stripe_at(url)
    )

    assert (cancelled.status, cancelled.amount_captured) == (PaymentStatus.CANCELLED, 0)
    assert await operations_of(database, brand, opened.id) == []
    assert not any(key.startswith("voltlane-charge-") for key in fake.requests_per_key)


async def test_finance_sees_a_guests_shortfall_on_the_outstanding_and_payments_pages(
    database: Database, make_brand, open_charger, fake_stripe, client_for
) -> None:
    _fake, url = fake_stripe
    brand, _cdr_id, _hold = await session_above_its_hold(
        database, make_brand, open_charger, "stripe", url, account=False
    )
    opened = await shortfall_of(database, brand)
    await receipt(database, brand)  # as billing.issue_documents does after the capture
    await add_staff(database, brand)

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        page = await client.get("/portal/finance/outstanding", headers=HTML)
        csv = await client.get("/portal/finance/outstanding?format=csv")
        listed = await client.get("/portal/finance/payments?purpose=shortfall", headers=HTML)
        shown = await client.get(f"/portal/finance/payments/{opened.id}", headers=HTML)

    assert page.status_code == 200
    assert "Ad-hoc customers" in page.text
    assert "€0.96" in page.text
    assert csv.text.split("\r\n") == [
        "account_id,customer,email,sessions,owed,at_psp,payment_failed,transfer_due,currency,"
        "oldest_session_at",
        ",,,1,96,0,96,0,EUR,2026-11-24T10:00:00+00:00",
        "",
    ]
    assert PAYMENT_ROW_RE.findall(listed.text) == [str(opened.id)]
    assert "Above the pre-authorization" in listed.text
    assert shown.status_code == 200
    assert payments.NO_STORED_CARD in shown.text
