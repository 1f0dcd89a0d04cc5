"""Finance > Plans in the operator portal: the brand's subscription plans with the kWh each
includes a billing month, and a form that adds one with its errors beside the fields."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from tests.web.helpers import HTML, csrf_token, sign_in
from tests.web.test_portal_finance import FINANCE, PASSWORD, READER, add_staff
from voltlane.core.db import Database
from voltlane.models.tenant import AuditEntry, SubscriptionPlan

PLAN = {
    "code": "PLUS",
    "name": "Plus",
    "monthly_fee": "9.99",
    "vat_rate": "19",
    "included_kwh": "50",
}


def error_of(page: str, field: str) -> str | None:
    start = page.find(f'<p class="field-error" id="{field}-error">')
    if start < 0:
        return None
    return page[page.index(">", start) + 1 : page.index("</p>", start)]


async def test_finance_adds_a_plan_with_included_kwh_and_sees_errors_beside_the_fields(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await add_staff(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        empty = await client.get("/portal/finance/plans", headers=HTML)
        token = csrf_token(empty.text)
        wrong = await client.post(
            "/portal/finance/plans",
            data={
                **PLAN,
                "code": "no spaces",
                "monthly_fee": "-1",
                "included_kwh": "12.5",
                "_csrf_token": token,
            },
            headers=HTML,
        )
        too_many = await client.post(
            "/portal/finance/plans",
            data={**PLAN, "included_kwh": "1000001", "_csrf_token": token},
            headers=HTML,
        )
        added = await client.post(
            "/portal/finance/plans", data={**PLAN, "_csrf_token": token}, headers=HTML
        )
        listed = await client.get(added.headers["location"], headers=HTML)
        twice = await client.post(
            "/portal/finance/plans", data={**PLAN, "_csrf_token": token}, headers=HTML
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        read_only = await client.get("/portal/finance/plans", headers=HTML)
        refused = await client.post(
            "/portal/finance/plans",
            data={**PLAN, "code": "GOLD", "_csrf_token": csrf_token(read_only.text)},
        )

    assert "No plans yet." in empty.text
    assert '<a href="/portal/finance/plans" aria-current="page">Plans</a>' in empty.text
    assert wrong.status_code == 400
    assert {f: error_of(wrong.text, f) for f in PLAN} == {
        "code": "Up to 36 letters, digits, - or _.",
        "name": None,
        "monthly_fee": "Enter an amount of 0 or more, with up to 4 decimals.",
        "vat_rate": None,
        "included_kwh": "Enter whole kWh from 0 to 1,000,000 (0: none included).",
    }
    assert 'value="12.5"' in wrong.text  # what was typed stays in the field
    assert error_of(too_many.text, "included_kwh") == (
        "Enter whole kWh from 0 to 1,000,000 (0: none included)."
    )
    assert (added.status_code, added.headers["location"]) == (
        303,
        "/portal/finance/plans?added=PLUS",
    )
    assert '<td class="num">50</td>' in listed.text
    assert "Plan PLUS is added." in listed.text
    assert (twice.status_code, error_of(twice.text, "code")) == (
        400,
        "A plan with this code exists.",
    )
    assert 'action="/portal/finance/plans"' not in read_only.text
    assert '<td class="num">50</td>' in read_only.text
    assert refused.status_code == 403
    async with database.tenant_session(brand.key) as db_session:
        plans = (await db_session.scalars(select(SubscriptionPlan))).all()
        audit = await db_session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity == "subscription_plan")
        )
        assert [(p.code, p.monthly_fee, p.vat_rate, p.included_kwh) for p in plans] == [
            ("PLUS", Decimal("9.9900"), Decimal("19.00"), 50)
        ]
        assert list(audit) == ["portal.subscription_plan.create"]


async def test_the_plan_form_speaks_german(database: Database, make_brand, client_for) -> None:
    brand = await make_brand(locale="de_DE")
    await add_staff(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get("/portal/finance/plans", headers=HTML)
        wrong = await client.post(
            "/portal/finance/plans",
            data={
                **PLAN,
                "monthly_fee": "9,99",
                "included_kwh": "-3",
                "_csrf_token": csrf_token(page.text),
            },
            headers=HTML,
        )

    assert "Inklusive kWh pro Monat" in page.text
    assert error_of(wrong.text, "monthly_fee") is None  # 9,99 is a German amount
    assert error_of(wrong.text, "included_kwh") == (
        "Geben Sie ganze kWh von 0 bis 1.000.000 ein (0: keine inklusive)."
    )
