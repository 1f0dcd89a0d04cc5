"""After 3-D Secure the charge's screen polls by itself (every 2 seconds) and starts the
charge as soon as the PSP's webhook has told that the hold is authorized: nobody taps
"Try again". The time to plug in is one constant, shown to the driver and kept by the
sweep."""

from __future__ import annotations

import html
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.api.conftest import api_client
from tests.fakes.psp import FakeStripe
from tests.fakes.webhooks import stripe_webhook
from tests.ocpp.conftest import gateway
from tests.pwa.charge_chargers import charger
from tests.pwa.charge_support import (
    CARD_3DS,
    begin_as_guest,
    card_brand,
    charge_request,
    confirm_with_bank,
    enter_card,
    fake_stripe,
    follow,
    path_of,
    payment_of,
    screen_clock,
    state_of,
    text_of,
)
from tests.web.helpers import HTML
from voltlane.billing.charge_requests import PLUG_IN_TIMEOUT, plug_in_minutes
from voltlane.billing.charge_requests import tasks as charge_request_tasks
from voltlane.core.db import Database
from voltlane.models.tenant import ChargeRequestStatus, PaymentStatus
from voltlane.ocpp.server import Gateway

__all__ = ["fake_stripe", "gateway", "screen_clock"]

WAITING = (
    "Once you have confirmed, we wait for your bank's answer to reach us: this page moves on"
    " by itself, and charging starts."
)


async def poll(client: httpx.AsyncClient, request_id: uuid.UUID) -> str:
    """One poll of the screen's live part, as its HTMX makes it."""
    answer = await client.get(
        f"/charge/live/{request_id}/status", headers={**HTML, "HX-Request": "true"}
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def test_the_plug_in_time_is_one_constant_the_sweep_runs_well_inside() -> None:
    assert timedelta(minutes=2) == PLUG_IN_TIMEOUT
    assert plug_in_minutes() == 2
    assert timedelta(seconds=30) == charge_request_tasks.SWEEP_EVERY


async def test_after_3d_secure_the_screen_polls_and_starts_once_the_webhook_arrived(
    database: Database,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, stripe_url = fake_stripe
    brand = await card_brand(
        database, make_brand, monkeypatch, stripe_url, "CP-APP", emi3_id="DE*TST*E0001*1"
    )
    # The charger accepts the start; the driver has not plugged in yet.
    async with (
        charger(gateway, brand, "CP-APP", "ocpp1.6", answer="Unplugged") as station,
        api_client(app, brand, None) as client,
    ):
        sent = await begin_as_guest(client, "DETSTE00011")
        back = await enter_card(sent.headers["location"], CARD_3DS)
        request_id = uuid.UUID(path_of(back).split("/")[3])
        to_bank = await client.get(path_of(back), headers=HTML)
        to_bank = await client.get(path_of(to_bank.headers["location"]), headers=HTML)
        async with httpx.AsyncClient(timeout=10) as browser:
            confirmed = await confirm_with_bank(browser, to_bank.headers["location"])
        returned = await follow(client, path_of(confirmed.headers["location"]))
        # No word from the PSP yet: the poll shows the same, asks nobody to start.
        before = await poll(client, request_id)
        asked_before = list(station.received)
        payment = await payment_of(database, brand, request_id)
        body, headers = stripe_webhook(
            "evt_3ds_wait",
            "payment_intent.amount_capturable_updated",
            fake.intents[payment.psp_reference],
        )
        hook = await client.post("/api/webhooks/payments", content=body, headers=headers)
        after = await poll(client, request_id)
        request = await charge_request(database, brand, request_id)

    assert state_of(returned.text) == "authorizing"
    assert 'hx-trigger="every 2s"' in returned.text
    assert html.unescape(text_of(returned.text, "waiting-bank")) == WAITING
    assert text_of(returned.text, "bank-link") == "Confirm with your bank"
    assert state_of(before) == "authorizing"
    assert 'hx-trigger="every 2s"' in before
    assert asked_before == []
    assert hook.status_code == 200
    # The first poll after the webhook started the charge.
    assert (await payment_of(database, brand, request_id)).status is PaymentStatus.AUTHORIZED
    assert request.status is ChargeRequestStatus.STARTING
    assert station.received == [f"start {request.id_token} 1"]
    assert state_of(after) == "starting"
    assert 'hx-trigger="every 5s"' in after
    assert text_of(after, "plug-in-time") == (
        "The charger is ready. Plug the cable into your car within 2 minutes: charging starts"
        " by itself."
    )
