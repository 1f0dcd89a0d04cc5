"""A charge from the driver app that does not start: the charger offline, refusing or not
answering, nobody plugging in, the card declined for the hold, 3-D Secure. Each says what
happened and what to do next; every hold placed is released exactly once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import select

from tests.api.conftest import api_client
from tests.fakes.psp import FakeStripe
from tests.fakes.webhooks import stripe_webhook
from tests.ocpp.conftest import gateway
from tests.pwa.charge_chargers import charger
from tests.pwa.charge_support import (
    APP_STATION,
    CARD_3DS,
    CARD_DECLINED_ON_CHARGE,
    app_brand,
    begin_as_guest,
    charge_request,
    charging_at,
    commands,
    confirm_with_bank,
    enter_card,
    fake_stripe,
    follow,
    one,
    path_of,
    pay_as_guest,
    payment_of,
    queued,
    request_id_of,
    rows,
    screen_clock,
    start_as_guest,
    state_of,
    text_of,
    wait_for_state,
)
from tests.web.helpers import HTML, csrf_token
from voltlane.billing.charge_requests import starts
from voltlane.billing.charge_requests import tasks as billing_charge_tasks
from voltlane.billing.charge_requests.tasks import check as check_charge_requests
from voltlane.core.db import Database
from voltlane.models.tenant import (
    ChargeRequestStatus,
    IdToken,
    IdTokenStatus,
    PaymentStatus,
)
from voltlane.ocpp.server import Gateway
from voltlane.settings import Settings
from voltlane.worker import JobContext
from voltlane.worker import outbox as outbox_module

__all__ = ["fake_stripe", "gateway", "screen_clock"]


FAILURE_SENTENCES = {
    "offline": "The charger is offline. Try another charging point; nothing was charged.",
    "rejected": (
        "The charger refused to start. Check that the charging point is free and shows no"
        " fault, or try another one; nothing was charged."
    ),
    "timeout": (
        "The charger did not answer in time. Try again or use another charging point;"
        " nothing was charged."
    ),
    "not_plugged_in": (
        "No car was plugged in in time, so the charge was called off. Start again when your"
        " cable is ready; nothing was charged."
    ),
    "card_declined": "Your card was declined. Try another card; nothing was charged.",
}


@pytest.mark.parametrize("answer", ["offline", "Rejected", "silent"])
async def test_a_start_the_charger_does_not_take_fails_in_words_and_releases_the_hold_once(
    database: Database,
    settings: Settings,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
) -> None:
    fake, stripe_url = fake_stripe
    monkeypatch.setattr(starts, "START_DEADLINE_SECONDS", 1.0)
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url)
    async with api_client(app, brand, None) as client:
        async with charger(gateway, brand, APP_STATION, "ocpp1.6", answer) as station:
            sent = await begin_as_guest(client, "DETSTE00011")
            if answer != "offline":
                request_id, shown = await pay_as_guest(client, sent)
        if answer == "offline":
            # The charger went offline while the guest was on the PSP's page.
            request_id, shown = await pay_as_guest(client, sent)
        jobs = JobContext(database=database, settings=settings)
        await check_charge_requests(jobs, tenant=brand.key)
    failure = {"offline": "offline", "Rejected": "rejected", "silent": "timeout"}[answer]
    request = await charge_request(database, brand, request_id)
    payment = await payment_of(database, brand, request_id)
    [command] = await commands(database, brand)
    token = await one(database, brand, select(IdToken).where(IdToken.id_token == request.id_token))
    assert (request.status, request.failure, request.session_id) == (
        ChargeRequestStatus.FAILED,
        failure,
        None,
    )
    assert (command.status.value, command.action) == (failure, "RemoteStartTransaction")
    assert station.received == ([] if answer == "offline" else [f"start {request.id_token} 1"])
    assert token.status is IdTokenStatus.BLOCKED
    # The hold was placed, then released exactly once, also after the sweep ran.
    assert (payment.status, payment.amount_authorized, payment.amount_captured) == (
        PaymentStatus.CANCELLED,
        5000,
        0,
    )
    assert fake.cancels[payment.psp_reference] == 1
    assert shown.status_code == 200
    assert state_of(shown.text) == "failed"
    assert text_of(shown.text, "failure") == FAILURE_SENTENCES[failure]
    assert 'href="/charge/DETSTE00011"' in shown.text


async def test_a_charge_nobody_plugs_in_for_is_failed_by_the_sweep_and_its_hold_released_once(
    database: Database,
    settings: Settings,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, stripe_url = fake_stripe
    monkeypatch.setattr(starts, "PLUG_IN_TIMEOUT", timedelta(seconds=1))
    monkeypatch.setattr(outbox_module, "_relay", None)  # keep the sweep's jobs to count
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url)
    jobs = JobContext(database=database, settings=settings)
    async with charging_at(app, gateway, brand, "ocpp2.0.1", "Unplugged") as (station, client):
        request_id, waiting = await start_as_guest(client, "DETSTE00011")
        # Nobody watches: the app is closed; the scheduled sweep ends the request.
        await check_charge_requests(jobs, tenant=brand.key)
        early = await charge_request(database, brand, request_id)
        await asyncio.sleep(1.2)
        await billing_charge_tasks.sweep(jobs)
        await check_charge_requests(jobs, tenant=brand.key)
        await check_charge_requests(jobs, tenant=brand.key)
        shown = await client.get(f"/charge/live/{request_id}", headers=HTML)
    request = await charge_request(database, brand, request_id)
    payment = await payment_of(database, brand, request_id)
    assert station.received == [f"start {request.id_token} Central 1"]
    assert state_of(waiting.text) == "starting"
    assert text_of(waiting.text, "plug-in") == "Plug in your cable"
    assert early.status is ChargeRequestStatus.STARTING
    assert (request.status, request.failure) == (ChargeRequestStatus.FAILED, "not_plugged_in")
    assert payment.status is PaymentStatus.CANCELLED
    assert fake.cancels[payment.psp_reference] == 1
    assert text_of(shown.text, "failure") == FAILURE_SENTENCES["not_plugged_in"]
    assert await queued(database, billing_charge_tasks.CHECK, brand.key) >= 1


async def test_a_card_the_bank_declines_for_the_hold_starts_nothing(
    database: Database,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, stripe_url = fake_stripe
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url)
    async with charging_at(app, gateway, brand, "ocpp1.6") as (station, client):
        request_id, shown = await start_as_guest(client, "DETSTE00011", CARD_DECLINED_ON_CHARGE)
    request = await charge_request(database, brand, request_id)
    payment = await payment_of(database, brand, request_id)
    assert (request.status, request.failure) == (ChargeRequestStatus.FAILED, "card_declined")
    assert payment.status is PaymentStatus.FAILED
    assert station.received == []
    assert await commands(database, brand) == []
    assert await rows(database, brand, select(IdToken)) == []
    assert sum(fake.cancels.values()) == 0
    assert text_of(shown.text, "failure") == FAILURE_SENTENCES["card_declined"]


async def test_3d_secure_sends_the_driver_to_the_bank_and_the_charge_starts_once_authorized(
    database: Database,
    make_brand: Any,
    app: Litestar,
    gateway: Gateway,
    fake_stripe: tuple[FakeStripe, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, stripe_url = fake_stripe
    brand = await app_brand(database, make_brand, monkeypatch, stripe_url)
    async with charging_at(app, gateway, brand, "ocpp1.6") as (station, client):
        sent = await begin_as_guest(client, "DETSTE00011")
        back = await enter_card(sent.headers["location"], CARD_3DS)
        request_id = request_id_of(back)
        to_bank = await client.get(path_of(back), headers=HTML)
        to_bank = await client.get(path_of(to_bank.headers["location"]), headers=HTML)
        bank_url = to_bank.headers["location"]
        async with httpx.AsyncClient(timeout=10) as browser:
            confirmed = await confirm_with_bank(browser, bank_url)
        returned = await follow(client, path_of(confirmed.headers["location"]))
        waiting = await charge_request(database, brand, request_id)
        # The PSP tells the platform that the hold is authorized now.
        payment = await payment_of(database, brand, request_id)
        body, headers = stripe_webhook(
            "evt_3ds_1",
            "payment_intent.amount_capturable_updated",
            fake.intents[payment.psp_reference],
        )
        hook = await client.post("/api/webhooks/payments", content=body, headers=headers)
        retry = await client.post(
            f"/charge/live/{request_id}/retry",
            data={"_csrf_token": csrf_token(returned.text)},
            headers=HTML,
        )
        live = await wait_for_state(client, request_id, "charging", energy="3.50 kWh")
    request = await charge_request(database, brand, request_id)
    assert to_bank.status_code == 303
    assert bank_url.startswith(f"{stripe_url}/authenticate/{payment.psp_reference}?return_url=")
    assert quote(f"/charge/live/{request_id}/card", safe="") in bank_url
    assert waiting.status is ChargeRequestStatus.AUTHORIZING
    assert state_of(returned.text) == "authorizing"
    assert text_of(returned.text, "bank-link") == "Confirm with your bank"
    assert hook.status_code == 200
    assert retry.status_code == 303
    assert (await payment_of(database, brand, request_id)).status is PaymentStatus.AUTHORIZED
    assert station.received[0] == f"start {request.id_token} 1"
    assert text_of(live, "live-energy") == "3.50 kWh"
