"""The driver's account in the app, over HTTP on a brand's host: sign-up with its e-mail,
sign-in and out, reset, the account pages, cards, receipts, deletion, isolation."""

from __future__ import annotations

import re
import uuid
from email.header import decode_header, make_header
from email.message import Message

import pytest
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient
from markupsafe import escape
from sqlalchemy import func, select

import voltlane.identity.tasks  # noqa: F401 - registers identity.send_notification
from tests.billing.test_invoicing import Meter, charge, charging_brand, issue, rate_all
from tests.fakes.smtp import smtp_server
from tests.ocpp.conftest import add_token, gateway, open_charger
from tests.web.helpers import HTML, csrf_token
from voltlane.core.db import Database
from voltlane.core.mail import SmtpServer
from voltlane.identity.drivers import accounts, cards
from voltlane.identity.notifications import send_notification
from voltlane.models.tenant import (
    CustomerAccount,
    DriverLogin,
    DriverSession,
    IdToken,
    IdTokenStatus,
    IdTokenType,
    Invoice,
    Notification,
)
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.web.i18n import translations

__all__ = ["gateway", "open_charger"]

PASSWORD = "charge-it-up-42"
LOCALES = ["en_GB", "de_DE"]
Client = AsyncTestClient[Litestar]


def host(brand: TenantInfo) -> str:
    return f"{brand.slug}.localhost"


async def post_form(
    client: Client, path: str, data: dict[str, str], *, page: str | None = None
) -> Response:
    """Open ``page`` (default: ``path``) for its CSRF token, then send the form to ``path``."""
    opened = await client.get(page or path, headers=HTML)
    assert opened.status_code == 200, opened.text
    return await client.post(
        path, data={**data, "_csrf_token": csrf_token(opened.text)}, headers=HTML
    )


def sign_up_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Lena Fischer",
        "email": "lena@example.com",
        "password": PASSWORD,
        "country": "DE",
        "locale": "de_DE",
        "terms": "1",
        **overrides,
    }


async def sign_in(
    client: Client, email: str, password: str = PASSWORD, next_path: str = "/account"
) -> Response:
    return await post_form(
        client,
        "/account/sign-in",
        {"email": email, "password": password, "next": next_path},
    )


async def driver(
    database: Database,
    brand: TenantInfo,
    email: str = "lena@example.com",
    *,
    verified: bool = True,
    name: str = "Lena Fischer",
) -> DriverLogin:
    """A driver who signed up (and opened their link unless ``verified`` is False)."""
    async with database.tenant_transaction(brand.key) as db_session:
        data = accounts.SignUp(name, email, PASSWORD, "DE", "en_GB", accepted_terms=True)
        login, token = await accounts.sign_up(db_session, data, locales=LOCALES)
        if verified:
            await accounts.verify_email(db_session, token)
    return login


async def count(database: Database, brand: TenantInfo, model: type) -> int:
    async with database.tenant_session(brand.key) as db_session:
        return int(await db_session.scalar(select(func.count()).select_from(model)) or 0)


def field_error(field: str, message: str) -> str:
    return f'<p class="field-error" id="{field}-error">{message}</p>'


async def delivered(database: Database, brand: TenantInfo, kind: str) -> Message:
    """The outbox e-mail of ``kind`` sent through a real (fake) SMTP server."""
    async with database.tenant_session(brand.key) as db_session:
        notification = await db_session.scalar(
            select(Notification)
            .where(Notification.kind == kind)
            .order_by(Notification.created_at.desc())
        )
    assert notification is not None
    with smtp_server() as (fake, url):
        sent = await send_notification(
            database,
            brand.key,
            notification.id,
            server=SmtpServer.parse(url),
            sender_name=brand.name,
            sender="app@brand.example",
        )
    assert sent is True
    (message,) = fake.messages
    return message


def link_in(message: Message, host_name: str) -> str:
    body = message.get_payload(decode=True)
    assert isinstance(body, bytes)
    match = re.search(
        rf"http://{re.escape(host_name)}(/account/[a-z]+/[A-Za-z0-9_-]+)", body.decode()
    )
    assert match is not None, body
    return match.group(1)


# -- sign-up ---------------------------------------------------------------------------------


async def test_sign_up_shows_every_error_beside_its_field_and_writes_nothing(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    async with client_for(host(brand)) as client:
        response = await post_form(
            client,
            "/account/sign-up",
            sign_up_form(
                name="", email="nope", password="short", country="", locale="xx", terms=""
            ),
        )
    assert response.status_code == 400
    for field, message in (
        ("name", "Enter your name."),
        ("email", "Enter a valid e-mail address."),
        ("password", "Choose a password of 10 to 256 characters."),
        ("country", "Choose your country."),
        ("locale", "Choose one of the languages offered."),
        ("terms", "Accept the terms of use to create an account."),
    ):
        assert field_error(field, message) in response.text
    assert 'value="nope"' in response.text
    assert PASSWORD not in response.text
    assert await count(database, brand, CustomerAccount) == 0


async def test_an_address_with_an_account_gets_an_error_beside_the_email_field(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    await driver(database, brand)
    async with client_for(host(brand)) as client:
        response = await post_form(
            client, "/account/sign-up", sign_up_form(email="LENA@example.com", name="Other")
        )
    assert response.status_code == 400
    assert (
        field_error(
            "email",
            "This address cannot be used for a new account. If it is yours, sign in or reset"
            " your password.",
        )
        in response.text
    )
    assert "Lena Fischer" not in response.text
    assert await count(database, brand, CustomerAccount) == 1


async def test_sign_up_signs_in_and_mails_the_link_that_confirms_the_address(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    async with client_for(host(brand)) as client:
        created = await post_form(client, "/account/sign-up", sign_up_form())
        cookie = created.headers.get_list("set-cookie")
        home = await client.get("/account", headers=HTML)
        message = await delivered(database, brand, "driver.verify")
        link = link_in(message, host(brand))
        verified = await client.get(link, headers=HTML)
        after = await client.get(verified.headers["location"], headers=HTML)
        again = await client.get(link, headers=HTML)
    assert (created.status_code, created.headers["location"]) == (303, "/account?welcome=1")
    session_cookie = next(c for c in cookie if c.startswith("vl_driver="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie or "SameSite=Lax" in session_cookie
    assert "Max-Age=2592000" in session_cookie
    assert "Path=/" in session_cookie
    assert any(c.startswith("vl_lang=de_DE") for c in cookie)
    assert home.status_code == 200
    assert '<strong data-testid="driver-name">Lena Fischer</strong>' in home.text
    assert 'id="verify-banner"' in home.text
    assert message["To"] == "lena@example.com"
    # In the driver's language (German, chosen at sign-up), from the brand's catalog.
    german = translations("de_DE").gettext("%(brand)s: confirm your e-mail address")
    assert german != "%(brand)s: confirm your e-mail address"
    assert str(make_header(decode_header(message["Subject"]))) == german % {"brand": brand.name}
    assert (verified.status_code, verified.headers["location"]) == (
        303,
        "/account?notice=verified",
    )
    assert 'id="verify-banner"' not in after.text
    confirmed = translations("de_DE").gettext("Your e-mail address is confirmed. Thank you.")
    assert (
        f'<p class="banner banner-success" role="status" id="notice">{escape(confirmed)}</p>'
        in (after.text)
    )
    assert again.status_code == 404
    gone = translations("de_DE").gettext("This link does not work any more")
    assert f"<h1>{escape(gone)}</h1>" in again.text
    async with database.tenant_session(brand.key) as db_session:
        account = await db_session.scalar(select(CustomerAccount))
        login = await db_session.scalar(select(DriverLogin))
    assert account is not None
    assert login is not None
    assert (account.name, account.email, account.locale, account.country) == (
        "Lena Fischer",
        "lena@example.com",
        "de_DE",
        "DE",
    )
    assert login.email_verified_at is not None


# -- sign-in, sign-out, reset -------------------------------------------------------------------


async def test_sign_in_errors_stand_beside_their_fields_and_wrong_credentials_say_little(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    await driver(database, brand)
    async with client_for(host(brand)) as client:
        empty = await post_form(client, "/account/sign-in", {"email": "", "password": ""})
        wrong = await sign_in(client, "lena@example.com", "not the password")
        unknown = await sign_in(client, "nobody@example.com", "not the password")
    assert empty.status_code == 400
    assert field_error("email", "Enter your e-mail address.") in empty.text
    assert field_error("password", "Enter your password.") in empty.text
    generic = '<p class="alert" role="alert" id="form-error">E-mail or password is not correct.</p>'
    assert (wrong.status_code, unknown.status_code) == (400, 400)
    assert generic in wrong.text
    assert generic in unknown.text
    assert 'value="lena@example.com"' in wrong.text
    assert "vl_driver" not in wrong.cookies


async def test_failed_sign_ins_are_throttled_with_retry_after(
    database: Database, make_brand, client_for, settings: Settings
) -> None:
    brand = await make_brand(locales=LOCALES)
    await driver(database, brand)
    async with client_for(host(brand)) as client:
        for attempt in range(settings.login_max_failures):
            assert (
                await sign_in(client, "lena@example.com", f"wrong {attempt}")
            ).status_code == 400
        throttled = await sign_in(client, "lena@example.com")
    assert throttled.status_code == 429
    assert 0 < int(throttled.headers["retry-after"]) <= settings.login_window_minutes * 60 + 1
    assert (
        f"Too many failed sign-ins. Try again in {settings.login_window_minutes} minutes."
        in throttled.text
    )
    assert await count(database, brand, DriverSession) == 0


async def test_sign_in_rotates_the_session_and_sign_out_ends_it(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    await driver(database, brand)
    async with client_for(host(brand)) as client:
        anonymous = await client.get("/account/history?page=2", headers=HTML)
        first = await sign_in(client, "lena@example.com", next_path="/account/history?page=2")
        first_cookie = client.cookies["vl_driver"]
        second = await sign_in(client, "lena@example.com")
        second_cookie = client.cookies["vl_driver"]
        client.cookies.set("vl_driver", first_cookie, domain=host(brand))
        stale = await client.get("/account", headers=HTML)
        client.cookies.set("vl_driver", second_cookie, domain=host(brand))
        page = await client.get("/account", headers=HTML)
        out = await client.post(
            "/account/sign-out", data={"_csrf_token": csrf_token(page.text)}, headers=HTML
        )
        client.cookies.set("vl_driver", second_cookie, domain=host(brand))
        after = await client.get("/account", headers=HTML)
    assert (anonymous.status_code, anonymous.headers["location"]) == (
        303,
        "/account/sign-in?next=/account/history%3Fpage%3D2",
    )
    assert (first.status_code, first.headers["location"]) == (303, "/account/history?page=2")
    assert (second.status_code, second.headers["location"]) == (303, "/account")
    assert first_cookie != second_cookie
    assert stale.status_code == 303
    assert page.status_code == 200
    # The cookie slides with the session: set again on every page for a signed-in driver.
    assert "Max-Age=2592000" in page.headers["set-cookie"]
    assert (out.status_code, out.headers["location"]) == (303, "/account/sign-in?notice=signed_out")
    assert after.status_code == 303
    assert await count(database, brand, DriverSession) == 0


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"]
)
async def test_next_only_leads_to_a_path_on_this_host(
    database: Database, make_brand, client_for, target: str
) -> None:
    brand = await make_brand(locales=LOCALES)
    await driver(database, brand)
    async with client_for(host(brand)) as client:
        response = await sign_in(client, "lena@example.com", next_path=target)
    assert (response.status_code, response.headers["location"]) == (303, "/account")


async def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    await driver(database, brand)
    async with client_for(host(brand)) as phone:
        await sign_in(phone, "lena@example.com")
        phone_cookie = phone.cookies["vl_driver"]
    async with client_for(host(brand)) as laptop:
        unknown = await post_form(laptop, "/account/forgot", {"email": "nobody@example.com"})
        known = await post_form(laptop, "/account/forgot", {"email": "lena@example.com"})
        link = link_in(await delivered(database, brand, "driver.reset"), host(brand))
        mismatch = await post_form(
            laptop, link, {"password": "a-new-password-7", "password_again": "another-one-8"}
        )
        weak = await post_form(laptop, link, {"password": "short", "password_again": "short"})
        done = await post_form(
            laptop, link, {"password": "a-new-password-7", "password_again": "a-new-password-7"}
        )
        used = await laptop.get(link, headers=HTML)
        laptop.cookies.set("vl_driver", phone_cookie, domain=host(brand))
        phone_after = await laptop.get("/account", headers=HTML)
        old = await sign_in(laptop, "lena@example.com")
        new = await sign_in(laptop, "lena@example.com", "a-new-password-7")
    sent = "we sent a link to it. The link works for one hour."
    assert (unknown.status_code, known.status_code) == (200, 200)
    assert sent in unknown.text
    assert sent in known.text
    assert await count(database, brand, Notification) == 1  # none for the unknown address
    assert mismatch.status_code == 400
    assert field_error("password_again", "The two passwords are not the same.") in mismatch.text
    assert field_error("password", "Choose a password of 10 to 256 characters.") in weak.text
    assert (done.status_code, done.headers["location"]) == (303, "/account/sign-in?notice=reset")
    assert used.status_code == 404
    assert phone_after.status_code == 303
    assert old.status_code == 400
    assert new.status_code == 303


# -- account pages ---------------------------------------------------------------------------


async def test_the_account_home_links_every_part_of_the_account(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    await driver(database, brand, verified=False)
    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        home = await client.get("/account", headers=HTML)
        resend = await post_form(client, "/account/verify", {}, page="/account")
    assert home.status_code == 200
    for path in (
        "/account/history",
        "/account/cards",
        "/account/payment-methods",
        "/account/subscription",
        "/account/wallet",
        "/account/profile",
        "/account/delete",
    ):
        assert f'href="{path}"' in home.text
    assert "Until then you cannot start charging on your account." in home.text
    assert (resend.status_code, resend.headers["location"]) == (
        303,
        "/account?notice=verify_sent",
    )


async def test_profile_errors_stand_beside_their_fields_and_saved_details_print_next(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await driver(database, brand)
    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        bad = await post_form(
            client,
            "/account/profile",
            {
                "name": "",
                "street": "x" * 201,
                "postal_code": "",
                "city": "",
                "country": "ZZ",
                "vat_id": "123",
            },
        )
        saved = await post_form(
            client,
            "/account/profile",
            {
                "name": "Lena Fischer-Weber",
                "street": "Torstraße 1",
                "postal_code": "10119",
                "city": "Berlin",
                "country": "DE",
                "vat_id": "de 123 456 789",
            },
        )
    assert bad.status_code == 400
    assert field_error("name", "Enter your name.") in bad.text
    assert field_error("street", "At most 200 characters.") in bad.text
    assert field_error("country", "Choose your country.") in bad.text
    assert (
        field_error("vat_id", "Enter a VAT id with its country prefix, e.g. DE123456789.")
        in bad.text
    )
    assert (saved.status_code, saved.headers["location"]) == (303, "/account?notice=profile")
    async with database.tenant_session(brand.key) as db_session:
        account = await db_session.get(CustomerAccount, login.account_id)
    assert account is not None
    assert (account.name, account.street, account.postal_code, account.city, account.vat_id) == (
        "Lena Fischer-Weber",
        "Torstraße 1",
        "10119",
        "Berlin",
        "DE123456789",
    )


async def test_the_chosen_language_is_saved_and_the_pages_follow_it(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await driver(database, brand)
    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        refused = await post_form(client, "/account/language", {"locale": "fr_FR"}, page="/account")
        chosen = await post_form(client, "/account/language", {"locale": "de_DE"}, page="/account")
        page = await client.get("/account", headers=HTML)
    assert refused.status_code == 400
    assert field_error("locale", "Choose one of the languages offered.") in refused.text
    assert (chosen.status_code, chosen.headers["location"]) == (303, "/account?notice=language")
    assert "vl_lang=de_DE" in chosen.headers["set-cookie"]
    assert '<html lang="de">' in page.text
    async with database.tenant_session(brand.key) as db_session:
        account = await db_session.get(CustomerAccount, login.account_id)
    assert account is not None
    assert account.locale == "de_DE"


# -- history and receipts ------------------------------------------------------------------------


async def test_history_lists_the_drivers_sessions_with_their_receipts(
    database: Database, make_brand, client_for, open_charger
) -> None:
    brand = await charging_brand(database, make_brand, locales=LOCALES)
    lena = await driver(database, brand)
    other = await driver(database, brand, "max@example.com", name="Max Muster")
    await add_token(database, brand, "RFID0001", account_id=lena.account_id)
    await add_token(database, brand, "RFID0002", account_id=other.account_id)
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    meter = Meter()
    await charge(cp, meter, "RFID0001", "2026-11-24T10:00:00Z", "2026-11-24T10:45:00Z", 7_250)
    await charge(cp, meter, "RFID0002", "2026-11-24T11:00:00Z", "2026-11-24T11:30:00Z", 2_000)
    await charge(cp, meter, "RFID0001", "2026-11-24T12:00:00Z", "2026-11-24T12:20:00Z", 10_000)
    await rate_all(database, brand)
    issued = await issue(database, brand)
    by_account = {r.account_id: r for r in issued}
    async with database.tenant_session(brand.key) as db_session:
        lenas = list(
            await db_session.scalars(
                select(Invoice)
                .where(Invoice.account_id == lena.account_id)
                .order_by(Invoice.number)
            )
        )
    other_receipt = by_account[other.account_id]

    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        history = await client.get("/account/history", headers=HTML)
        receipt = await client.get(f"/account/receipts/{lenas[0].id}", headers=HTML)
        pdf = await client.get(f"/account/receipts/{lenas[0].id}/pdf")
        foreign = await client.get(f"/account/receipts/{other_receipt.id}", headers=HTML)
        foreign_pdf = await client.get(f"/account/receipts/{other_receipt.id}/pdf")
    other_brand = await make_brand(locales=LOCALES)
    await driver(database, other_brand)
    async with client_for(host(other_brand)) as elsewhere:
        await sign_in(elsewhere, "lena@example.com")
        cross_brand = await elsewhere.get(f"/account/receipts/{lenas[0].id}", headers=HTML)

    assert history.status_code == 200
    rows = re.findall(r'<li class="card account-session">(.*?)</li>', history.text, re.S)
    assert len(rows) == 2
    # Newest first: 10 kWh at 12:00 UTC (13:00 in Berlin), then 7.25 kWh at 10:00 UTC.
    assert "24 Nov 2026, 13:00:00" in rows[0]
    assert "10.00 kWh" in rows[0]
    assert "24 Nov 2026, 11:00:00" in rows[1]
    assert "7.25 kWh" in rows[1]
    assert "€3.96" in rows[1]
    assert "Payment open" in rows[1]
    assert f'href="/account/receipts/{lenas[0].id}"' in rows[1]
    assert "RFID0002" not in history.text
    assert str(other_receipt.id) not in history.text
    assert receipt.status_code == 200
    assert f'<span data-testid="receipt-number">{lenas[0].number}</span>' in receipt.text
    assert '<dd data-testid="receipt-total"><strong>€3.96</strong></dd>' in receipt.text
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
    assert f'filename="{lenas[0].number}.pdf"' in pdf.headers["content-disposition"]
    assert (foreign.status_code, foreign_pdf.status_code, cross_brand.status_code) == (
        404,
        404,
        404,
    )


# -- cards ------------------------------------------------------------------------------------


async def test_cards_are_listed_blocked_unblocked_and_linked_by_their_printed_code(
    database: Database, make_brand, client_for, settings: Settings
) -> None:
    brand = await make_brand(locales=LOCALES)
    lena = await driver(database, brand)
    other = await driver(database, brand, "max@example.com")
    await add_token(database, brand, "04000001", account_id=lena.account_id, label="My car")
    await add_token(database, brand, "04000009", account_id=other.account_id)
    await add_token(database, brand, "04A1B2C3")
    async with database.tenant_session(brand.key) as db_session:
        ids = {t.id_token: t.id for t in await db_session.scalars(select(IdToken))}
    code = cards.claim_code(
        settings.secret_key, brand.key, IdToken(id_token="04A1B2C3", type=IdTokenType.ISO14443)
    )
    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        listed = await client.get("/account/cards/", headers=HTML)
        empty = await post_form(client, "/account/cards/", {"number": "", "code": ""})
        wrong = await post_form(client, "/account/cards/", {"number": "04A1B2C3", "code": "000000"})
        linked = await post_form(client, "/account/cards/", {"number": "04A1B2C3", "code": code})
        blocked = await post_form(
            client, f"/account/cards/{ids['04000001']}/block", {}, page="/account/cards/"
        )
        unblocked = await post_form(
            client, f"/account/cards/{ids['04000001']}/unblock", {}, page="/account/cards/"
        )
        foreign = await post_form(
            client, f"/account/cards/{ids['04000009']}/block", {}, page="/account/cards/"
        )
        after = await client.get("/account/cards/", headers=HTML)
    assert listed.status_code == 200
    assert "My car" in listed.text
    assert "04000001" in listed.text
    assert "04000009" not in listed.text
    assert field_error("number", "Enter the number printed on the card.") in empty.text
    assert field_error("code", "Enter the 6-digit code printed with the card.") in empty.text
    assert wrong.status_code == 400
    assert field_error("code", "This card cannot be linked. Check the number and the code.") in (
        wrong.text
    )
    assert (linked.status_code, linked.headers["location"]) == (303, "/account/cards?notice=linked")
    assert blocked.headers["location"] == "/account/cards?notice=blocked"
    assert unblocked.headers["location"] == "/account/cards?notice=unblocked"
    assert foreign.status_code == 404
    assert "04A1B2C3" in after.text
    async with database.tenant_session(brand.key) as db_session:
        tokens = {t.id_token: t for t in await db_session.scalars(select(IdToken))}
    assert tokens["04A1B2C3"].account_id == lena.account_id
    assert tokens["04000001"].status is IdTokenStatus.ACCEPTED
    assert tokens["04000009"].status is IdTokenStatus.ACCEPTED


# -- deleting the account --------------------------------------------------------------------------


async def test_deleting_the_account_signs_out_and_frees_the_address(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locales=LOCALES)
    login = await driver(database, brand)
    await add_token(database, brand, "04000001", account_id=login.account_id)
    async with client_for(host(brand)) as client:
        await sign_in(client, "lena@example.com")
        unconfirmed = await post_form(client, "/account/delete/", {"password": ""})
        wrong = await post_form(
            client, "/account/delete/", {"password": "not it at all", "confirm": "1"}
        )
        deleted = await post_form(
            client, "/account/delete/", {"password": PASSWORD, "confirm": "1"}
        )
        after = await client.get("/account", headers=HTML)
        again = await sign_in(client, "lena@example.com")
        new = await post_form(client, "/account/sign-up", sign_up_form())
    assert unconfirmed.status_code == 400
    assert field_error("password", "Enter your password.") in unconfirmed.text
    assert (
        field_error("confirm", "Tick the box to confirm that your account is deleted.")
        in unconfirmed.text
    )
    assert field_error("password", "The password is not correct.") in wrong.text
    assert (deleted.status_code, deleted.headers["location"]) == (
        303,
        "/account/sign-in?notice=deleted",
    )
    assert (
        'vl_driver=""' in deleted.headers["set-cookie"]
        or "vl_driver=;" in deleted.headers["set-cookie"]
    )
    assert after.status_code == 303
    assert again.status_code == 400
    assert new.status_code == 303
    async with database.tenant_session(brand.key) as db_session:
        old = await db_session.get(CustomerAccount, login.account_id)
        card = await db_session.scalar(select(IdToken))
    assert old is not None
    assert (old.name, old.email) == ("Deleted account", None)
    assert card is not None
    assert (card.account_id, card.status) == (None, IdTokenStatus.BLOCKED)
    assert await count(database, brand, CustomerAccount) == 2


# -- another brand's host ------------------------------------------------------------------------


async def test_nothing_of_one_brand_is_reachable_on_another_brands_host(
    database: Database, make_brand, client_for
) -> None:
    brand_a = await make_brand(locales=LOCALES)
    brand_b = await make_brand(locales=LOCALES)
    lena_a = await driver(database, brand_a)
    max_b = await driver(database, brand_b, "max@example.com")
    await add_token(database, brand_b, "04BBBB01", account_id=max_b.account_id)
    async with database.tenant_session(brand_b.key) as db_session:
        card_b = await db_session.scalar(select(IdToken.id))
    async with client_for(host(brand_b)) as on_b:
        wrong_host = await sign_in(on_b, "lena@example.com")
        await sign_in(on_b, "max@example.com")
        b_cookie = on_b.cookies["vl_driver"]
    async with client_for(host(brand_a)) as on_a:
        on_a.cookies.set("vl_driver", b_cookie, domain=host(brand_a))
        foreign_session = await on_a.get("/account", headers=HTML)
        await sign_in(on_a, "lena@example.com")
        receipt = await on_a.get(f"/account/receipts/{uuid.uuid4()}", headers=HTML)
        card = await post_form(on_a, f"/account/cards/{card_b}/block", {}, page="/account/cards/")
    assert wrong_host.status_code == 400
    assert foreign_session.status_code == 303
    assert (receipt.status_code, card.status_code) == (404, 404)
    assert lena_a.account_id != max_b.account_id
    async with database.tenant_session(brand_b.key) as db_session:
        status = await db_session.scalar(select(IdToken.status))
    assert status is IdTokenStatus.ACCEPTED
