"""The driver's saved cards: the list, adding one on the PSP's hosted page, choosing the
default, removing one.

Adding a card leaves the app: the PSP's page takes the card and sends the browser back to
``/account/payment-methods/return``. The PSP's reference of that card entry travels in a
short-lived cookie signed for this brand and account, so the return page asks the PSP about
the entry this browser started and no other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import payment_methods
from voltlane.billing.payment_methods import CardOfAnotherAccountError, NewCard
from voltlane.billing.providers import (
    PaymentsNotConfiguredError,
    ProviderDeclinedError,
    ProviderUnavailableError,
    provider_for,
)
from voltlane.pwa.auth import DriverIdentity
from voltlane.pwa.wallet.common import (
    Errors,
    driver_of,
    locale_of,
    notice_of,
    parse_uuid,
    public_url,
    read_form,
    render,
    see_other,
)
from voltlane.web.auth import http_only_cookie
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import N_

PATH = "/account/payment-methods"
ENTRY_COOKIE = "vl_card_entry"
ENTRY_TTL = 24 * 3600  # seconds; the PSP's hosted page expires sooner
NOTICES = {
    "added": N_("Your card is saved."),
    "known": N_("This card was saved already."),
    "default": N_("This card is now your default card."),
    "removed": N_("The card is removed from your account."),
    "cancelled": N_("You left the card page: no card was added."),
    "declined": N_(
        "The card could not be saved: your bank or the payment provider declined it."
        " Try another card."
    ),
    "lost": N_("We could not find the card you were adding. Add it again, please."),
}


def _signature(request: Request[Any, Any, Any], payload: str) -> str:
    secret = web_state(request).settings.secret_key.encode()
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def _entry_cookie_value(request: Request[Any, Any, Any], account_id: uuid.UUID, ref: str) -> str:
    payload = json.dumps(
        {
            "t": current_tenant(request).key,
            "a": str(account_id),
            "r": ref,
            "e": int(time.time()) + ENTRY_TTL,
        },
        separators=(",", ":"),
    )
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{encoded}.{_signature(request, encoded)}"


def _entry_of(request: Request[Any, Any, Any], account_id: uuid.UUID) -> str | None:
    """The card entry this browser started for this brand and account, if still valid."""
    raw = request.cookies.get(ENTRY_COOKIE) or ""
    encoded, _, signature = raw.partition(".")
    if not encoded or not hmac.compare_digest(signature, _signature(request, encoded)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError:
        return None
    if (
        data.get("t") != current_tenant(request).key
        or data.get("a") != str(account_id)
        or int(data.get("e", 0)) < time.time()
    ):
        return None
    ref = data.get("r")
    return ref if isinstance(ref, str) and ref else None


def _forget_entry(request: Request[Any, Any, Any], response: Response[Any]) -> Response[Any]:
    response.set_cookie(http_only_cookie(request, ENTRY_COOKIE, "", 0))
    return response


class PaymentMethodsController(Controller):
    path = PATH
    include_in_schema = False

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        driver: DriverIdentity,
        *,
        notice: str | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        return render(
            request,
            "pwa/money/payment_methods.html",
            {
                "methods": await payment_methods.list_payment_methods(
                    db_session, driver.account_id
                ),
                "form_token": str(uuid.uuid4()),
                "notice": notice,
                "errors": errors or {},
            },
            status_code=status_code,
        )

    @get("/")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        notice: FromQuery[str | None] = None,
    ) -> Response[Any]:
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        return await self._page(request, db_session, driver, notice=notice_of(notice, NOTICES))

    @post("/add", status_code=303)
    async def add(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        token = parse_uuid((await read_form(request)).get("form_token", ""))
        if token is None:
            errors = {"add": N_("This form has expired: try again.")}
            return await self._page(request, db_session, driver, errors=errors, status_code=422)
        brand = current_tenant(request)
        try:
            provider = provider_for(brand)
            entry = await provider.start_card_entry(
                reference=str(driver.account_id),
                customer=await payment_methods.payment_customer(
                    db_session, driver.account_id, provider.name
                ),
                email=driver.email,
                return_url=public_url(request, f"{PATH}/return"),
                cancel_url=public_url(request, f"{PATH}/cancelled"),
                locale=locale_of(request),
                # A double tap on "Add a card" opens the same page at the PSP.
                idempotency_key=f"voltlane-card-entry-{driver.account_id}-{token}",
            )
        except PaymentsNotConfiguredError:
            errors = {"add": N_("Cards cannot be added at the moment.")}
            return await self._page(request, db_session, driver, errors=errors, status_code=409)
        except ProviderUnavailableError:
            errors = {"add": N_("The payment provider cannot be reached. Try again in a moment.")}
            return await self._page(request, db_session, driver, errors=errors, status_code=503)
        except ProviderDeclinedError:
            errors = {"add": N_("The payment provider refused to open the card page.")}
            return await self._page(request, db_session, driver, errors=errors, status_code=502)
        response = Redirect(entry.redirect_url, status_code=303)
        response.set_cookie(
            http_only_cookie(
                request,
                ENTRY_COOKIE,
                _entry_cookie_value(request, driver.account_id, entry.reference),
                ENTRY_TTL,
            )
        )
        return response

    @get("/return")
    async def returned(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """Where the PSP's page sends the browser back: the card is saved, still being
        processed, or declined."""
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        reference = _entry_of(request, driver.account_id)
        if reference is None:
            return see_other(f"{PATH}?notice=lost")
        brand = current_tenant(request)
        try:
            provider = provider_for(brand)
            card = await provider.finish_card_entry(reference)
        except ProviderDeclinedError:
            return _forget_entry(request, see_other(f"{PATH}?notice=declined"))
        except (ProviderUnavailableError, PaymentsNotConfiguredError):
            return render(
                request,
                "pwa/money/card_entry.html",
                {"state": "unavailable"},
                status_code=503,
            )
        if card is None:
            return render(request, "pwa/money/card_entry.html", {"state": "processing"})
        try:
            saved = await payment_methods.save_card(
                db_session,
                driver.account_id,
                NewCard(
                    provider=provider.name,
                    payment_method=card.payment_method,
                    customer=card.customer,
                    label=card.label,
                    expires=card.expires,
                ),
            )
        except CardOfAnotherAccountError:
            return _forget_entry(request, see_other(f"{PATH}?notice=declined"))
        notice = "added" if saved.created else "known"
        return _forget_entry(request, see_other(f"{PATH}?notice={notice}"))

    @get("/cancelled")
    async def cancelled(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        """Where the PSP's page sends a driver who gave up."""
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        return _forget_entry(request, see_other(f"{PATH}?notice=cancelled"))

    @post("/{method_id:uuid}/default", status_code=303)
    async def make_default(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        method_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        await payment_methods.make_default(db_session, driver.account_id, method_id)
        return see_other(f"{PATH}?notice=default")

    @post("/{method_id:uuid}/remove", status_code=303)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        method_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        # The card leaves the account now; a job detaches it at the PSP after the commit
        # (an outage of the PSP never blocks the removal).
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        await payment_methods.remove_payment_method(
            db_session, current_tenant(request).key, driver.account_id, method_id
        )
        return see_other(f"{PATH}?notice=removed")
