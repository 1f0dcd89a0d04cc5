"""What the charge screens share: who may open a charge request (its driver, or whoever holds
its link's secret), the secret's cookie, the sentences that say what happened, rendering."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import charge_requests as charges
from voltlane.billing.charge_requests import Step
from voltlane.billing.providers import PaymentProvider, PaymentsNotConfiguredError, provider_for
from voltlane.models.tenant import ChargeRequest
from voltlane.pwa.auth import DriverIdentity, signed_in_driver
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import N_, request_locale

LIVE_PATH = "/charge/live"
# The secret of a request's link, kept by the browser for that request's pages only.
SECRET_COOKIE = "vl_charge"  # noqa: S105 - the cookie's name
SECRET_TTL = 30 * 24 * 3600  # seconds: long enough to read the receipt again later
MAX_INPUT = 254

# Why a request ended without charging, and what to do next.
FAILURES = {
    "offline": N_("The charger is offline. Try another charging point; nothing was charged."),
    "rejected": N_(
        "The charger refused to start. Check that the charging point is free and shows no"
        " fault, or try another one; nothing was charged."
    ),
    "timeout": N_(
        "The charger did not answer in time. Try again or use another charging point;"
        " nothing was charged."
    ),
    "not_plugged_in": N_(
        "No car was plugged in in time, so the charge was called off. Start again when your"
        " cable is ready; nothing was charged."
    ),
    "card_declined": N_("Your card was declined. Try another card; nothing was charged."),
    "authentication_required": N_(
        "Your bank asks for a confirmation this app cannot show. Try another card; nothing"
        " was charged."
    ),
    "cancelled": N_("You cancelled this charge. Nothing was charged."),
    "abandoned": N_(
        "The payment was not completed, so this charge was called off. Nothing was charged."
    ),
}
UNKNOWN_FAILURE = N_("This charge could not be started. Nothing was charged.")

# What became of a stop the driver asked for.
STOP_OUTCOMES = {
    "accepted": N_("The charger is stopping. Unplug your cable once the charger releases it."),
    "rejected": N_("The charger refused to stop. Stop the charge at the charger or from your car."),
    "timeout": N_(
        "The charger did not answer. Try again, or stop the charge at the charger or from your car."
    ),
    "offline": N_(
        "The charger is offline and cannot be stopped from the app. Stop the charge at the"
        " charger or from your car."
    ),
    "ended": N_("This charge has ended already."),
}

# Sentences a redirect asks the live screen to show (``?notice=``).
NOTICES = {
    "card_not_entered": N_("You did not finish entering your card. Pay by card to go on."),
    "psp_unavailable": N_("The payment provider cannot be reached. Try again in a moment."),
    "card_page_failed": N_("The payment provider did not open its card page. Try again."),
}


def live_path(request_id: uuid.UUID, suffix: str = "") -> str:
    return f"{LIVE_PATH}/{request_id}{suffix}"


def public_url(request: Request[Any, Any, Any], path: str) -> str:
    """An absolute URL on this brand host (the PSP sends the browser back to it)."""
    scheme = web_state(request).settings.public_scheme
    return f"{scheme}://{request.headers.get('host', '')}{path}"


def secret_cookie(request: Request[Any, Any, Any], request_id: uuid.UUID, secret: str) -> Cookie:
    """The secret of a request's link: script-invisible, sent only to that request's pages."""
    return Cookie(
        key=SECRET_COOKIE,
        value=secret,
        path=live_path(request_id),
        httponly=True,
        secure=web_state(request).settings.public_scheme == "https",
        samesite="lax",
        max_age=SECRET_TTL,
    )


def locale_of(request: Request[Any, Any, Any]) -> str:
    return request_locale(request, current_tenant(request))


def brand_provider(request: Request[Any, Any, Any]) -> PaymentProvider | None:
    """The brand's PSP, or None when it has none configured."""
    try:
        return provider_for(current_tenant(request))
    except PaymentsNotConfiguredError:
        return None


def owns(driver: DriverIdentity | None, charge: ChargeRequest) -> bool:
    """Whether ``driver`` started ``charge`` on their account (a guest's charge is no
    account's, even once its guest account exists)."""
    return (
        driver is not None and charge.guest_email is None and charge.account_id == driver.account_id
    )


async def may_open(
    request: Request[Any, Any, Any], db_session: AsyncSession, charge: ChargeRequest
) -> bool:
    """Its driver, or a browser holding the secret of its link, may open a request."""
    if owns(await signed_in_driver(request, db_session), charge):
        return True
    return charges.secret_matches(charge, request.cookies.get(SECRET_COOKIE))


def render(
    request: Request[Any, Any, Any],
    template: str,
    context: Mapping[str, Any],
    *,
    fragment: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    """A charge screen; never cached (it shows a live charge)."""
    return web_state(request).renderer.render(
        request,
        template,
        context,
        fragment=fragment,
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def bank_link(request: Request[Any, Any, Any], request_id: uuid.UUID, url: str) -> str:
    """The bank's 3-D Secure page, told to send the driver back to the charge afterwards."""
    back = public_url(request, live_path(request_id, "/card"))
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'return_url': back})}"


def after_progress(request: Request[Any, Any, Any], progress: charges.Progress) -> Redirect:
    """Where a request goes once it moved as far as it could: the bank's page for 3-D
    Secure, else its live screen (with a notice when a step must be tried again)."""
    if progress.step is Step.BANK_ACTION and progress.action_url:
        target = bank_link(request, progress.request.id, progress.action_url)
        return Redirect(target, status_code=303)
    notice = {
        Step.CARD_NOT_ENTERED: "card_not_entered",
        Step.PSP_UNAVAILABLE: "psp_unavailable",
    }.get(progress.step)
    path = live_path(progress.request.id)
    return Redirect(path + (f"?notice={notice}" if notice else ""), status_code=303)


def clock(seconds: float | None) -> str:
    """A duration as H:MM:SS (the same in every language)."""
    if seconds is None:
        return ""
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
