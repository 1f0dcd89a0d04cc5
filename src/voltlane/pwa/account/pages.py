"""The account's home, the driver's details printed on receipts, and their language."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import settlement
from voltlane.billing.settlement import LoyaltyPolicy
from voltlane.core.errors import VoltlaneError
from voltlane.identity.drivers import accounts
from voltlane.pwa.account.common import (
    ACCOUNT,
    SIGN_IN_HANDLERS,
    SIGNED_IN,
    Errors,
    country_options,
    errors_of,
    language_cookie,
    language_options,
    providers,
    read_form,
    render,
)
from voltlane.pwa.auth import DriverIdentity
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_, request_locale

PROFILE_FIELDS = ("name", "street", "postal_code", "city", "country", "vat_id")
NOTICES = {
    "welcome": N_("Welcome! We sent you an e-mail: open its link to confirm your address."),
    "verified": N_("Your e-mail address is confirmed. Thank you."),
    "verify_sent": N_("We sent you a new link. Open it to confirm your address."),
    "profile": N_("Your details are saved. Your next receipts print them."),
    "language": N_("Your language is saved."),
}


async def _home(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    driver: DriverIdentity,
    *,
    notice: str | None = None,
    language_errors: Errors | None = None,
    status_code: int = 200,
) -> Response[str]:
    brand = current_tenant(request)
    account = await accounts.account_of(db_session, driver.account_id)
    login = await accounts.login_of(db_session, driver.login_id)
    points, _moves = await settlement.loyalty_of(db_session, driver.account_id, limit=0)
    return render(
        request,
        "pwa/account/index.html",
        {
            "driver": driver,
            "account": account,
            "has_password": login.password_hash is not None,
            "notice": notice,
            "languages": language_options(brand),
            "language_errors": language_errors or {},
            "loyalty": LoyaltyPolicy.of(brand),
            "points": points,
            "providers": {p.key: p.name for p in providers(brand)},
        },
        status_code=status_code,
    )


def _profile_page(
    request: Request[Any, Any, Any],
    values: dict[str, str],
    *,
    email: str,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Response[str]:
    locale = request_locale(request, current_tenant(request))
    return render(
        request,
        "pwa/account/profile.html",
        {
            "values": values,
            "email": email,
            "errors": errors or {},
            "countries": country_options(locale),
        },
        status_code=status_code,
    )


class AccountController(Controller):
    path = ACCOUNT
    include_in_schema = False
    dependencies = SIGNED_IN
    exception_handlers = SIGN_IN_HANDLERS

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
        notice: FromQuery[str | None] = None,
        welcome: FromQuery[str | None] = None,
    ) -> Response[str]:
        key = "welcome" if welcome else (notice or "")
        return await _home(request, db_session, driver, notice=NOTICES.get(key))

    @get("/profile")
    async def profile_form(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
    ) -> Response[str]:
        account = await accounts.account_of(db_session, driver.account_id)
        values = {field: getattr(account, field) or "" for field in PROFILE_FIELDS}
        return _profile_page(request, values, email=driver.email)

    @post("/profile", status_code=303)
    async def save_profile(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
    ) -> Response[Any]:
        form = await read_form(request)
        values = {field: form.get(field, "") for field in PROFILE_FIELDS}
        try:
            await accounts.update_profile(db_session, driver.account_id, accounts.Profile(**values))
        except VoltlaneError as exc:
            return _profile_page(
                request, values, email=driver.email, errors=errors_of(exc), status_code=400
            )
        return Redirect(f"{ACCOUNT}?notice=profile", status_code=303)

    @post("/language", status_code=303)
    async def choose_language(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
    ) -> Response[Any]:
        locale = (await read_form(request)).get("locale", "")
        brand = current_tenant(request)
        try:
            await accounts.set_locale(db_session, driver.account_id, locale, locales=brand.locales)
        except VoltlaneError as exc:
            return await _home(
                request, db_session, driver, language_errors=errors_of(exc), status_code=400
            )
        return Redirect(
            f"{ACCOUNT}?notice=language",
            status_code=303,
            cookies=[language_cookie(request, locale)],
        )
