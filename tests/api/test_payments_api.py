"""Finance through the API: what the PSP still owes, and refunds that are paid out once."""

from __future__ import annotations

import pytest

from tests.api.conftest import issue_key
from tests.billing.providers.test_providers import stripe_at
from tests.billing.test_payments import add_cdr, fake_stripe, finished_session, pre_authorize
from tests.fakes.webhooks import STRIPE_WEBHOOK_SECRET
from voltlane.billing import payments
from voltlane.core.db import Database

__all__ = ["fake_stripe"]


async def test_captured_payments_are_listed_and_refunded_in_parts(
    database: Database, make_brand, api_for, fake_stripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = fake_stripe
    brand = await make_brand(payments="stripe")
    prefix = f"VOLTLANE_{brand.key.upper()}_"
    monkeypatch.setenv(f"{prefix}STRIPE_API_KEY", "sk_test_brand")
    monkeypatch.setenv(f"{prefix}STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET)
    monkeypatch.setenv(f"{prefix}STRIPE_API_BASE", url)
    stripe = stripe_at(url)
    session_id = await finished_session(database, brand)
    await pre_authorize(database, brand, session_id, stripe, "pm_card_visa")
    cdr_id = await add_cdr(database, brand, session_id, total=1234)
    captured = await payments.capture_cdr(database, brand.key, cdr_id, provider=stripe)
    assert captured is not None
    key = await issue_key(database, brand)

    async with api_for(brand, key) as client:
        listed = await client.get("/api/v1/payments", params={"status": "captured"})
        outstanding = await client.get("/api/v1/payments", params={"status": "outstanding"})
        too_much = await client.post(
            f"/api/v1/payments/{captured.id}/refund", json={"amount": 1235}
        )
        part = await client.post(f"/api/v1/payments/{captured.id}/refund", json={"amount": 234})
        rest = await client.post(f"/api/v1/payments/{captured.id}/refund", json={})
        again = await client.post(f"/api/v1/payments/{captured.id}/refund", json={})

    [item] = listed.json()["items"]
    assert (item["id"], item["amount_captured"], item["currency"]) == (
        str(captured.id),
        1234,
        "EUR",
    )
    assert outstanding.json() == {"items": [], "total": 0}
    assert (too_much.status_code, too_much.json()["field"]) == (422, "amount")
    assert (part.status_code, part.json()["amount_refunded"], part.json()["status"]) == (
        201,
        234,
        "captured",
    )
    assert (rest.json()["amount_refunded"], rest.json()["status"]) == (1234, "refunded")
    assert again.status_code == 409
    assert len(fake.refunds) == 1
    assert sum(fake.refunds.values()) == 2
