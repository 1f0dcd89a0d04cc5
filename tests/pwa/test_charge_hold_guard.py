"""The hold guard: a charge paid from a hold on the driver's card is stopped once its cost
so far reaches 95 % of the hold, and the driver's screen says why."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import select, update

from tests.fakes.psp import FakeStripe
from tests.ocpp.conftest import gateway
from tests.pwa.charge_support import (
    app_brand,
    charge_request,
    charging_at,
    commands,
    fake_stripe,
    payment_of,
    request_id_of,
    screen_clock,
    start_on_account,
    text_of,
    wait_for_state,
    wait_for_stop,
)
from tests.pwa.money_factories import add_card, add_driver, sign_in_as
from tests.web.helpers import HTML
from voltlane.billing.charge_requests import tasks as charge_tasks
from voltlane.billing.charge_requests.guard import stop_at
from voltlane.core.db import Database
from voltlane.models.platform import Tenant
from voltlane.models.tenant import ChargeRequestStatus
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext

__all__ = ["fake_stripe", "gateway", "screen_clock"]


async def hold_of(database: Database, brand: TenantInfo, amount: int) -> None:
    """The brand reserves ``amount`` on a card before each start (``[app] pre_authorization``)."""
    async with database.platform_transaction() as db_session:
        tenant = await db_session.scalar(select(Tenant).where(Tenant.key == brand.key))
        assert tenant is not None
        profile = dict(tenant.profile)
        profile["app"] = {**(profile.get("app") or {}), "pre_authorization": amount}
        await db_session.execute(
            update(Tenant).where(Tenant.id == tenant.id).values(profile=profile)
        )


def test_the_stop_point_is_95_percent_of_the_hold_rounded_down() -> None:
    assert (stop_at(5000), stop_at(200), stop_at(199), stop_at(1)) == (4750, 190, 189, 0)


@pytest.mark.parametrize(("held", "stopped"), [(200, True), (5000, False)])
async def test_a_charge_on_a_card_stops_when_its_cost_reaches_the_hold(
    held: int,
    stopped: bool,
    database: Database,
    settings: Settings,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, stripe_url = fake_stripe
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url)
    await hold_of(database, brand, held)
    account_id, token = await add_driver(database, brand)
    await add_card(database, brand, account_id)
    jobs = JobContext(database=database, settings=settings)
    async with charging_at(app, gateway, brand) as (station, client):
        sign_in_as(client, token)
        _, started = await start_on_account(client)
        request_id = request_id_of(started.headers["location"])
        await wait_for_state(client, request_id, "charging")
        # 3.5 kWh so far at 0.39/kWh + 0.50, VAT 19 %: 2.22 on the live screen.
        await charge_tasks.guard(jobs, tenant=brand.key)
        if stopped:
            request = await charge_request(database, brand, request_id)
            await wait_for_stop(database, brand, request.session_id)
            # The next sweep finds nothing more to stop.
            await charge_tasks.guard(jobs, tenant=brand.key)
        page = await client.get(f"/charge/live/{request_id}", headers=HTML)
        received = list(station.received)
    payment = await payment_of(database, brand, request_id)
    asked = [c.requested_by for c in await commands(database, brand)]
    assert payment.amount_authorized == held
    if stopped:
        assert asked.count(f"hold guard {request_id}") == 1
        assert received[-1] == "stop 1"  # the charger was asked to stop its transaction
        assert text_of(page.text, "hold-reached") == (
            "Charging stopped because its cost reached the €2.00 reserved on your card."
        )
        request = await charge_request(database, brand, request_id)
        assert (request.status, request.failure) == (ChargeRequestStatus.FINISHED, "hold_reached")
    else:
        assert not any(by and by.startswith("hold guard") for by in asked)
        assert not any(r.startswith("stop") for r in received)
        assert 'data-testid="hold-reached"' not in page.text
