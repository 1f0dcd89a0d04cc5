"""The driver's plan page says how much of the plan's included energy this month's CDRs
used, in the driver's language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.billing.test_cdrs import add_tariff, ocpi_tariff
from tests.billing.test_invoicing import Meter, charge, charging_brand, rate_all
from tests.factories import BERLIN_SELLER
from tests.ocpp.conftest import add_token, gateway, open_charger
from tests.pwa.money_factories import add_driver, form_page, sign_in_as
from voltlane.billing import subscriptions
from voltlane.core.db import Database
from voltlane.tariff import SegmentKind

__all__ = ["gateway", "open_charger"]


@pytest.mark.parametrize(
    ("locale", "used", "offer"),
    [
        ("en_GB", "12.5 of 50 kWh used this month", "50 kWh a month included"),
        ("de_DE", "12,5 von 50 kWh in diesem Monat genutzt", "50 kWh pro Monat inklusive"),
        ("fr_FR", "12,5 sur 50 kWh utilisés ce mois-ci", "50 kWh par mois inclus"),
    ],
)
async def test_the_plan_page_shows_the_included_energy_used_this_month(
    database: Database, make_brand, client_for, open_charger, locale: str, used: str, offer: str
) -> None:
    brand = await charging_brand(database, make_brand, legal=BERLIN_SELLER, locale=locale)
    async with database.tenant_transaction(brand.key) as db_session:
        await subscriptions.create_plan(
            db_session,
            subscriptions.PlanCreate("PLUS", "Plus", Decimal("9.99"), Decimal(19), 50),
            currency="EUR",
        )
    await add_tariff(
        database,
        brand,
        ocpi_tariff("AC-PLUS", {"type": "ENERGY", "price": "0.29", "step_size": 1}),
        segment=SegmentKind.SUBSCRIPTION,
        segment_ref="PLUS",
    )
    account, token = await add_driver(database, brand)
    now = datetime.now(UTC).replace(microsecond=0)
    async with database.tenant_transaction(brand.key) as db_session:
        await subscriptions.subscribe(
            db_session, account, "PLUS", starts_on=(now - timedelta(days=40)).date()
        )
    await add_token(database, brand, "LENA01", account_id=account)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    # Ended a second ago: in this billing month (the test would need to start within a
    # second of the month's first midnight in Berlin to see last month's).
    start, stop = now - timedelta(seconds=2), now - timedelta(seconds=1)
    await charge(cp, Meter(), "LENA01", start.isoformat(), stop.isoformat(), 12_500)
    await rate_all(database, brand)

    async with client_for(f"{brand.slug}.localhost") as client:
        sign_in_as(client, token)
        page, _ = await form_page(client, "/account/subscription")

    assert f'<p data-testid="included-energy">{used}</p>' in page
    assert f'<span class="money-plan-included">{offer}</span>' in page
