"""A credited session gives its card money back: crediting a receipt writes the job
``billing.refund_credited``, which refunds what is left of the session's captured payment,
once, through the real Stripe SDK against the sandbox PSP."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select

from tests.billing.providers.test_providers import stripe_at
from tests.fakes.psp import FakeStripe
from tests.ocpp.conftest import gateway
from tests.pwa.charge_support import (
    app_brand,
    charging_at,
    fake_stripe,
    payment_of,
    receipt_of,
    screen_clock,
    start_as_guest,
    stop_and_bill,
    wait_for_state,
)
from voltlane.billing import payments
from voltlane.billing.credit_refunds import REFUND_CREDITED_TASK
from voltlane.billing.invoicing import credit_document
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import PaymentOperation, PaymentStatus
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.worker import outbox
from voltlane.worker.models import OutboxMessage

__all__ = ["fake_stripe", "gateway", "screen_clock"]


async def refund_jobs(database: Database, brand: TenantInfo) -> list[str]:
    async with database.platform_session() as db_session:
        found = await db_session.scalars(
            select(OutboxMessage).where(OutboxMessage.actor_name == REFUND_CREDITED_TASK)
        )
        return [
            row.message["kwargs"]["payment_id"]
            for row in found
            if row.message["kwargs"]["tenant"] == brand.key
        ]


async def refunds(database: Database, brand: TenantInfo) -> list[tuple[str, int | None]]:
    async with database.tenant_session(brand.key) as db_session:
        found = await db_session.scalars(
            select(PaymentOperation)
            .where(PaymentOperation.kind == "refund")
            .order_by(PaymentOperation.created_at)
        )
        return [(op.state.value, op.amount) for op in found]


@pytest.mark.parametrize("refunded_by_hand", [0, 100])
async def test_crediting_a_card_paid_receipt_refunds_what_is_left_of_its_payment_once(
    refunded_by_hand: int,
    database: Database,
    settings: Settings,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, stripe_url = fake_stripe
    stripe = stripe_at(stripe_url)
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url)
    async with charging_at(app, gateway, brand) as (_, client):
        request_id, _ = await start_as_guest(client, "DETSTE00011")
        live = await wait_for_state(client, request_id, "charging")
        billed = await stop_and_bill(database, settings, brand, client, request_id, live)
    payment = await payment_of(database, brand, request_id)
    receipt = await receipt_of(database, brand, billed.request.session_id)
    assert (payment.status, payment.amount_captured) == (PaymentStatus.CAPTURED, 396)
    if refunded_by_hand:
        await payments.refund_payment(
            database, brand.key, payment.id, amount=refunded_by_hand, provider=stripe
        )
    monkeypatch.setattr(outbox, "_relay", None)  # the job is read from the outbox

    async with database.tenant_transaction(brand.key) as db_session:
        await credit_document(db_session, brand, receipt.id, reason="Charger fault", now=utcnow())

    assert await refund_jobs(database, brand) == [str(payment.id)]
    refunded = await payments.refund_credited(database, brand.key, payment.id, provider=stripe)
    assert refunded is not None
    assert (refunded.status, refunded.amount_refunded) == (PaymentStatus.REFUNDED, 396)
    # The job run again (a retry after it succeeded) finds nothing left to give back.
    assert await payments.refund_credited(database, brand.key, payment.id, provider=stripe) is None
    assert fake.refunds == {payment.psp_reference: 2 if refunded_by_hand else 1}
    assert await refunds(database, brand) == [
        ("succeeded", amount) for amount in (refunded_by_hand, 396 - refunded_by_hand) if amount
    ]
