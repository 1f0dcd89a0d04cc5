"""Plans, wallet moves and loyalty points in the driver's account, through the real app on a
brand's host."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_date

from tests.factories import BERLIN_SELLER
from tests.pwa.money_factories import (
    BALANCE_RE,
    add_card,
    add_driver,
    errors_of,
    form_page,
    plus_plan,
    rows,
    sign_in_as,
)
from tests.web.helpers import HTML
from voltlane.billing.invoicing import invoice_account
from voltlane.core.clock import month_of
from voltlane.core.db import Database
from voltlane.models.tenant import (
    CustomerAccount,
    LoyaltyEntry,
    LoyaltyKind,
    Subscription,
    WalletEntry,
    WalletKind,
)
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Loyalty


def today_in(brand: TenantInfo) -> date:
    return datetime.now(ZoneInfo(brand.timezone)).date()


async def test_a_plan_needs_a_card_starts_today_and_is_cancelled_at_the_end_of_the_month(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(payments="stripe", legal=BERLIN_SELLER)
    account, token = await add_driver(database, brand)
    plan = await plus_plan(database, brand)
    path = "/account/subscription"
    async with client_for(f"{brand.slug}.localhost") as client:
        sign_in_as(client, token)
        offer, csrf = await form_page(client, path)
        without_plan = await client.post(path, data={"_csrf_token": csrf}, headers=HTML)
        without_card = await client.post(
            path, data={"plan_id": str(plan), "_csrf_token": csrf}, headers=HTML
        )
        nothing_chosen = await rows(database, brand, Subscription)
        await add_card(database, brand, account)
        chosen = await client.post(
            path, data={"plan_id": str(plan), "_csrf_token": csrf}, headers=HTML
        )
        subscribed = (await client.get(chosen.headers["location"], headers=HTML)).text
        twice = await client.post(
            path, data={"plan_id": str(plan), "_csrf_token": csrf}, headers=HTML
        )
        cancelled = await client.post(f"{path}/cancel", data={"_csrf_token": csrf})
        ending = (await client.get(cancelled.headers["location"], headers=HTML)).text

    today = today_in(brand)
    first, last = month_of(today)
    assert '<span class="money-plan-name">Plus</span>' in offer
    assert "€11.89 a month, incl. VAT" in offer
    assert "€0.3451/kWh instead of €0.4641/kWh" in offer  # 0.29 and 0.39 + 19 % VAT
    assert '<span class="muted">(incl. 19 % VAT)</span>' in offer
    assert without_plan.status_code == 422
    assert errors_of(without_plan.text) == {"plan_id": "Choose a plan."}
    assert without_card.status_code == 409
    assert errors_of(without_card.text) == {
        "plan_id": "Add a card under Payment methods before you choose a plan."
    }
    assert nothing_chosen == []
    assert chosen.headers["location"] == f"{path}?notice=chosen"
    renews = format_date(last + timedelta(days=1), format="long", locale="en_GB")
    assert f'data-testid="renews-on">Next month starts on {renews}.' in subscribed
    assert twice.status_code == 409
    assert errors_of(twice.text) == {
        "plan_id": "You have a plan already: cancel it first, then choose the next one."
    }
    ends = format_date(last, format="long", locale="en_GB")
    assert f"Cancelled: your plan ends on {ends}." in ending
    [subscription] = await rows(database, brand, Subscription)
    assert (subscription.plan_id, subscription.starts_on, subscription.ends_on) == (
        plan,
        today,
        last,
    )

    # The fee is billed the way every subscription is: this month's invoice, prorated.
    async with database.tenant_transaction(brand.key) as db_session:
        invoice = await invoice_account(
            db_session, brand, account, first, now=datetime.now(ZoneInfo("UTC"))
        )
    assert invoice is not None
    days, month_days = (last - today).days + 1, (last - first).days + 1
    fee = (Decimal(999) * days / month_days).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    assert (invoice.total_net, invoice.period_start, invoice.period_end) == (int(fee), first, last)


async def test_wallet_moves_come_a_page_at_a_time_newest_first(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    account, token = await add_driver(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        for n in range(21):
            db_session.add(
                WalletEntry(
                    account_id=account,
                    kind=WalletKind.TOPUP,
                    amount=100 * (n + 1),
                    currency="EUR",
                    reference=uuid.uuid4(),
                    created_at=datetime(2026, 11, 1, 8, tzinfo=ZoneInfo("UTC")) + timedelta(n),
                )
            )
    async with client_for(f"{brand.slug}.localhost") as client:
        sign_in_as(client, token)
        first = (await client.get("/account/wallet", headers=HTML)).text
        second = (await client.get("/account/wallet?page=2", headers=HTML)).text
        beyond = await client.get("/account/wallet?page=0", headers=HTML)

    amounts = re.compile(r'<span class="money-move-amount">([^<]+)</span>')
    assert amounts.findall(first) == [f"€{n}.00" for n in range(21, 1, -1)]
    assert amounts.findall(second) == ["€1.00"]
    assert BALANCE_RE.findall(first) == ["€231.00"]
    assert 'href="/account/wallet?page=2" rel="next"' in first
    assert 'href="/account/wallet?page=1" rel="prev"' in second
    assert beyond.status_code == 400


async def test_loyalty_shows_the_rule_the_points_and_switches_redeeming(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(loyalty=Loyalty(10, "0.005", 500))
    account, token = await add_driver(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        for kind, points, day in ((LoyaltyKind.EARN, 725, 2), (LoyaltyKind.REDEEM, -500, 3)):
            at = datetime(2026, 11, day, 8, tzinfo=ZoneInfo("UTC"))
            db_session.add(
                LoyaltyEntry(account_id=account, kind=kind, points=points, created_at=at)
            )
    path = "/account/loyalty"
    async with client_for(f"{brand.slug}.localhost") as client:
        sign_in_as(client, token)
        page, csrf = await form_page(client, path)
        on = await client.post(f"{path}/redeem", data={"redeem": "1", "_csrf_token": csrf})
        switched_on = (await client.get(on.headers["location"], headers=HTML)).text
        redeeming = [a.redeem_points for a in await rows(database, brand, CustomerAccount)]
        bad = await client.post(
            f"{path}/redeem", data={"redeem": "yes", "_csrf_token": csrf}, headers=HTML
        )
        off = await client.post(f"{path}/redeem", data={"_csrf_token": csrf})

    assert 'data-testid="points">225<' in page
    assert (
        "10 points per kWh; from 500 points, each point is worth €0.005 off your next sessions."
        in page
    )
    assert "275 more points until you can spend them." in page
    assert re.findall(r'money-move-amount[^"]*">([^<]+)<', page) == ["-500", "+725"]
    assert (on.headers["location"], off.headers["location"]) == (
        f"{path}?notice=on",
        f"{path}?notice=off",
    )
    assert 'name="redeem" value="1" checked' in switched_on
    assert redeeming == [True]
    assert (bad.status_code, errors_of(bad.text)) == (
        422,
        {"redeem": "Tick the box or leave it empty."},
    )
    assert [a.redeem_points for a in await rows(database, brand, CustomerAccount)] == [False]
