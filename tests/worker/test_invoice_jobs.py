"""On a real worker: a stopped session ends in a receipt, a month's run in a fleet invoice, a
declined payment in dunning."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.billing.test_dunning import failed_session
from tests.billing.test_invoicing import Meter, charge, charging_brand, fleet_account
from tests.billing.test_payments import fake_stripe
from tests.fakes.webhooks import STRIPE_WEBHOOK_SECRET
from tests.ocpp.conftest import add_token, gateway, open_charger
from voltlane.core.db import Database
from voltlane.models.tenant import Cdr, DunningState, Invoice, Notification, Payment
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.worker import enqueue
from voltlane.worker.broker import BrokerSink, build_broker
from voltlane.worker.outbox import OutboxRelay, install_relay
from voltlane.worker.runtime import WorkerRuntime

__all__ = ["fake_stripe", "gateway", "open_charger"]

# The worker's queue is shared with the whole test session: jobs enqueued by earlier tests
# may run first, so a job of this test can take a while to come round (poll up to 60 s).
WAIT_STEPS = 1200


@pytest.fixture
async def worker(settings: Settings, database_url: str) -> AsyncIterator[None]:
    # A broker of its own: stopping a worker closes its broker.
    broker = build_broker(None, database_url)
    runtime = WorkerRuntime(settings, database_url, broker)
    relay = OutboxRelay(BrokerSink(broker))
    # No periodic jobs: their catch-up would reach every brand of the test database.
    await asyncio.to_thread(runtime.start, threads=1, relay=relay, schedules=False)
    install_relay(relay)
    try:
        yield
    finally:
        install_relay(None)
        await asyncio.to_thread(runtime.stop)


async def _rated(database: Database, brand: TenantInfo, count: int) -> None:
    for _ in range(WAIT_STEPS):
        async with database.tenant_session(brand.key) as db_session:
            if await db_session.scalar(select(func.count()).select_from(Cdr)) == count:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} CDRs expected")


async def _documents(database: Database, brand: TenantInfo, count: int) -> list[Invoice]:
    for _ in range(WAIT_STEPS):
        async with database.tenant_session(brand.key) as db_session:
            found = list(await db_session.scalars(select(Invoice).order_by(Invoice.number)))
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    return found


async def test_a_stopped_session_ends_in_a_receipt_without_anyone_asking(
    database: Database, make_brand, open_charger, worker: None
) -> None:
    brand = await charging_brand(database, make_brand)
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp

    await charge(cp, Meter(), "RFID0001", "2026-11-24T10:00:00Z", "2026-11-24T10:45:00Z", 7_250)

    [receipt] = await _documents(database, brand, 1)
    assert (receipt.number, receipt.total_net, receipt.total_vat, receipt.total_gross) == (
        f"RCT-{receipt.issue_date.year}-000001",
        333,
        63,
        396,
    )


async def test_an_invoice_run_fans_out_to_the_fleet_accounts_of_the_brand(
    database: Database, make_brand, open_charger, worker: None
) -> None:
    brand = await charging_brand(database, make_brand)
    first = await fleet_account(database, brand)
    second = await fleet_account(database, brand, name="Havel Taxi eG", vat_id="DE822222222")
    await add_token(database, brand, "FLEET01", account_id=first)
    await add_token(database, brand, "FLEET02", account_id=second)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    await charge(cp, meter, "FLEET01", "2026-10-02T08:00:00Z", "2026-10-02T09:00:00Z", 10_000)
    await charge(cp, meter, "FLEET02", "2026-10-03T08:00:00Z", "2026-10-03T09:00:00Z", 2_000)
    await _rated(database, brand, 2)

    async with database.tenant_transaction(brand.key) as db_session:
        enqueue(db_session, "billing.invoice_brand", tenant=brand.key, period_start="2026-10-01")
    invoices = await _documents(database, brand, 2)

    by_account = {i.account_id: (i.kind.value, i.total_gross, i.period_start) for i in invoices}
    # 10 kWh: 3.90 + 0.50 = 4.40 + 19 % = 5.24; 2 kWh: 0.78 + 0.50 = 1.28 + 0.24 = 1.52.
    assert by_account == {
        first: ("invoice", 524, date(2026, 10, 1)),
        second: ("invoice", 152, date(2026, 10, 1)),
    }
    # (A re-run of the month bills nothing twice: tests/billing/test_invoicing.py.)
    # Each fleet gets its invoice by e-mail (written with it; unsent here: no SMTP server).
    async with database.tenant_session(brand.key) as db_session:
        mails = (await db_session.scalars(select(Notification))).all()
    assert sorted((m.kind, m.subject.split(": ", 1)[1]) for m in mails) == [
        ("document.invoice", "Ihre Rechnung INV-2026-000001"),
        ("document.invoice", "Ihre Rechnung INV-2026-000002"),
    ]


async def test_a_dunning_run_follows_up_a_declined_payment_and_writes_to_the_driver(
    database: Database,
    make_brand,
    open_charger,
    fake_stripe,
    worker: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, url = fake_stripe
    brand, payment = await failed_session(database, make_brand, open_charger, fake, url)
    prefix = f"VOLTLANE_{brand.key.upper()}_"
    monkeypatch.setenv(f"{prefix}STRIPE_API_KEY", "sk_test_brand")
    monkeypatch.setenv(f"{prefix}STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET)
    monkeypatch.setenv(f"{prefix}STRIPE_API_BASE", url)

    async with database.tenant_transaction(brand.key) as db_session:
        enqueue(db_session, "billing.dunning_run", tenant=brand.key)
    for _ in range(WAIT_STEPS):
        async with database.tenant_session(brand.key) as db_session:
            notification = await db_session.scalar(
                select(Notification).where(Notification.kind == "dunning.payment_failed")
            )
        if notification is not None and notification.attempts:
            break
        await asyncio.sleep(0.05)
    async with database.tenant_session(brand.key) as db_session:
        followed = await db_session.get(Payment, payment.id)

    assert followed is not None
    assert followed.dunning_state is DunningState.SCHEDULED
    assert notification is not None
    assert (notification.kind, notification.recipient) == (
        "dunning.payment_failed",
        "lena@example.com",
    )
    # The test settings name no SMTP server: the mail is kept, unsent, with the reason.
    assert (notification.sent_at, notification.attempts, notification.last_error) == (
        None,
        1,
        "no SMTP server configured (VOLTLANE_SMTP_URL)",
    )
