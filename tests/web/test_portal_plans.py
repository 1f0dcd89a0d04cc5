"""Finance > Plans in the operator portal: the brand's subscription plans with the kWh each
includes a billing month and their prices, a form that adds one and one that changes one with
its errors beside the fields, and retiring a plan (no longer offered in the driver app) or
offering it again."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.billing.test_cdrs import add_tariff, ocpi_tariff
from tests.factories import BERLIN_SELLER, add_user
from tests.pwa.money_factories import add_driver, plus_plan, sign_in_as
from tests.web.helpers import HTML, csrf_token, sign_in
from tests.web.test_portal_finance import FINANCE, PASSWORD, READER, add_staff
from voltlane.billing import subscriptions
from voltlane.core.clock import month_of
from voltlane.core.db import Database
from voltlane.models.tenant import AuditEntry, Role, SubscriptionPlan
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo

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


PLAN_ROW_RE = re.compile(r'<span class="money-plan-name">([^<]+)</span>')
CURRENT_RE = re.compile(r'data-testid="current-plan">([^<]+)</p>')
SUPPORT = "support@example.com"


async def plans_of(database: Database, brand: TenantInfo) -> list[tuple[Any, ...]]:
    async with database.tenant_session(brand.key) as db_session:
        plans = await db_session.scalars(select(SubscriptionPlan).order_by(SubscriptionPlan.code))
        return [
            (p.code, p.name, p.monthly_fee, p.vat_rate, p.included_kwh, p.active) for p in plans
        ]


async def audit_of(database: Database, brand: TenantInfo) -> list[tuple[str, Any]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.execute(
            select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.entity == "subscription_plan")
            .order_by(AuditEntry.id)
        )
        return [(action, detail) for action, detail in rows]


async def eco_plan(database: Database, brand: TenantInfo) -> uuid.UUID:
    """Plan ECO: 4.99 a month, no prices of its own."""
    async with database.tenant_transaction(brand.key) as db_session:
        plan = await subscriptions.create_plan(
            db_session,
            subscriptions.PlanCreate("ECO", "Eco", Decimal("4.99"), Decimal(19)),
            currency="EUR",
        )
        return plan.id


async def test_finance_edits_a_plan_with_errors_beside_the_fields_and_sees_its_prices(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await add_staff(database, brand)
    plus = await plus_plan(database, brand)
    await eco_plan(database, brand)
    before = await plans_of(database, brand)
    path = f"/portal/finance/plans/{plus}"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        listed = (await client.get("/portal/finance/plans", headers=HTML)).text
        page = await client.get(path, headers=HTML)
        token = csrf_token(page.text)
        wrong = await client.post(
            path,
            data={
                "name": "",
                "monthly_fee": "12,5.0",
                "vat_rate": "100",
                "included_kwh": "80",
                "_csrf_token": token,
            },
            headers=HTML,
        )
        after_wrong = await plans_of(database, brand)
        saved = await client.post(
            path,
            data={
                "name": "Plus 2027",
                "monthly_fee": "12.5",
                "vat_rate": "7",
                "included_kwh": "80",
                "code": "HACKED",  # the code is not a field of the form: it stays
                "_csrf_token": token,
            },
            headers=HTML,
        )
        after = (await client.get(saved.headers["location"], headers=HTML)).text

    assert f'<a href="{path}">PLUS</a>' in listed
    assert '<td data-prices="PLUS"><a href="/portal/tariffs/AC">AC</a></td>' in listed
    assert (
        "No prices of its own: subscribers pay the member prices, or the public ones where"
        " there are none."
    ) in listed
    assert 'id="monthly_fee" name="monthly_fee" type="text" value="9.99"' in page.text
    assert 'id="vat_rate" name="vat_rate" type="text" value="19"' in page.text
    assert "fee is taken from the plan when its invoice is made, after the month ends" in page.text
    assert 'name="code"' not in page.text
    assert 'hx-confirm="Retire plan PLUS? Drivers can no longer choose it;' in page.text
    assert wrong.status_code == 400
    assert {f: error_of(wrong.text, f) for f in ("name", *PLAN)} == {
        "name": "Enter a name of up to 120 characters.",
        "code": None,
        "monthly_fee": "Enter an amount of 0 or more, with up to 4 decimals.",
        "vat_rate": "Enter a percentage from 0 to under 100.",
        "included_kwh": None,
    }
    assert 'value="12,5.0"' in wrong.text
    assert after_wrong == before
    assert (saved.status_code, saved.headers["location"]) == (
        303,
        "/portal/finance/plans?saved=PLUS",
    )
    assert "Plan PLUS is saved." in after
    assert await plans_of(database, brand) == [
        ("ECO", "Eco", Decimal("4.9900"), Decimal("19.00"), 0, True),
        ("PLUS", "Plus 2027", Decimal("12.5000"), Decimal("7.00"), 80, True),
    ]
    assert await audit_of(database, brand) == [
        (
            "portal.subscription_plan.update",
            {
                "code": "PLUS",
                "name": ["Plus", "Plus 2027"],
                "monthly_fee": ["9.9900", "12.5000"],
                "vat_rate": ["19.00", "7.00"],
                "included_kwh": ["0", "80"],
            },
        )
    ]


async def test_a_retired_plan_is_no_longer_offered_its_subscriber_keeps_it_and_it_comes_back(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(payments="stripe", legal=BERLIN_SELLER)
    await add_staff(database, brand)
    account, driver = await add_driver(database, brand)
    plus = await plus_plan(database, brand)
    await eco_plan(database, brand)
    first, last = month_of(datetime.now(ZoneInfo(brand.timezone)).date())
    async with database.tenant_transaction(brand.key) as db_session:
        await subscriptions.subscribe(db_session, account, "PLUS", starts_on=first)
    path = f"/portal/finance/plans/{plus}"

    async def offers() -> tuple[list[str], list[str]]:
        """The plans the driver app offers, and the driver's own plan."""
        async with client_for(f"{brand.slug}.localhost") as app:
            sign_in_as(app, driver)
            page = await app.get("/account/subscription", headers=HTML)
            return PLAN_ROW_RE.findall(page.text), CURRENT_RE.findall(page.text)

    offered = await offers()
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        token = csrf_token((await client.get(path, headers=HTML)).text)
        retired = await client.post(
            f"{path}/retire", data={"_csrf_token": token}, headers={**HTML, "HX-Request": "true"}
        )
        listed = (await client.get(retired.headers["HX-Redirect"], headers=HTML)).text
        page = (await client.get(path, headers=HTML)).text
    offered_retired = await offers()
    async with database.tenant_transaction(brand.key) as db_session:
        fees = await subscriptions.fees_due(db_session, account, (first, last))
        try:
            await subscriptions.subscribe(
                db_session, account, "PLUS", starts_on=last + timedelta(days=1)
            )
        except subscriptions.PlanNotFoundError as exc:
            refused = exc.detail
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        token = csrf_token((await client.get(path, headers=HTML)).text)
        back = await client.post(f"{path}/reactivate", data={"_csrf_token": token})
        shown = (await client.get(back.headers["location"], headers=HTML)).text
    offered_again = await offers()

    assert offered == (["Eco", "Plus"], ["Plus"])
    assert (retired.status_code, retired.headers["HX-Redirect"]) == (
        200,
        "/portal/finance/plans?retired=PLUS",
    )
    assert "Plan PLUS is retired: drivers can no longer choose it." in listed
    assert "<td>Retired</td>" in listed
    assert f'action="{path}/reactivate"' in page
    assert offered_retired == (["Eco"], ["Plus"])  # no longer offered; its subscriber keeps it
    assert [(f.plan.code, f.first, f.last) for f in fees] == [("PLUS", first, last)]
    assert refused == "no active plan PLUS"
    assert (back.status_code, back.headers["location"]) == (303, f"{path}?reactivated")
    assert "Plan PLUS is offered again." in shown
    assert offered_again == (["Eco", "Plus"], ["Plus"])
    assert [a for a, _ in await audit_of(database, brand)] == [
        "portal.subscription_plan.retire",
        "portal.subscription_plan.reactivate",
    ]


async def test_support_may_read_a_plan_but_not_change_it_and_another_brands_plan_is_404(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    other = await make_brand()
    await add_staff(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, SUPPORT, PASSWORD, Role.SUPPORT, name="Sup Port")
    plus = await plus_plan(database, brand)
    theirs = await eco_plan(database, other)
    before = await plans_of(database, brand)
    path = f"/portal/finance/plans/{plus}"
    terms = {"name": "Free", "monthly_fee": "0", "vat_rate": "19", "included_kwh": "0"}
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, SUPPORT, PASSWORD)
        page = await client.get(path, headers=HTML)
        token = csrf_token(page.text)
        edited = await client.post(path, data={**terms, "_csrf_token": token})
        retired = await client.post(f"{path}/retire", data={"_csrf_token": token})
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        token = csrf_token((await client.get(path, headers=HTML)).text)
        foreign = [
            (await client.get(f"/portal/finance/plans/{theirs}", headers=HTML)).status_code,
            (
                await client.post(
                    f"/portal/finance/plans/{theirs}", data={**terms, "_csrf_token": token}
                )
            ).status_code,
            (
                await client.post(
                    f"/portal/finance/plans/{theirs}/retire", data={"_csrf_token": token}
                )
            ).status_code,
        ]

    assert page.status_code == 200
    assert "<dd>€9.99</dd>" in page.text
    assert f'action="{path}' not in page.text
    assert "Retire plan" not in page.text
    assert (edited.status_code, retired.status_code) == (403, 403)
    assert foreign == [404, 404, 404]
    assert await plans_of(database, brand) == before
    assert await plans_of(database, other) == [
        ("ECO", "Eco", Decimal("4.9900"), Decimal("19.00"), 0, True)
    ]
    assert await audit_of(database, brand) == []


async def test_a_plan_is_edited_in_german_and_its_fee_shown_the_german_way(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locale="de_DE")
    await add_staff(database, brand)
    plus = await plus_plan(database, brand)
    path = f"/portal/finance/plans/{plus}"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get(path, headers=HTML)
        saved = await client.post(
            path,
            data={
                "name": "Plus",
                "monthly_fee": "12,50",
                "vat_rate": "19",
                "included_kwh": "0",
                "_csrf_token": csrf_token(page.text),
            },
        )

    assert 'name="monthly_fee" type="text" value="9,99"' in page.text
    assert "Tarif PLUS einstellen?" in page.text
    assert "Eine neue Gebühr oder ein neuer MwSt.-Satz gilt" in page.text
    assert saved.status_code == 303
    assert await plans_of(database, brand) == [
        ("PLUS", "Plus", Decimal("12.5000"), Decimal("19.00"), 0, True)
    ]


async def test_a_plan_without_tariffs_names_the_tariffs_for_all_plans_its_subscribers_pay(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await add_staff(database, brand)
    await eco_plan(database, brand)
    energy = {"type": "ENERGY", "price": "0.33", "vat": "19", "step_size": 1}
    await add_tariff(database, brand, ocpi_tariff("SUBS", energy), segment=SegmentKind.SUBSCRIPTION)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, READER, PASSWORD)
        listed = (await client.get("/portal/finance/plans", headers=HTML)).text

    cell = listed[
        listed.index('<td data-prices="ECO">') : listed.index(
            "</td>", listed.index('<td data-prices="ECO">')
        )
    ]
    assert (
        "subscribers pay the tariffs for all plans, else the member prices, else the public ones:"
        in cell
    )
    assert '<a href="/portal/tariffs/SUBS">SUBS</a>' in cell
