"""What the charge tests of the driver app build: a brand that takes cards through the
sandbox PSP, the PSP's hosted card page filled in over HTTP, the app's screens read as a
browser reads them, and the billing jobs run as the worker runs them."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import func, select, update

from tests.api.conftest import api_client
from tests.billing.test_cdrs import ENERGY_039, SESSION_FEE, add_tariff, ocpi_tariff
from tests.factories import BERLIN_SELLER
from tests.fakes.psp import FakeStripe, serve
from tests.ocpp.conftest import add_ocpp_station
from tests.pwa.charge_chargers import READ_AT, charger
from tests.pwa.money_factories import use_fake_stripe
from tests.web.helpers import HTML, csrf_token
from voltlane.billing import invoice_tasks, payment_tasks
from voltlane.billing import tasks as billing_tasks
from voltlane.core.db import Database
from voltlane.models.tenant import (
    Cdr,
    ChargeRequest,
    ChargingSession,
    Evse,
    Invoice,
    Payment,
    SessionStatus,
    StationCommand,
)
from voltlane.ocpp.server import Gateway
from voltlane.pwa.charge import live as live_page
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.worker import JobContext
from voltlane.worker.models import OutboxMessage

EMAIL = "guest@example.com"
CARD_OK = "4242 4242 4242 4242"
CARD_DECLINED_ON_CHARGE = "4000 0000 0000 0341"  # entered fine, every charge declined
CARD_3DS = "4000 0000 0000 3220"  # the bank asks to confirm on entry and on every charge
STATE_RE = re.compile(r'data-testid="charge-state" data-status="([a-z_]+)"')
# The charging point most tests charge at: its station, its EVSE's eMI3 id, the code of it.
APP_STATION = "CP-APP"
APP_EVSE = "DE*TST*E0001*1"
APP_CODE = "DETSTE00011"


@pytest.fixture
def fake_stripe() -> Iterator[tuple[FakeStripe, str]]:
    """The sandbox PSP's Stripe on a local port."""
    fake = FakeStripe()
    with serve(fake) as base:
        yield fake, base


@pytest.fixture(autouse=True)
def screen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The live screen is read half an hour into the session (in every module that imports
    this fixture)."""
    monkeypatch.setattr(live_page, "utcnow", lambda: READ_AT)


def page_csrf(html: str) -> str:
    """The CSRF token every app page hands its HTMX requests (``hx-headers``)."""
    match = re.search(r'"x-csrftoken": "([^"]+)"', html)
    assert match is not None, "the page has no CSRF token"
    return match.group(1)


def text_of(html: str, testid: str) -> str:
    """The text of the element marked ``data-testid=testid`` (up to its first child)."""
    marker = f'data-testid="{testid}">'
    assert marker in html, f"no {testid} in {html}"
    return html.split(marker, 1)[1].split("<", 1)[0].strip()


async def card_brand(
    database: Database,
    make_brand: Any,
    monkeypatch: pytest.MonkeyPatch,
    stripe_url: str,
    station_id: str,
    emi3_id: str | None = None,
    *,
    tariff: bool = True,
) -> TenantInfo:
    """A Berlin brand paying through the sandbox's Stripe, with one 22 kW Type 2 charging
    point ``station_id`` (EVSE 1, eMI3 id ``emi3_id``), 0.39/kWh + 0.50 per session."""
    brand: TenantInfo = await make_brand(payments="stripe", legal=BERLIN_SELLER)
    use_fake_stripe(brand, stripe_url, monkeypatch)
    await add_ocpp_station(database, brand, station_id)
    if emi3_id is not None:
        async with database.tenant_transaction(brand.key) as db_session:
            await db_session.execute(update(Evse).values(emi3_id=emi3_id))
    if tariff:
        await add_tariff(database, brand, ocpi_tariff("AC-STD", ENERGY_039, SESSION_FEE))
    return brand


async def app_brand(
    database: Database,
    make_brand: Any,
    monkeypatch: pytest.MonkeyPatch,
    stripe_url: str,
    *,
    tariff: bool = True,
) -> TenantInfo:
    """``card_brand`` with the charging point most tests use: ``APP_STATION``, whose EVSE 1
    is ``APP_EVSE`` (code ``APP_CODE``)."""
    return await card_brand(
        database, make_brand, monkeypatch, stripe_url, APP_STATION, APP_EVSE, tariff=tariff
    )


@contextlib.asynccontextmanager
async def charging_at(
    app: Litestar,
    gateway: Gateway,
    brand: TenantInfo,
    protocol: str = "ocpp1.6",
    answer: str = "Accepted",
    station_id: str = APP_STATION,
) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    """The brand's booted charger ``station_id`` (answering ``answer``) and a browser on
    the brand's app, for as long as the block lasts."""
    async with (
        charger(gateway, brand, station_id, protocol, answer) as station,
        api_client(app, brand, None) as client,
    ):
        yield station, client


async def start_on_account(
    client: httpx.AsyncClient, code: str = APP_CODE
) -> tuple[httpx.Response, httpx.Response]:
    """A signed-in driver opens the charging point and starts on their account: the
    point's page and the app's answer to the start."""
    point = await client.get(f"/charge/{code}", headers=HTML)
    sent = await client.post(
        f"/charge/{code}/account", data={"_csrf_token": csrf_token(point.text)}, headers=HTML
    )
    return point, sent


def request_id_of(location: str) -> uuid.UUID:
    """The charge request a ``/charge/live/{id}...`` address names."""
    return uuid.UUID(path_of(location).split("/")[3])


@dataclass(frozen=True)
class Billed:
    stop: httpx.Response  # the app's answer to the stop
    request: ChargeRequest
    cdr: Cdr
    receipt_page: httpx.Response  # the live screen once the receipt is there


async def stop_and_bill(
    database: Database,
    settings: Settings,
    brand: TenantInfo,
    client: httpx.AsyncClient,
    request_id: uuid.UUID,
    page: str,
    *,
    htmx: bool = False,
) -> Billed:
    """The driver stops the charge from ``page`` (its CSRF token), the charger ends the
    session, the worker bills it and the driver reads the live screen again."""
    stop = await client.post(
        f"/charge/live/{request_id}/stop",
        data={"_csrf_token": csrf_token(page)},
        headers={**HTML, "HX-Request": "true"} if htmx else HTML,
    )
    request = await charge_request(database, brand, request_id)
    await wait_for_stop(database, brand, request.session_id)
    cdr = await run_billing(database, settings, brand, request.session_id)
    receipt_page = await client.get(f"/charge/live/{request_id}", headers=HTML)
    return Billed(stop, request, cdr, receipt_page)


async def enter_card(redirect_url: str, number: str = CARD_OK) -> str:
    """Fill in the PSP's hosted card page as the driver does (confirming with the bank when
    the card asks for it); returns where the PSP sends the browser back to."""
    async with httpx.AsyncClient(timeout=10) as browser:
        page = await browser.get(redirect_url)
        assert page.status_code == 200, page.text
        action = urlsplit(redirect_url)._replace(query="").geturl()
        sent = await browser.post(action, data={"number": number, "expiry": "12/30", "cvc": "123"})
        assert sent.status_code in (302, 303), sent.text
        if sent.headers["location"].endswith("/challenge"):
            sent = await confirm_with_bank(browser, action + "/challenge")
    return str(sent.headers["location"])


async def confirm_with_bank(browser: httpx.AsyncClient, page_url: str) -> httpx.Response:
    """The bank's 3-D Secure page: the driver confirms."""
    page = await browser.get(page_url)
    assert page.status_code == 200, page.text
    confirmed = await browser.post(page_url, data={"outcome": "complete"})
    assert confirmed.status_code in (302, 303), confirmed.text
    return confirmed


def path_of(absolute: str) -> str:
    parts = urlsplit(absolute)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def begin_as_guest(client: httpx.AsyncClient, code: str) -> httpx.Response:
    """A guest opens the charging point and asks to pay by card: the app's answer, which
    sends the browser to the PSP's hosted card page."""
    page = await client.get(f"/charge/{code}", headers=HTML)
    assert page.status_code == 200, page.text
    sent = await client.post(
        f"/charge/{code}/guest",
        data={"email": EMAIL, "_csrf_token": csrf_token(page.text)},
        headers=HTML,
    )
    assert sent.status_code == 303, sent.text
    return sent


async def pay_as_guest(
    client: httpx.AsyncClient, sent: httpx.Response, number: str = CARD_OK
) -> tuple[uuid.UUID, Any]:
    """The guest enters ``number`` on the PSP's page and comes back: the request's id and
    the app's last answer (after following its redirects)."""
    back = await enter_card(sent.headers["location"], number)
    return request_id_of(back), await follow(client, path_of(back))


async def start_as_guest(
    client: httpx.AsyncClient, code: str, number: str = CARD_OK
) -> tuple[uuid.UUID, Any]:
    """A guest opens the charging point, pays by card on the PSP's page and comes back."""
    return await pay_as_guest(client, await begin_as_guest(client, code), number)


async def follow(client: httpx.AsyncClient, path: str) -> Any:
    """GET ``path`` and the app's redirects after it, as a browser does."""
    answer = await client.get(path, headers=HTML)
    while answer.status_code in (301, 302, 303):
        answer = await client.get(path_of(answer.headers["location"]), headers=HTML)
    return answer


def state_of(html: str) -> str:
    match = STATE_RE.search(html)
    assert match is not None, html
    return match.group(1)


async def wait_for_state(
    client: httpx.AsyncClient, request_id: uuid.UUID, wanted: str, *, energy: str | None = None
) -> str:
    """Poll the live part of the screen (as its HTMX does) until it shows ``wanted`` and,
    when given, the ``energy`` of the charger's first reading (the state turns to charging
    at the start; the reading follows in a message of its own)."""
    html = ""
    for _ in range(100):
        answer = await client.get(
            f"/charge/live/{request_id}/status", headers={**HTML, "HX-Request": "true"}
        )
        assert answer.status_code == 200, answer.text
        html = answer.text
        if state_of(html) == wanted and (energy is None or text_of(html, "live-energy") == energy):
            return html
        await asyncio.sleep(0.05)
    raise AssertionError(f"the charge never reached {wanted} ({energy}): {html}")


async def wait_for_stop(database: Database, brand: TenantInfo, session_id: uuid.UUID) -> None:
    for _ in range(200):
        async with database.tenant_session(brand.key) as db_session:
            found = await db_session.get(ChargingSession, session_id)
        if found is not None and found.status is SessionStatus.FINISHED:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the charger never ended the session")


async def run_billing(
    database: Database, settings: Settings, brand: TenantInfo, session_id: uuid.UUID
) -> Cdr:
    """What the worker does once a session ends: its CDR, the capture, the receipt."""
    jobs = JobContext(database=database, settings=settings)
    await billing_tasks.rate(jobs, tenant=brand.key, session_id=str(session_id))
    cdr = await one(database, brand, select(Cdr).where(Cdr.session_id == session_id))
    await payment_tasks.capture_payment(jobs, tenant=brand.key, cdr_id=str(cdr.id))
    await invoice_tasks.issue_documents_of(jobs, tenant=brand.key)
    return cdr


async def one(database: Database, brand: TenantInfo, stmt: Any) -> Any:
    async with database.tenant_session(brand.key) as db_session:
        found = await db_session.scalar(stmt)
    assert found is not None
    return found


async def rows(database: Database, brand: TenantInfo, stmt: Any) -> list[Any]:
    async with database.tenant_session(brand.key) as db_session:
        return list(await db_session.scalars(stmt))


async def charge_request(database: Database, brand: TenantInfo, request_id: uuid.UUID) -> Any:
    return await one(database, brand, select(ChargeRequest).where(ChargeRequest.id == request_id))


async def payment_of(database: Database, brand: TenantInfo, request_id: uuid.UUID) -> Payment:
    found: Payment = await one(
        database, brand, select(Payment).where(Payment.charge_request_id == request_id)
    )
    return found


async def commands(database: Database, brand: TenantInfo) -> list[StationCommand]:
    return await rows(database, brand, select(StationCommand).order_by(StationCommand.created_at))


async def receipt_of(database: Database, brand: TenantInfo, session_id: uuid.UUID) -> Invoice:
    found: Invoice = await one(
        database, brand, select(Invoice).where(Invoice.session_id == session_id)
    )
    return found


async def queued(database: Database, actor: str, tenant: str) -> int:
    """How many ``actor`` jobs for ``tenant`` were written (the outbox, or the queue it was
    relayed to)."""
    async with database.platform_session() as db_session:
        outbox = await db_session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(
                OutboxMessage.actor_name == actor,
                OutboxMessage.message["kwargs"]["tenant"].astext == tenant,
            )
        )
    return int(outbox or 0)
