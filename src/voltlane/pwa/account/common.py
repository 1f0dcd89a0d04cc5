"""What the account pages share: rendering (with the sliding session cookie), forms and
their errors, the e-mails with one-time links in the driver's language, options."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Annotated, Any

from babel import Locale
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.di import Provide
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import VoltlaneError
from voltlane.identity.drivers import accounts, links
from voltlane.identity.drivers.errors import DriverFormError
from voltlane.identity.drivers.oidc import Provider, brand_providers
from voltlane.identity.drivers.signin import Throttle
from voltlane.identity.notifications import brand_mailer
from voltlane.models.tenant import DriverLogin, EmailLinkPurpose
from voltlane.pwa.auth import (
    DRIVER_COOKIE,
    DRIVER_STATE_KEY,
    DriverSignInRequiredError,
    driver_cookie,
    provide_driver,
    sign_in_required_handler,
)
from voltlane.tenancy import TenantInfo
from voltlane.web.auth import http_only_cookie
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import LANGUAGE_COOKIE, language_name, translations
from voltlane.web.language import ONE_YEAR

ACCOUNT = "/account"
MAX_INPUT = 256  # longer form values are cut before they are checked
PAGE_SIZE = 20
PageNumber = Annotated[int, QueryParameter(ge=1, le=10_000)]
Errors = dict[str, str]

# Every page for signed-in drivers: the driver as a dependency, else off to sign in.
SIGNED_IN: dict[str, Any] = {"driver": Provide(provide_driver)}
ExceptionHandlers = dict[
    int | type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]
]
SIGN_IN_HANDLERS: ExceptionHandlers = {DriverSignInRequiredError: sign_in_required_handler}


def render(
    request: Request[Any, Any, Any],
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    cookies: Sequence[Cookie] = (),
    headers: Mapping[str, str] | None = None,
) -> Response[str]:
    """An account page; never cached. A signed-in driver's cookie is set again, so it
    slides with the session it names (30 days from the last visit)."""
    response = web_state(request).renderer.render(
        request,
        template,
        context,
        status_code=status_code,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )
    token = request.cookies.get(DRIVER_COOKIE)
    if token and request.scope.get("state", {}).get(DRIVER_STATE_KEY) is not None:
        response.set_cookie(driver_cookie(request, token))
    for cookie in cookies:
        response.set_cookie(cookie)
    return response


async def read_form(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The submitted fields cut to a sane length (passwords keep their spaces)."""
    form = await request.form()
    return {key: value[:MAX_INPUT] for key, value in form.items() if isinstance(value, str)}


def errors_of(exc: VoltlaneError) -> Errors:
    """A refusal's messages by field (``_form`` for one that belongs to no field)."""
    if isinstance(exc, DriverFormError):
        return exc.errors
    return {exc.field or "_form": exc.detail}


def limits(request: Request[Any, Any, Any]) -> Throttle:
    settings = web_state(request).settings
    return Throttle(settings.login_max_failures, timedelta(minutes=settings.login_window_minutes))


def public_url(request: Request[Any, Any, Any], path: str) -> str:
    """An absolute URL on this brand's host (for links in e-mails and provider redirects)."""
    scheme = web_state(request).settings.public_scheme
    return f"{scheme}://{request.headers.get('host', '')}{path}"


def language_cookie(request: Request[Any, Any, Any], locale: str) -> Cookie:
    """The pages follow the driver's language from now on (web.i18n.request_locale)."""
    return http_only_cookie(request, LANGUAGE_COOKIE, locale, ONE_YEAR)


def language_options(brand: TenantInfo) -> list[tuple[str, str]]:
    return [(code, language_name(code)) for code in brand.locales]


def country_options(locale: str) -> list[tuple[str, str]]:
    """Every country by its name in the reader's language."""
    names = Locale.parse(locale).territories
    return sorted(
        ((code, names.get(code, english)) for code, english in accounts.countries().items()),
        key=lambda option: option[1].casefold(),
    )


def default_country(brand: TenantInfo) -> str:
    """The country a sign-up form starts with: the brand's own (from its language)."""
    territory = Locale.parse(brand.locale).territory
    return territory if territory in accounts.countries() else ""


def providers(brand: TenantInfo) -> list[Provider]:
    """The brand's OpenID Connect providers whose client secret is set."""
    return [p for p in brand_providers(brand.profile.get("app")) if os.environ.get(p.secret_env)]


async def mail_link(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    login: DriverLogin,
    token: str,
    purpose: EmailLinkPurpose,
    *,
    name: str,
    locale: str,
) -> None:
    """Write the e-mail with a one-time link, in the driver's language, to the outbox."""
    brand = current_tenant(request)
    _ = translations(locale).gettext
    if purpose is EmailLinkPurpose.VERIFY:
        url = public_url(request, f"{ACCOUNT}/verify/{token}")
        subject = _("%(brand)s: confirm your e-mail address") % {"brand": brand.name}
        body = _(
            "Hello %(name)s,\n\nplease confirm your e-mail address for %(brand)s by opening"
            " this link within 48 hours:\n\n%(url)s\n\nIf you did not create an account,"
            " ignore this e-mail.\n\n%(brand)s"
        ) % {"name": name, "brand": brand.name, "url": url}
    else:
        url = public_url(request, f"{ACCOUNT}/reset/{token}")
        subject = _("%(brand)s: set a new password") % {"brand": brand.name}
        body = _(
            "Hello %(name)s,\n\nto set a new password for %(brand)s, open this link within"
            " one hour:\n\n%(url)s\n\nIf you did not ask for it, ignore this e-mail: your"
            " password stays as it is.\n\n%(brand)s"
        ) % {"name": name, "brand": brand.name, "url": url}
    await links.send_link(db_session, brand.key, login, token, purpose, subject=subject, body=body)


def sender_of(request: Request[Any, Any, Any]) -> str:
    """The brand's From address (shown on the page that says a link was sent)."""
    brand = current_tenant(request)
    settings = web_state(request).settings
    return brand_mailer(
        brand.name,
        brand.slug,
        brand.profile,
        platform_smtp_url=settings.smtp_url,
        base_domain=settings.base_domain,
        environ=os.environ,
    ).sender
