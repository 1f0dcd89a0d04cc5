"""Signing in to a brand's portal: errors beside fields, CSRF, throttling, rotation."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.factories import add_user
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.core.db import Database
from voltlane.models.tenant import LoginAttempt, Role, StaffSession

PASSWORD = "correct horse battery"


async def test_wrong_password_shows_the_form_error_and_keeps_the_email(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
    async with client_for(f"{brand.slug}.localhost") as client:
        response = await sign_in(client, "ops@example.com", "not the password")
    assert response.status_code == 400
    assert (
        '<p class="alert" role="alert" id="form-error">E-mail or password is not correct.</p>'
        in response.text
    )
    assert 'value="ops@example.com"' in response.text
    assert "vl_session" not in response.cookies


async def test_empty_fields_get_errors_beside_them(make_brand, client_for) -> None:
    brand = await make_brand()
    async with client_for(f"{brand.slug}.localhost") as client:
        page = await client.get("/portal/login", headers=HTML)
        response = await client.post(
            "/portal/login",
            data={"email": "", "password": "", "_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
    assert response.status_code == 400
    assert '<p class="field-error" id="email-error">Enter your e-mail address.</p>' in response.text
    assert '<p class="field-error" id="password-error">Enter your password.</p>' in response.text


async def test_a_post_without_csrf_token_is_refused_and_records_nothing(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
    async with client_for(f"{brand.slug}.localhost") as client:
        await client.get("/portal/login", headers=HTML)
        response = await client.post(
            "/portal/login", data={"email": "ops@example.com", "password": PASSWORD}
        )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Forbidden"
    async with database.tenant_session(brand.key) as db_session:
        assert await db_session.scalar(select(func.count()).select_from(LoginAttempt)) == 0
        assert await db_session.scalar(select(func.count()).select_from(StaffSession)) == 0


async def test_repeated_failures_are_throttled_with_retry_after(
    database: Database, make_brand, client_for, settings
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
    async with client_for(f"{brand.slug}.localhost") as client:
        statuses = [
            (await sign_in(client, "ops@example.com", f"wrong {i}")).status_code
            for i in range(settings.login_max_failures)
        ]
        throttled = await sign_in(client, "ops@example.com", PASSWORD)
    assert statuses == [400] * settings.login_max_failures
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "Too many failed sign-ins. Try again in 15 minutes." in throttled.text


async def test_sign_in_sets_a_new_session_and_sign_out_ends_it(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(
            db_session, "ops@example.com", PASSWORD, role=Role.OPERATIONS, name="Ada Ops"
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        first = await sign_in(client, "ops@example.com", PASSWORD, next_path="/portal/stations")
        first_cookie = client.cookies["vl_session"]
        second = await sign_in(client, "ops@example.com", PASSWORD)
        second_cookie = client.cookies["vl_session"]
        home = await client.get("/portal/", headers=HTML)
        # The first session died when the second began.
        client.cookies.set("vl_session", first_cookie, domain=f"{brand.slug}.localhost")
        stale = await client.get("/portal/", headers=HTML)
        client.cookies.set("vl_session", second_cookie, domain=f"{brand.slug}.localhost")
        page = await client.get("/portal/", headers=HTML)
        out = await client.post(
            "/portal/logout", data={"_csrf_token": csrf_token(page.text)}, headers=HTML
        )
        after = await client.get("/portal/", headers=HTML)
    assert (first.status_code, first.headers["location"]) == (303, "/portal/stations")
    assert (second.status_code, second.headers["location"]) == (303, "/portal/")
    assert first_cookie != second_cookie
    assert home.status_code == 200
    assert '<span data-testid="staff-name">Ada Ops</span>' in home.text
    assert '<a href="/portal/" aria-current="page">Dashboard</a>' in home.text
    assert (stale.status_code, stale.headers["location"]) == (303, "/portal/login?next=/portal")
    assert (out.status_code, out.headers["location"]) == (303, "/portal/login")
    assert after.status_code == 303


async def test_next_never_leaves_the_portal(database: Database, make_brand, client_for) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
    async with client_for(f"{brand.slug}.localhost") as client:
        evil = await sign_in(client, "ops@example.com", PASSWORD, next_path="//evil.example/")
    assert evil.headers["location"] == "/portal/"


async def test_htmx_requests_without_a_session_get_hx_redirect(make_brand, client_for) -> None:
    brand = await make_brand()
    async with client_for(f"{brand.slug}.localhost") as client:
        response = await client.get("/portal/stations", headers={"hx-request": "true"})
        api = await client.get("/portal/", headers={"accept": "application/json"})
    assert (response.status_code, response.headers["hx-redirect"]) == (401, "/portal/login")
    assert api.status_code == 401
    assert api.json() == {
        "type": "about:blank",
        "title": "Sign-in required",
        "status": 401,
        "detail": "Sign in to continue.",
    }
