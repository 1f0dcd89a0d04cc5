"""Who is signed in to the driver app: the session cookie, the signed-in driver and where
to send a driver who must sign in first. The charge flow and the account pages both use it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity.drivers.schemas import DriverIdentity
from voltlane.identity.drivers.sessions import SESSION_TTL, resolve_session
from voltlane.web.auth import http_only_cookie

__all__ = [
    "DRIVER_COOKIE",
    "DriverIdentity",
    "DriverSignInRequiredError",
    "driver_cookie",
    "expired_driver_cookie",
    "provide_driver",
    "safe_app_path",
    "sign_in_required_handler",
    "sign_in_url",
    "signed_in_driver",
]

# Distinct from the staff cookie: the portal and the app share the brand's host.
DRIVER_COOKIE = "vl_driver"
SIGN_IN_PATH = "/account/sign-in"
DRIVER_STATE_KEY = "voltlane_driver"


async def signed_in_driver(
    request: Request[Any, Any, Any], db_session: AsyncSession
) -> DriverIdentity | None:
    """The driver signed in on this browser, or None. Resolved once per request."""
    state = request.scope.setdefault("state", {})
    if DRIVER_STATE_KEY in state:
        cached: DriverIdentity | None = state[DRIVER_STATE_KEY]
        return cached
    token = request.cookies.get(DRIVER_COOKIE)
    driver = await resolve_session(db_session, token) if token else None
    state[DRIVER_STATE_KEY] = driver
    return driver


class DriverSignInRequiredError(NotAuthorizedException):
    """A page for signed-in drivers was asked for without a driver session."""


async def provide_driver(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> DriverIdentity:
    """A dependency: the signed-in driver, else DriverSignInRequiredError (with
    ``sign_in_required_handler`` the browser is sent to sign in and comes back)."""
    driver = await signed_in_driver(request, db_session)
    if driver is None:
        raise DriverSignInRequiredError("Sign in to continue.")
    return driver


def sign_in_required_handler(
    request: Request[Any, Any, Any], exc: DriverSignInRequiredError
) -> Response[Any]:
    """To the sign-in page and back to the page asked for (HTMX: a full page load)."""
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    location = sign_in_url(target if request.method == "GET" else "/account")
    if request.headers.get("hx-request") == "true":
        return Response(b"", status_code=401, headers={"HX-Redirect": location})
    return Redirect(location, status_code=303)


def safe_app_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this host (never another origin), else ``default``."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(char) < 32 for char in target)
    ):
        return target
    return default


def sign_in_url(next_path: str) -> str:
    """The sign-in page that returns the driver to ``next_path`` (same-origin paths only)."""
    return f"{SIGN_IN_PATH}?next={quote(safe_app_path(next_path), safe='/')}"


def driver_cookie(request: Request[Any, Any, Any], token: str) -> Cookie:
    """The session cookie: HttpOnly, SameSite=Lax, Secure behind https, 30 days."""
    return http_only_cookie(request, DRIVER_COOKIE, token, int(SESSION_TTL.total_seconds()))


def expired_driver_cookie(request: Request[Any, Any, Any]) -> Cookie:
    return http_only_cookie(request, DRIVER_COOKIE, "", 0)
