"""The driver's account in the app, over HTTP on a brand's host: sign-up with its e-mail,
sign-in and out, reset, the account pages, cards, receipts, deletion, isolation."""

from __future__ import annotations

import re
from email.header import decode_header, make_header
from email.message import Message

import pytest
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient
from markupsafe import escape
from sqlalchemy import func, select

import voltlane.identity.tasks  # noqa: F401 - registers identity.send_notification
from tests.fakes.smtp import smtp_server
from tests.web.helpers import HTML, csrf_token
from voltlane.core.db import Database
from voltlane.core.mail import SmtpServer
from voltlane.identity.drivers import accounts
from voltlane.identity.notifications import send_notification
from voltlane.models.tenant import (
    CustomerAccount,
    DriverLogin,
    DriverSession,
    Notification,
)
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.web.i18n import translations

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
