"""Signing in with a brand's OpenID Connect provider, and confirming an account deletion
there for a driver without a password.

Between the redirect to the provider and its answer, the browser keeps what the callback
checks (state, nonce, PKCE verifier, where to go next) in a short-lived cookie signed with
the platform's secret key; the same cookie carries a first-time driver's checked claims to
the page where they accept the terms.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import NotFoundError, VoltlaneError
from voltlane.identity.drivers import accounts, deletion, oidc, signin
from voltlane.identity.drivers.signin import OidcClaims
from voltlane.pwa.account.common import (
    ACCOUNT,
    SIGN_IN_HANDLERS,
    SIGNED_IN,
    Errors,
    country_options,
    default_country,
    errors_of,
    language_options,
    providers,
    public_url,
    read_form,
    render,
)
from voltlane.pwa.account.signin import next_path_of, sign_in_page, signed_in_redirect
from voltlane.pwa.auth import (
    DRIVER_COOKIE,
    DriverIdentity,
    expired_driver_cookie,
    signed_in_driver,
)
from voltlane.web.auth import http_only_cookie
from voltlane.web.context import client_ip, current_tenant, web_state
from voltlane.web.i18n import N_, request_locale

FLOW_COOKIE = "vl_oidc"
FLOW_TTL = 15 * 60
OIDC = f"{ACCOUNT}/oidc"


class UnknownProviderError(NotFoundError):
    title = "Unknown sign-in provider"


def _mac(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), f"oidc-flow:{payload}".encode(), hashlib.sha256).hexdigest()


def flow_cookie(request: Request[Any, Any, Any], data: dict[str, Any]) -> Cookie:
    """The flow's data, signed, expiring with the cookie."""
    data = {**data, "exp": int(time.time()) + FLOW_TTL, "brand": current_tenant(request).key}
    payload = base64.urlsafe_b64encode(json.dumps(data).encode()).decode()
    value = f"{payload}.{_mac(web_state(request).settings.secret_key, payload)}"
    return http_only_cookie(request, FLOW_COOKIE, value, FLOW_TTL)


def read_flow(request: Request[Any, Any, Any]) -> dict[str, Any] | None:
    """The signed flow data of this browser and brand, None when absent, forged or old."""
    raw = request.cookies.get(FLOW_COOKIE, "")
    payload, _, mac = raw.partition(".")
    if not payload or not hmac.compare_digest(
        mac, _mac(web_state(request).settings.secret_key, payload)
    ):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload.encode()))
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("exp", 0) < time.time():
        return None
    return data if data.get("brand") == current_tenant(request).key else None


def _provider(request: Request[Any, Any, Any], key: str) -> tuple[oidc.Provider, str]:
    for provider in providers(current_tenant(request)):
        if provider.key == key:
            return provider, os.environ[provider.secret_env]
    raise UnknownProviderError(f"no sign-in provider {key!r}")


def _callback(request: Request[Any, Any, Any], key: str) -> str:
    return public_url(request, f"{OIDC}/{key}/callback")


def _complete_page(
    request: Request[Any, Any, Any],
    values: dict[str, str],
    *,
    email: str,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Response[str]:
    brand = current_tenant(request)
    return render(
        request,
        "pwa/account/oidc_complete.html",
        {
            "values": values,
            "email": email,
            "errors": errors or {},
            "countries": country_options(request_locale(request, brand)),
            "languages": language_options(brand),
        },
        status_code=status_code,
    )


class OidcController(Controller):
    path = OIDC
    include_in_schema = False
    exception_handlers = SIGN_IN_HANDLERS

    @get("/{key:str}")
    async def start(
        self,
        request: Request[Any, Any, Any],
        key: FromPath[str],
        next: FromQuery[str | None] = None,  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        provider, secret = _provider(request, key)
        try:
            url, kept = await oidc.begin(provider, secret, _callback(request, key))
        except oidc.OidcError as exc:
            return sign_in_page(request, errors={"_form": exc.detail}, status_code=502)
        flow = {"purpose": "sign_in", "next": next_path_of(next), **_kept(kept)}
        return Redirect(url, status_code=303, cookies=[flow_cookie(request, flow)])

    @get("/{key:str}/callback")
    async def callback(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        key: FromPath[str],
        *,
        code: FromQuery[str | None] = None,
        returned_state: Annotated[str | None, QueryParameter(name="state")] = None,
        error: FromQuery[str | None] = None,
    ) -> Response[Any]:
        provider, secret = _provider(request, key)
        flow = read_flow(request)
        if flow is None or "state" not in flow or error or not code or not returned_state:
            message = N_("The sign-in with your provider was not completed. Please try again.")
            return sign_in_page(request, errors={"_form": message}, status_code=400)
        try:
            claims = await oidc.finish(
                provider,
                secret,
                _callback(request, key),
                oidc.Authorization(key, flow["state"], flow["nonce"], flow["verifier"]),
                code=code[:2048],
                state=returned_state[:512],
            )
        except oidc.OidcError as exc:
            return sign_in_page(request, errors={"_form": exc.detail}, status_code=400)
        if flow.get("purpose") == "delete":
            return await _delete_confirmed(request, db_session, claims, flow)
        result = await signin.sign_in_oidc(
            db_session,
            claims,
            previous_token=request.cookies.get(DRIVER_COOKIE),
            user_agent=request.headers.get("user-agent"),
        )
        if result is not None:
            response = signed_in_redirect(request, str(flow.get("next") or ACCOUNT), result)
            response.set_cookie(http_only_cookie(request, FLOW_COOKIE, "", 0))
            return response
        if not claims.email or await signin.email_taken(db_session, claims.email):
            message = N_(
                "No account is linked to this sign-in. If you have an account, sign in with"
                " your password."
            )
            return sign_in_page(request, errors={"_form": message}, status_code=400)
        pending = {
            "purpose": "complete",
            "next": flow.get("next") or ACCOUNT,
            "claims": {
                "provider": claims.provider,
                "subject": claims.subject,
                "email": claims.email,
                "email_verified": claims.email_verified,
                "name": claims.name,
            },
        }
        return Redirect(
            f"{OIDC}/complete", status_code=303, cookies=[flow_cookie(request, pending)]
        )

    @get("/complete")
    async def complete_form(self, request: Request[Any, Any, Any]) -> Response[Any]:
        flow = read_flow(request)
        if flow is None or flow.get("purpose") != "complete":
            return Redirect(f"{ACCOUNT}/sign-in", status_code=303)
        brand = current_tenant(request)
        values = {
            "name": flow["claims"].get("name") or "",
            "country": default_country(brand),
            "locale": request_locale(request, brand),
        }
        return _complete_page(request, values, email=flow["claims"]["email"])

    @post("/complete", status_code=303)
    async def complete(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        flow = read_flow(request)
        if flow is None or flow.get("purpose") != "complete":
            return Redirect(f"{ACCOUNT}/sign-in", status_code=303)
        form = await read_form(request)
        try:
            result = await signin.sign_up_oidc(
                db_session,
                OidcClaims(**flow["claims"]),
                name=form.get("name", ""),
                country=form.get("country", ""),
                locale=form.get("locale", ""),
                locales=current_tenant(request).locales,
                accepted_terms=form.get("terms") == "1",
                user_agent=request.headers.get("user-agent"),
            )
        except VoltlaneError as exc:
            values = {k: v for k, v in form.items() if k != "_csrf_token"}
            return _complete_page(
                request,
                values,
                email=flow["claims"]["email"],
                errors=errors_of(exc),
                status_code=400,
            )
        response = signed_in_redirect(request, str(flow.get("next") or ACCOUNT), result)
        response.set_cookie(http_only_cookie(request, FLOW_COOKIE, "", 0))
        return response

    @post("/{key:str}/reauthenticate", status_code=303, dependencies=SIGNED_IN)
    async def reauthenticate(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
        key: FromPath[str],
    ) -> Response[Any]:
        """Before deleting the account of a driver without a password: sign in again at
        their provider."""
        provider, secret = _provider(request, key)
        login = await accounts.login_of(db_session, driver.login_id)
        if login.oidc_provider != key:
            raise UnknownProviderError(f"not signed up with {key!r}")
        url, kept = await oidc.begin(provider, secret, _callback(request, key), reauthenticate=True)
        flow = {"purpose": "delete", "login": str(driver.login_id), **_kept(kept)}
        return Redirect(url, status_code=303, cookies=[flow_cookie(request, flow)])


def _kept(kept: oidc.Authorization) -> dict[str, str]:
    return {"state": kept.state, "nonce": kept.nonce, "verifier": kept.code_verifier}


async def _delete_confirmed(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    claims: OidcClaims,
    flow: dict[str, Any],
) -> Response[Any]:
    """The provider confirmed the driver: delete their account if it is the same person."""
    driver = await signed_in_driver(request, db_session)
    login = await accounts.login_of(db_session, driver.login_id) if driver else None
    if (
        driver is None
        or login is None
        or str(driver.login_id) != flow.get("login")
        or (login.oidc_provider, login.oidc_subject) != (claims.provider, claims.subject)
    ):
        message = N_("This sign-in does not belong to your account. Nothing was deleted.")
        return sign_in_page(request, errors={"_form": message}, status_code=403)
    await deletion.delete_account(
        db_session, driver, password=None, reauthenticated=True, ip=client_ip(request)
    )
    return Redirect(
        f"{ACCOUNT}/sign-in?notice=deleted",
        status_code=303,
        cookies=[expired_driver_cookie(request), http_only_cookie(request, FLOW_COOKIE, "", 0)],
    )
