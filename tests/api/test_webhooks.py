"""Payment webhooks on a brand's host: verified on the raw body, stored once, per brand."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.api.conftest import api_client
from tests.fakes.webhooks import STRIPE_WEBHOOK_SECRET, stripe_webhook
from voltlane.core.db import Database
from voltlane.models.tenant import WebhookEvent
from voltlane.tenancy import TenantInfo


async def _events(database: Database, brand: TenantInfo) -> list[tuple[str, str]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.execute(
            select(WebhookEvent.event_id, WebhookEvent.type).order_by(WebhookEvent.event_id)
        )
        return [(r[0], r[1]) for r in rows]


@pytest.fixture
def stripe_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Stripe credentials for one brand only (VOLTLANE_<KEY>_...)."""

    def for_brand(brand: TenantInfo) -> None:
        prefix = f"VOLTLANE_{brand.key.upper()}_"
        monkeypatch.setenv(f"{prefix}STRIPE_API_KEY", "sk_test_brand")
        monkeypatch.setenv(f"{prefix}STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET)

    return for_brand


async def test_a_signed_webhook_is_stored_once_and_a_forged_one_is_refused(
    database: Database, make_brand, app, stripe_env
) -> None:
    brand = await make_brand(payments="stripe")
    other = await make_brand(payments="stripe")
    stripe_env(brand)
    body, headers = stripe_webhook(
        "evt_1", "payment_intent.amount_capturable_updated", {"id": "pi_unknown", "amount": 1}
    )
    async with api_client(app, brand, None) as client:
        first = await client.post("/api/webhooks/payments", content=body, headers=headers)
        again = await client.post("/api/webhooks/payments", content=body, headers=headers)
        forged = await client.post(
            "/api/webhooks/payments", content=body.replace(b"evt_1", b"evt_2"), headers=headers
        )
    async with api_client(app, other, None) as client:
        unconfigured = await client.post("/api/webhooks/payments", content=body, headers=headers)

    assert (first.status_code, first.json()) == (200, {"received": True, "stored": 1})
    assert (again.status_code, again.json()) == (200, {"received": True, "stored": 0})
    assert (forged.status_code, forged.json()["title"]) == (400, "Invalid webhook signature")
    # The other brand has no credentials of its own (nor platform-wide ones): nothing is read.
    assert unconfigured.status_code == 409
    assert (
        unconfigured.json()["detail"] == "environment variable VOLTLANE_STRIPE_API_KEY is not set"
    )
    assert "whsec" not in unconfigured.text
    assert await _events(database, brand) == [("evt_1", "payment_intent.amount_capturable_updated")]
    assert await _events(database, other) == []
