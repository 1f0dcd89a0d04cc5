"""Dunning: a failed payment is retried on the brand's schedule, the driver is told each
step by e-mail, and the card is blocked when the last retry fails."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

import voltlane.identity.tasks  # noqa: F401 - registers identity.send_notification
from tests.billing.providers.test_providers import stripe_at
from tests.billing.test_cdrs import only_session
from tests.billing.test_invoicing import (
    NOW,
    Meter,
    charge,
    charging_brand,
    driver_account,
    rate_all,
)
from tests.billing.test_payments import fake_stripe, pre_authorize
from tests.fakes.psp import FakeStripe
from tests.fakes.smtp import FakeSmtp, smtp_server
from tests.ocpp.conftest import add_token, gateway, open_charger
from voltlane.billing.dunning import DunningPolicy, claim_due, open_dunning, retry_payment
from voltlane.billing.invoicing import credit_document, issue_documents
from voltlane.charging import service as charging
from voltlane.charging.schemas import AuthorizationStatus
from voltlane.core.db import Database
from voltlane.core.mail import MailError, SmtpServer
from voltlane.identity.notifications import queue_email, send_notification
from voltlane.models.tenant import (
    DunningState,
    Invoice,
    Notification,
    Payment,
    PaymentStatus,
)
from voltlane.tenancy import TenantInfo

__all__ = ["fake_stripe", "gateway", "open_charger"]

DAY = timedelta(days=1)


@pytest.fixture
def smtp() -> Iterator[tuple[FakeSmtp, str]]:
    with smtp_server() as running:
        yield running


async def failed_session(
    database: Database,
    make_brand: Any,
    open_charger: Any,
    fake: FakeStripe,
    url: str,
    **options: Any,
) -> tuple[TenantInfo, Payment]:
    """A driver whose card was declined when the session started; the session charged
    7.25 kWh (3.96 EUR) and has its CDR and its receipt (nothing paid)."""
    brand = await charging_brand(
        database, make_brand, payments="stripe", payment_options=options or None
    )
    account_id = await driver_account(database, brand, locale="de_DE")
    await add_token(database, brand, "RFID0001", account_id=account_id, label="Lenas Karte")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await charge(cp, Meter(), "RFID0001", "2026-11-24T10:00:00Z", "2026-11-24T10:45:00Z", 7_250)
    session = await only_session(database, brand)
    fake.decline_next = 1
    declined = await pre_authorize(database, brand, session.id, stripe_at(url), "pm_card_visa")
    assert declined.status is PaymentStatus.FAILED
    await rate_all(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await issue_documents(db_session, brand, now=NOW)
    return brand, declined


async def open_and_claim(database: Database, brand: TenantInfo, now: datetime) -> list[uuid.UUID]:
    async with database.tenant_transaction(brand.key) as db_session:
        await open_dunning(db_session, brand, now=now)
        return await claim_due(db_session, now=now)


async def payment_of(database: Database, brand: TenantInfo, payment_id: uuid.UUID) -> Payment:
    async with database.tenant_session(brand.key) as db_session:
        payment = await db_session.get(Payment, payment_id)
    assert payment is not None
    return payment


async def mails(database: Database, brand: TenantInfo) -> list[tuple[str, str, str]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(select(Notification).order_by(Notification.created_at))
        return [(n.kind, n.recipient, n.subject) for n in rows]


async def test_a_declined_payment_is_retried_after_a_day_and_the_receipt_marked_paid(
    database: Database, make_brand, open_charger, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand, payment = await failed_session(database, make_brand, open_charger, fake, url)

    first = await open_and_claim(database, brand, NOW)
    scheduled = await payment_of(database, brand, payment.id)
    too_early = await open_and_claim(database, brand, NOW + DAY - timedelta(minutes=1))
    due = await open_and_claim(database, brand, NOW + DAY)
    recovered = await retry_payment(
        database, brand, payment.id, provider=stripe_at(url), now=NOW + DAY
    )

    assert first == []
    assert (scheduled.dunning_state, scheduled.next_dunning_at) == (
        DunningState.SCHEDULED,
        NOW + DAY,
    )
    assert too_early == []
    assert due == [payment.id]
    assert (recovered.status, recovered.dunning_state, recovered.amount_captured) == (
        PaymentStatus.CAPTURED,
        DunningState.RECOVERED,
        396,
    )
    assert recovered.next_dunning_at is None
    assert sorted(fake.captured_amounts.values()) == [396]
    async with database.tenant_session(brand.key) as db_session:
        receipt = await db_session.scalar(select(Invoice))
    assert receipt is not None
    assert (receipt.number, receipt.total_gross, receipt.paid) == ("RCT-2026-000001", 396, 396)
    assert await mails(database, brand) == [
        (
            "dunning.payment_failed",
            "lena@example.com",
            f"{brand.name}: Ihre Zahlung von 3,96\xa0€ ist fehlgeschlagen",
        ),
        (
            "dunning.payment_recovered",
            "lena@example.com",
            f"{brand.name}: Vielen Dank, 3,96\xa0€ ist bezahlt",
        ),
    ]


async def test_after_the_last_failed_retry_the_card_is_blocked(
    database: Database, make_brand, open_charger, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand, payment = await failed_session(
        database, make_brand, open_charger, fake, url, retry_days=[1, 2], block_after=2
    )
    stripe = stripe_at(url)
    await open_and_claim(database, brand, NOW)

    fake.decline_next = 1
    assert await open_and_claim(database, brand, NOW + DAY) == [payment.id]
    once = await retry_payment(database, brand, payment.id, provider=stripe, now=NOW + DAY)
    async with database.tenant_session(brand.key) as db_session:
        still_ok = await charging.authorize(db_session, id_token="RFID0001", token_type="ISO14443")
    fake.decline_next = 1
    assert await open_and_claim(database, brand, NOW + 3 * DAY) == [payment.id]
    twice = await retry_payment(database, brand, payment.id, provider=stripe, now=NOW + 3 * DAY)
    async with database.tenant_session(brand.key) as db_session:
        blocked = await charging.authorize(db_session, id_token="RFID0001", token_type="ISO14443")
    after = await open_and_claim(database, brand, NOW + 30 * DAY)

    assert (once.status, once.dunning_state, once.dunning_attempts, once.next_dunning_at) == (
        PaymentStatus.FAILED,
        DunningState.SCHEDULED,
        1,
        NOW + 3 * DAY,
    )
    assert still_ok.status is AuthorizationStatus.ACCEPTED
    assert (twice.status, twice.dunning_state, twice.dunning_attempts, twice.next_dunning_at) == (
        PaymentStatus.FAILED,
        DunningState.EXHAUSTED,
        2,
        None,
    )
    assert blocked.status is AuthorizationStatus.BLOCKED
    assert after == []
    assert fake.captured_amounts == {}
    assert [kind for kind, _, _ in await mails(database, brand)] == [
        "dunning.payment_failed",
        "dunning.payment_retry_failed",
        "dunning.token_blocked",
    ]


async def test_a_credited_session_is_not_dunned(
    database: Database, make_brand, open_charger, fake_stripe
) -> None:
    fake, url = fake_stripe
    brand, payment = await failed_session(database, make_brand, open_charger, fake, url)
    async with database.tenant_transaction(brand.key) as db_session:
        receipt = await db_session.scalar(select(Invoice))
        assert receipt is not None
    async with database.tenant_transaction(brand.key) as db_session:
        await credit_document(db_session, brand, receipt.id, reason="Goodwill", now=NOW)

    claimed = await open_and_claim(database, brand, NOW + 10 * DAY)

    assert claimed == []
    assert (await payment_of(database, brand, payment.id)).dunning_state is None
    assert await mails(database, brand) == []


async def test_a_written_mail_is_sent_once_and_a_refusing_server_is_retried(
    database: Database, make_brand, smtp
) -> None:
    fake, url = smtp
    brand = await make_brand()

    async def write(reference: str) -> uuid.UUID | None:
        async with database.tenant_transaction(brand.key) as db_session:
            return await queue_email(
                db_session,
                brand.key,
                kind="test.hello",
                reference=reference,
                recipient="lena@example.com",
                subject="Grüße",
                body="Hallo Lena,\n.\nbis bald",
            )

    first = await write("a")
    duplicate = await write("a")
    second = await write("b")
    assert first is not None
    assert second is not None
    server = SmtpServer.parse(url)
    sent = await send_notification(
        database, brand.key, first, server=server, sender_name="Voltaria", sender="hi@volt.example"
    )
    again = await send_notification(
        database, brand.key, first, server=server, sender_name="Voltaria", sender="hi@volt.example"
    )
    fake.refuse = True
    with pytest.raises(MailError, match="451"):
        await send_notification(
            database, brand.key, second, server=server, sender_name="V", sender="hi@volt.example"
        )
    unsent = await send_notification(
        database, brand.key, second, server=None, sender_name="V", sender="hi@volt.example"
    )

    assert duplicate is None
    assert (sent, again, unsent) == (True, True, False)
    assert len(fake.messages) == 1
    message = email.message_from_bytes(fake.messages[0].as_bytes(), policy=email.policy.default)
    assert (message["To"], message["Subject"], message["From"]) == (
        "lena@example.com",
        "Grüße",
        "Voltaria <hi@volt.example>",
    )
    assert message.get_content() == "Hallo Lena,\n.\nbis bald\n"
    assert fake.envelopes == [("hi@volt.example", ["lena@example.com"])]
    async with database.tenant_session(brand.key) as db_session:
        rows = {
            n.reference: (n.sent_at is not None, n.attempts, n.last_error)
            for n in await db_session.scalars(select(Notification))
        }
    assert rows["a"] == (True, 1, None)
    assert rows["b"][:2] == (False, 2)
    assert rows["b"][2] == "no SMTP server configured (VOLTLANE_SMTP_URL)"


def test_smtp_urls_name_their_transport_and_refuse_anything_else() -> None:
    assert SmtpServer.parse("smtps://mailer:s%40cret@mail.example") == SmtpServer(
        "smtps", "mail.example", 465, "mailer", "s@cret"
    )
    assert SmtpServer.parse("smtp+starttls://mail.example").port == 587
    assert SmtpServer.parse("smtp://127.0.0.1:2525").port == 2525
    with pytest.raises(ValueError, match="smtp://"):
        SmtpServer.parse("http://mail.example")


def test_dunning_dates_follow_the_last_interval_when_the_list_runs_out() -> None:
    policy = DunningPolicy((1, 3), 5)
    start = datetime(2026, 11, 24, tzinfo=UTC)
    assert [policy.next_retry(n, start) for n in range(4)] == [
        start + DAY,
        start + 3 * DAY,
        start + 3 * DAY,
        start + 3 * DAY,
    ]
