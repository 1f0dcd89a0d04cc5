"""Sign-in and sign-out of staff on a brand's portal."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity import service as identity
from voltlane.identity.schemas import LoginFailure
from voltlane.models.tenant import Role
from voltlane.portal.fleet_portal import FLEET_HOME
from voltlane.web.auth import (
    SESSION_COOKIE,
    expired_session_cookie,
    safe_next,
    session_cookie,
)
from voltlane.web.context import client_ip, web_state
from voltlane.web.i18n import N_, N_plural

MAX_FIELD = 256


def _render_login(
    request: Request[Any, Any, Any],
    *,
    email: str = "",
    next_path: str = "/portal/",
    errors: dict[str, str] | None = None,
    form_error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    return web_state(request).renderer.render(
        request,
        "portal/login.html",
        {"email": email, "next": next_path, "errors": errors or {}, "form_error": form_error},
        status_code=status_code,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


class PortalAuthController(Controller):
    path = "/portal"
    include_in_schema = False

    @get("/login")
    async def login_form(self, request: Request[Any, Any, Any]) -> Response[str]:
        return _render_login(request, next_path=safe_next(request.query_params.get("next")))

    @post("/login", status_code=303)
    async def login(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        form = await request.form()
        email = str(form.get("email") or "").strip()[:MAX_FIELD]
        password = str(form.get("password") or "")[:MAX_FIELD]
        next_path = safe_next(str(form.get("next") or ""))
        errors: dict[str, str] = {}
        if not email:
            errors["email"] = N_("Enter your e-mail address.")
        if not password:
            errors["password"] = N_("Enter your password.")
        if errors:
            return _render_login(
                request, email=email, next_path=next_path, errors=errors, status_code=400
            )
        settings = web_state(request).settings
        result = await identity.sign_in(
            db_session,
            email=email,
            password=password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
            previous_token=request.cookies.get(SESSION_COOKIE),
            session_ttl=timedelta(hours=settings.session_ttl_hours),
            max_failures=settings.login_max_failures,
            window=timedelta(minutes=settings.login_window_minutes),
        )
        if result.failure is LoginFailure.RATE_LIMITED:
            minutes = max(1, math.ceil((result.retry_after or 60) / 60))
            return _render_login(
                request,
                email=email,
                next_path=next_path,
                form_error=N_plural(
                    "Too many failed sign-ins. Try again in %(num)d minute.",
                    "Too many failed sign-ins. Try again in %(num)d minutes.",
                    minutes,
                ),
                status_code=429,
                headers={"Retry-After": str(result.retry_after or 60)},
            )
        if result.failure is not None or result.token is None:
            return _render_login(
                request,
                email=email,
                next_path=next_path,
                form_error=N_("E-mail or password is not correct."),
                status_code=400,
            )
        max_age = settings.session_ttl_hours * 3600
        if result.identity is not None and result.identity.role is Role.FLEET_MANAGER:
            # A fleet manager's portal is their fleet: they land there, not on the network.
            next_path = next_path if next_path.startswith(FLEET_HOME) else FLEET_HOME
        return Redirect(
            next_path,
            status_code=303,
            cookies=[session_cookie(request, result.token, max_age)],
        )

    @post("/logout", status_code=303)
    async def logout(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await identity.sign_out(db_session, token, ip=client_ip(request))
        return Redirect("/portal/login", status_code=303, cookies=[expired_session_cookie(request)])
