"""Signing up, confirming the address, signing in and out, a new password by e-mail."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import VoltlaneError
from voltlane.identity.drivers import accounts, links, sessions, signin
from voltlane.identity.drivers.errors import LinkInvalidError
from voltlane.models.tenant import DriverLogin, EmailLinkPurpose
from voltlane.pwa.account.common import (
    ACCOUNT,
    SIGN_IN_HANDLERS,
    SIGNED_IN,
    Errors,
    country_options,
    default_country,
    errors_of,
    language_cookie,
    language_options,
    limits,
    mail_link,
    providers,
    read_form,
    render,
)
from voltlane.pwa.auth import (
    DRIVER_COOKIE,
    DriverIdentity,
    driver_cookie,
    expired_driver_cookie,
    safe_app_path,
    signed_in_driver,
)
from voltlane.web.context import client_ip, current_tenant
from voltlane.web.i18n import N_, request_locale

# A link is e-mailed at most this often to one address (no mailbox flooding).
RESET_RESEND = timedelta(minutes=1)
NOTICES = {
    "verified": N_("Your e-mail address is confirmed. Thank you."),
    "reset": N_("Your password is changed. Sign in with it."),
    "deleted": N_("Your account is deleted. Thank you for charging with us."),
    "signed_out": N_("You are signed out."),
}


def next_path_of(raw: str | None) -> str:
    return safe_app_path(raw, ACCOUNT)


def sign_in_page(
    request: Request[Any, Any, Any],
    *,
    email: str = "",
    next_path: str = ACCOUNT,
    errors: Errors | None = None,
    notice: str | None = None,
    retry_minutes: int | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return render(
        request,
        "pwa/account/sign_in.html",
        {
            "retry_minutes": retry_minutes,
            "email": email,
            "next": next_path,
            "errors": errors or {},
            "notice": notice,
            "providers": providers(current_tenant(request)),
        },
        status_code=status_code,
        headers=headers,
    )


def _sign_up_page(
    request: Request[Any, Any, Any],
    values: dict[str, str],
    *,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Response[str]:
    brand = current_tenant(request)
    locale = request_locale(request, brand)
    return render(
        request,
        "pwa/account/sign_up.html",
        {
            "values": values,
            "errors": errors or {},
            "countries": country_options(locale),
            "languages": language_options(brand),
            "providers": providers(brand),
            "min_password": accounts.MIN_DRIVER_PASSWORD,
        },
        status_code=status_code,
    )


class AccountAuthController(Controller):
    path = ACCOUNT
    include_in_schema = False
    exception_handlers = SIGN_IN_HANDLERS

    @get("/sign-up")
    async def sign_up_form(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        if await signed_in_driver(request, db_session) is not None:
            return Redirect(ACCOUNT, status_code=303)
        brand = current_tenant(request)
        values = {"country": default_country(brand), "locale": request_locale(request, brand)}
        return _sign_up_page(request, values)

    @post("/sign-up", status_code=303)
    async def sign_up(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        form = await read_form(request)
        brand = current_tenant(request)
        data = accounts.SignUp(
            name=form.get("name", ""),
            email=form.get("email", ""),
            password=form.get("password", ""),
            country=form.get("country", ""),
            locale=form.get("locale", ""),
            accepted_terms=form.get("terms") == "1",
        )
        try:
            login, token = await accounts.sign_up(db_session, data, locales=brand.locales)
        except VoltlaneError as exc:
            values = {k: v for k, v in form.items() if k not in {"password", "_csrf_token"}}
            return _sign_up_page(request, values, errors=errors_of(exc), status_code=400)
        name = " ".join(data.name.split())
        await mail_link(
            db_session,
            request,
            login,
            token,
            EmailLinkPurpose.VERIFY,
            name=name,
            locale=data.locale,
        )
        session_token = await sessions.open_session(
            db_session,
            login,
            previous_token=request.cookies.get(DRIVER_COOKIE),
            user_agent=request.headers.get("user-agent"),
        )
        return Redirect(
            f"{ACCOUNT}?welcome=1",
            status_code=303,
            cookies=[
                driver_cookie(request, session_token),
                language_cookie(request, data.locale),
            ],
        )

    @get("/verify/{token:str}")
    async def verify(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
    ) -> Response[Any]:
        try:
            await accounts.verify_email(db_session, token[:100])
        except LinkInvalidError:
            return render(
                request,
                "pwa/account/link_invalid.html",
                {"purpose": "verify"},
                status_code=404,
            )
        signed_in = await signed_in_driver(request, db_session)
        target = f"{ACCOUNT}?notice=verified" if signed_in else f"{ACCOUNT}/sign-in?notice=verified"
        return Redirect(target, status_code=303)

    @post("/verify", status_code=303, dependencies=SIGNED_IN)
    async def resend_verification(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
    ) -> Response[Any]:
        login = await accounts.login_of(db_session, driver.login_id)
        if login.email_verified_at is None:
            await _mail_new_link(db_session, request, login, EmailLinkPurpose.VERIFY)
        return Redirect(f"{ACCOUNT}?notice=verify_sent", status_code=303)

    @get("/sign-in")
    async def sign_in_form(
        self,
        request: Request[Any, Any, Any],
        next: FromQuery[str | None] = None,  # noqa: A002 - the query parameter's name
        notice: FromQuery[str | None] = None,
    ) -> Response[str]:
        return sign_in_page(request, next_path=next_path_of(next), notice=NOTICES.get(notice or ""))

    @post("/sign-in", status_code=303)
    async def sign_in(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        form = await read_form(request)
        email = form.get("email", "").strip()
        password = form.get("password", "")
        next_path = next_path_of(form.get("next"))
        errors: Errors = {}
        if not email:
            errors["email"] = N_("Enter your e-mail address.")
        if not password:
            errors["password"] = N_("Enter your password.")
        if errors:
            return sign_in_page(
                request, email=email, next_path=next_path, errors=errors, status_code=400
            )
        result = await signin.sign_in(
            db_session,
            email=email,
            password=password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            previous_token=request.cookies.get(DRIVER_COOKIE),
            limits=limits(request),
        )
        if result.failure is signin.SignInFailure.RATE_LIMITED:
            wait = result.retry_after or 60
            errors["_form"] = N_("Too many failed sign-ins.")
            return sign_in_page(
                request,
                email=email,
                next_path=next_path,
                errors=errors,
                retry_minutes=max(1, math.ceil(wait / 60)),
                status_code=429,
                headers={"Retry-After": str(wait)},
            )
        if result.token is None:
            errors["_form"] = N_("E-mail or password is not correct.")
            return sign_in_page(
                request, email=email, next_path=next_path, errors=errors, status_code=400
            )
        return signed_in_redirect(request, next_path, result)

    @post("/sign-out", status_code=303)
    async def sign_out(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        token = request.cookies.get(DRIVER_COOKIE)
        if token:
            await sessions.close_session(db_session, token)
        return Redirect(
            f"{ACCOUNT}/sign-in?notice=signed_out",
            status_code=303,
            cookies=[expired_driver_cookie(request)],
        )

    @get("/forgot")
    async def forgot_form(self, request: Request[Any, Any, Any]) -> Response[str]:
        return render(request, "pwa/account/forgot.html", {"email": "", "errors": {}})

    @post("/forgot", status_code=303)
    async def forgot(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        email = (await read_form(request)).get("email", "").strip()
        if not email:
            errors = {"email": N_("Enter your e-mail address.")}
            return render(
                request,
                "pwa/account/forgot.html",
                {"email": email, "errors": errors},
                status_code=400,
            )
        login = await accounts.login_for_reset(db_session, email)
        if login is not None:
            await _mail_new_link(db_session, request, login, EmailLinkPurpose.RESET)
        # The same answer whether the address has an account or not.
        return render(request, "pwa/account/forgot_sent.html", {"email": email})

    @get("/reset/{token:str}")
    async def reset_form(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
    ) -> Response[str]:
        try:
            await links.check_link(db_session, token[:100], EmailLinkPurpose.RESET)
        except LinkInvalidError:
            return render(
                request, "pwa/account/link_invalid.html", {"purpose": "reset"}, status_code=404
            )
        return render(
            request,
            "pwa/account/reset.html",
            {"token": token, "errors": {}, "min_password": accounts.MIN_DRIVER_PASSWORD},
        )

    @post("/reset/{token:str}", status_code=303)
    async def reset(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        token: FromPath[str],
    ) -> Response[Any]:
        form = await read_form(request)
        password = form.get("password", "")
        errors: Errors = {}
        if password != form.get("password_again", ""):
            errors["password_again"] = N_("The two passwords are not the same.")
        try:
            if errors:
                await links.check_link(db_session, token[:100], EmailLinkPurpose.RESET)
            else:
                await accounts.reset_password(db_session, token[:100], password)
        except LinkInvalidError:
            return render(
                request, "pwa/account/link_invalid.html", {"purpose": "reset"}, status_code=404
            )
        except VoltlaneError as exc:
            errors = {**errors_of(exc), **errors}
        if errors:
            return render(
                request,
                "pwa/account/reset.html",
                {"token": token, "errors": errors, "min_password": accounts.MIN_DRIVER_PASSWORD},
                status_code=400,
            )
        # Every session ended with the old password, this browser's too.
        return Redirect(
            f"{ACCOUNT}/sign-in?notice=reset",
            status_code=303,
            cookies=[expired_driver_cookie(request)],
        )


async def _mail_new_link(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    login: DriverLogin,
    purpose: EmailLinkPurpose,
) -> None:
    """A new link of ``purpose`` by e-mail, in the driver's language (at most one a minute:
    a button pressed again does not flood the mailbox)."""
    if await links.recently_sent(db_session, login, purpose, RESET_RESEND):
        return
    token = await links.issue_link(db_session, login, purpose)
    account = await accounts.account_of(db_session, login.account_id)
    await mail_link(
        db_session, request, login, token, purpose, name=account.name, locale=account.locale
    )


def signed_in_redirect(
    request: Request[Any, Any, Any], next_path: str, result: signin.SignInResult
) -> Redirect:
    """After a sign-in: the session cookie, the driver's language, and on to ``next``."""
    assert result.token is not None
    cookies = [driver_cookie(request, result.token)]
    if result.locale in current_tenant(request).locales:
        cookies.append(language_cookie(request, result.locale or ""))
    return Redirect(next_path, status_code=303, cookies=cookies)
