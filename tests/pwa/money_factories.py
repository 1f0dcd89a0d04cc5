"""What the money tests of the driver app build: a signed-in driver, saved cards, plans."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from tests.billing.test_cdrs import add_tariff, ocpi_tariff
from tests.fakes.psp import FakeStripe, serve
from tests.fakes.webhooks import STRIPE_WEBHOOK_SECRET
from tests.web.helpers import HTML, csrf_token
from voltlane.billing import subscriptions
from voltlane.billing.payment_methods import NewCard, save_card
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.identity.drivers.sessions import open_session
from voltlane.models.tenant import AccountKind, CustomerAccount, DriverLogin, Invoicing
from voltlane.pwa.auth import DRIVER_COOKIE
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo

T = TypeVar("T")

CARD_ROW_RE = re.compile(r'<li class="card" data-card="([^"]+)">')
TOKEN_RE = re.compile(r'name="form_token" value="([^"]+)"')
BALANCE_RE = re.compile(r'data-testid="wallet-balance">([^<]+)<')


@pytest.fixture
def fake_stripe() -> Iterator[tuple[FakeStripe, str]]:
    """The sandbox PSP as the brand's Stripe: its API and its hosted pages."""
    fake = FakeStripe()
    with serve(fake) as url:
        yield fake, url


def errors_of(html: str) -> dict[str, str]:
    """Each form error on the page by the field it stands beside."""
    return dict(re.findall(r'<p class="field-error" id="([a-z_]+)-error">([^<]+)</p>', html))


async def rows(database: Database, brand: TenantInfo, model: type[T], *order: Any) -> list[T]:
    async with database.tenant_session(brand.key) as db_session:
        return list((await db_session.scalars(select(model).order_by(*order))).all())


def use_fake_stripe(brand: TenantInfo, url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The brand's Stripe account is the fake one at ``url``."""
    prefix = f"VOLTLANE_{brand.key.upper()}_"
    monkeypatch.setenv(f"{prefix}STRIPE_API_KEY", "sk_test_brand")
    monkeypatch.setenv(f"{prefix}STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET)
    monkeypatch.setenv(f"{prefix}STRIPE_API_BASE", url)


async def add_driver(
    database: Database, brand: TenantInfo, email: str = "lena@example.com"
) -> tuple[uuid.UUID, str]:
    """A driver with a verified login on ``brand`` and an open app session: the account id
    and the session cookie's token."""
    async with database.tenant_transaction(brand.key) as db_session:
        account = CustomerAccount(
            kind=AccountKind.DRIVER,
            name="Lena Fischer",
            email=email,
            locale=brand.locale,
            street="Torstraße 1",
            postal_code="10119",
            city="Berlin",
            country="DE",
            invoicing=Invoicing.PER_SESSION,
        )
        db_session.add(account)
        await db_session.flush()
        login = DriverLogin(
            account_id=account.id,
            email=email,
            password_hash="not used: the session is opened directly",
            email_verified_at=utcnow(),
        )
        db_session.add(login)
        await db_session.flush()
        token = await open_session(db_session, login, previous_token=None, user_agent="pytest")
        return account.id, token


def sign_in_as(client: AsyncTestClient[Litestar], token: str) -> None:
    client.cookies.set(DRIVER_COOKIE, token)


async def add_card(
    database: Database,
    brand: TenantInfo,
    account_id: uuid.UUID,
    payment_method: str = "pm_card_visa",
    label: str = "Visa •••• 4242",
    expires: str = "12/2030",
) -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        saved = await save_card(
            db_session,
            account_id,
            NewCard("stripe", payment_method, "cus_lena", label, expires),
        )
        return saved.method.id


async def plus_plan(database: Database, brand: TenantInfo) -> uuid.UUID:
    """Plan PLUS: 9.99 a month + 19 % VAT (11.89); 0.29/kWh instead of the members' 0.39
    (excl. VAT)."""
    async with database.tenant_transaction(brand.key) as db_session:
        plan = await subscriptions.create_plan(
            db_session,
            subscriptions.PlanCreate("PLUS", "Plus", Decimal("9.99"), Decimal(19)),
            currency="EUR",
        )
        plan_id = plan.id
    energy = {"type": "ENERGY", "price": "0.39", "vat": "19", "step_size": 1}
    await add_tariff(database, brand, ocpi_tariff("AC", energy), segment=SegmentKind.MEMBER)
    await add_tariff(
        database,
        brand,
        ocpi_tariff("AC", {**energy, "price": "0.29"}),
        segment=SegmentKind.SUBSCRIPTION,
        segment_ref="PLUS",
    )
    return plan_id


async def form_page(client: AsyncTestClient[Litestar], path: str) -> tuple[str, str]:
    """The page at ``path`` (asserted 200) and its CSRF token."""
    page = await client.get(path, headers=HTML)
    assert page.status_code == 200, page.text
    return page.text, csrf_token(page.text)
