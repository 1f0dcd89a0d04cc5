"""Deleting the account: confirmed with the password (a driver without one confirms at
their sign-in provider, see ``oidc``)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import VoltlaneError
from voltlane.identity.drivers import accounts, deletion
from voltlane.pwa.account.common import (
    ACCOUNT,
    SIGN_IN_HANDLERS,
    SIGNED_IN,
    Errors,
    errors_of,
    providers,
    read_form,
    render,
)
from voltlane.pwa.auth import DriverIdentity, expired_driver_cookie
from voltlane.web.context import client_ip, current_tenant
from voltlane.web.i18n import N_


async def _page(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    driver: DriverIdentity,
    *,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Response[str]:
    login = await accounts.login_of(db_session, driver.login_id)
    provider = next(
        (p for p in providers(current_tenant(request)) if p.key == login.oidc_provider), None
    )
    return render(
        request,
        "pwa/account/delete.html",
        {
            "has_password": login.password_hash is not None,
            "provider": provider,
            "errors": errors or {},
        },
        status_code=status_code,
    )


class DeleteAccountController(Controller):
    path = f"{ACCOUNT}/delete"
    include_in_schema = False
    dependencies = SIGNED_IN
    exception_handlers = SIGN_IN_HANDLERS

    @get("/")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
    ) -> Response[str]:
        return await _page(request, db_session, driver)

    @post("/", status_code=303)
    async def delete(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
    ) -> Response[Any]:
        form = await read_form(request)
        errors: Errors = {}
        if form.get("confirm") != "1":
            errors["confirm"] = N_("Tick the box to confirm that your account is deleted.")
        if not form.get("password"):
            errors["password"] = N_("Enter your password.")
        if errors:
            return await _page(request, db_session, driver, errors=errors, status_code=400)
        try:
            await deletion.delete_account(
                db_session, driver, password=form["password"], ip=client_ip(request)
            )
        except VoltlaneError as exc:
            return await _page(request, db_session, driver, errors=errors_of(exc), status_code=400)
        return Redirect(
            f"{ACCOUNT}/sign-in?notice=deleted",
            status_code=303,
            cookies=[expired_driver_cookie(request)],
        )
