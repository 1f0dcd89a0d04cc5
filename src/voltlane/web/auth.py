"""Staff authentication for brand hosts: the session cookie, the db_session, guards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.db import unit_of_work
from voltlane.core.errors import PermissionDeniedError
from voltlane.identity import service as identity
from voltlane.identity.roles import Permission, has_permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.web.context import current_tenant, web_state

SESSION_COOKIE = "vl_session"
LOGIN_PATH = "/portal/login"


async def provide_db_session(request: Request[Any, Any, Any]) -> AsyncIterator[AsyncSession]:
    """One transaction on the request's brand schema, committed before the response is sent."""
    tenant = current_tenant(request)
    database = web_state(request).database
    async with database.tenant_session(tenant.key) as db_session, unit_of_work(db_session):
        yield db_session


class LoginRequiredError(NotAuthorizedException):
    """No valid staff session: browsers are sent to the sign-in page."""


async def provide_staff(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> StaffIdentity:
    token = request.cookies.get(SESSION_COOKIE)
    staff = await identity.resolve_session(db_session, token) if token else None
    if staff is None:
        raise LoginRequiredError("Sign in to continue.")
    request.scope.setdefault("state", {})["voltlane_staff"] = staff
    return staff


def requires(permission: Permission) -> Callable[..., Awaitable[StaffIdentity]]:
    """A dependency that yields the staff member if their role grants ``permission``."""

    async def dependency(staff: NamedDependency[StaffIdentity]) -> StaffIdentity:
        if not has_permission(staff.role, permission):
            raise PermissionDeniedError("Your role does not allow this.")
        return staff

    return dependency


def login_required_handler(
    request: Request[Any, Any, Any], exc: LoginRequiredError
) -> Response[Any]:
    if request.headers.get("hx-request") == "true":
        # HTMX follows HX-Redirect with a full page load.
        return Response(b"", status_code=401, headers={"HX-Redirect": LOGIN_PATH})
    if "text/html" in request.headers.get("accept", ""):
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        return Redirect(f"{LOGIN_PATH}?next={quote(target, safe='/')}", status_code=303)
    return Response(
        {"type": "about:blank", "title": "Sign-in required", "status": 401, "detail": exc.detail},
        status_code=401,
        media_type="application/problem+json",
    )


def http_only_cookie(request: Request[Any, Any, Any], key: str, value: str, max_age: int) -> Cookie:
    """A same-site, script-invisible cookie for the whole host (Secure behind https)."""
    return Cookie(
        key=key,
        value=value,
        path="/",
        httponly=True,
        secure=web_state(request).settings.public_scheme == "https",
        samesite="lax",
        max_age=max_age,
    )


def session_cookie(request: Request[Any, Any, Any], token: str, max_age: int) -> Cookie:
    return http_only_cookie(request, SESSION_COOKIE, token, max_age)


def expired_session_cookie(request: Request[Any, Any, Any]) -> Cookie:
    return http_only_cookie(request, SESSION_COOKIE, "", 0)


def safe_next(target: str | None) -> str:
    """Only same-site portal paths are valid redirect targets after sign-in."""
    if (
        target
        and target.startswith("/portal")
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return "/portal/"
