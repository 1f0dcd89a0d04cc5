"""Changing, retiring and offering again a subscription plan through the API: the rules and
effects of ``billing.subscriptions``, the ones the portal's Finance > Plans keeps too."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from tests.api.conftest import issue_key
from tests.api.test_invoices_api import FLEET
from voltlane.core.db import Database
from voltlane.models.tenant import AuditEntry

PLUS = {"code": "PLUS", "name": "Plus", "monthly_fee": "9.99", "vat_rate": "19"}
TERMS = {"name": "Plus 2027", "monthly_fee": "12.5", "vat_rate": "7", "included_kwh": 80}
KEYS = ("code", "name", "monthly_fee", "vat_rate", "included_kwh", "active")


async def test_a_plan_is_changed_retired_and_offered_again_through_the_api(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)

    async with api_for(brand, key) as client:
        account = (await client.post("/api/v1/customer-accounts", json=FLEET)).json()
        plan = (await client.post("/api/v1/subscription-plans", json=PLUS)).json()
        path = f"/api/v1/subscription-plans/{plan['id']}"
        wrong_vat = await client.put(path, json={**TERMS, "vat_rate": "100"})
        no_name = await client.put(path, json={**TERMS, "name": ""})
        too_many = await client.put(path, json={**TERMS, "included_kwh": 1_000_001})
        unchanged = (await client.get("/api/v1/subscription-plans")).json()
        changed = await client.put(path, json=TERMS)
        unknown = await client.put(f"/api/v1/subscription-plans/{uuid.uuid4()}", json=TERMS)
        retired = await client.post(f"{path}/retire")
        subscribe = await client.post(
            f"/api/v1/customer-accounts/{account['id']}/subscriptions",
            json={"plan_code": "PLUS", "starts_on": "2027-01-01"},
        )
        reactivated = await client.post(f"{path}/reactivate")

    assert [(r.status_code, r.json()["field"]) for r in (wrong_vat, no_name, too_many)] == [
        (422, "vat_rate"),
        (422, "name"),
        (422, "included_kwh"),
    ]
    assert [{k: p[k] for k in KEYS} for p in unchanged] == [
        {
            "code": "PLUS",
            "name": "Plus",
            "monthly_fee": "9.9900",
            "vat_rate": "19.00",
            "included_kwh": 0,
            "active": True,
        }
    ]
    assert changed.status_code == 200, changed.text
    assert {k: changed.json()[k] for k in KEYS} == {
        "code": "PLUS",
        "name": "Plus 2027",
        "monthly_fee": "12.5000",
        "vat_rate": "7.00",
        "included_kwh": 80,
        "active": True,
    }
    assert unknown.status_code == 404
    assert (retired.status_code, retired.json()["active"]) == (200, False)
    assert (subscribe.status_code, subscribe.json()["field"]) == (404, "plan_code")
    assert (reactivated.status_code, reactivated.json()["active"]) == (200, True)
    async with database.tenant_session(brand.key) as db_session:
        actions = await db_session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity == "subscription_plan")
            .order_by(AuditEntry.id)
        )
        assert list(actions) == [
            "api.subscription_plan.create",
            "api.subscription_plan.update",
            "api.subscription_plan.retire",
            "api.subscription_plan.reactivate",
        ]
