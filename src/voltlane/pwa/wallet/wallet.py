"""The driver's prepaid wallet: balance, latest moves, and topping it up with the default
card (a preset amount or one typed in the brand's language)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from babel.numbers import format_currency
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import driver_wallet
from voltlane.billing.payment_methods import NoPaymentMethodError, default_payment_method
from voltlane.billing.providers import PaymentsNotConfiguredError, provider_for
from voltlane.core.errors import ValidationError
from voltlane.models.tenant import Payment, PaymentStatus
from voltlane.pwa.auth import DriverIdentity
from voltlane.pwa.wallet.common import (
    Errors,
    PageNumber,
    PageOf,
    amount_example,
    driver_of,
    limit_of,
    locale_of,
    offset_of,
    parse_amount,
    parse_uuid,
    public_url,
    read_form,
    render,
    see_other,
)
from voltlane.tariff.rounding import from_minor
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import N_

PATH = "/account/wallet"


def challenge_url(payment: Payment, return_url: str) -> str | None:
    """Where the driver's bank shows its 3-D Secure challenge, when the PSP named a page to
    send the browser to; None when only the PSP's own script can show it (then the driver
    reads why, and nothing is charged). The page is told where to send the driver back."""
    action = payment.action or {}
    url: object = None
    redirect = action.get("redirect_to_url")
    sdk = action.get("use_stripe_sdk")
    if isinstance(redirect, dict):  # Stripe's redirect flow
        url = redirect.get("url")
    elif isinstance(sdk, dict) and sdk.get("type") == "three_d_secure_redirect":  # Stripe
        url = sdk.get("stripe_js")
    elif action.get("type") == "redirect" and action.get("method", "GET") == "GET":  # Adyen
        url = action.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("https", "http"):
        return None
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query), ("return_url", return_url)])
    return urlunsplit(parts._replace(query=query))


class WalletController(Controller):
    path = PATH
    include_in_schema = False

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        driver: DriverIdentity,
        *,
        page: int = 1,
        values: dict[str, str] | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        brand = current_tenant(request)
        locale = locale_of(request)
        balance, entries = await driver_wallet.wallet_moves(
            db_session,
            driver.account_id,
            brand.currency,
            limit=limit_of(page),
            offset=offset_of(page),
        )
        least, most = driver_wallet.top_up_limits(brand.currency)
        presets = driver_wallet.preset_amounts(brand.currency)
        form = values or {}
        return render(
            request,
            "pwa/money/wallet.html",
            {
                "balance": balance,
                "page": PageOf.of(entries, page),
                "currency": brand.currency,
                "presets": presets,
                "card": await default_payment_method(db_session, driver.account_id),
                # A fresh token per form shown; a form shown again after an error keeps
                # its own, so that it still counts as one top-up.
                "form_token": form.get("form_token") or str(uuid.uuid4()),
                "values": form,
                "errors": errors or {},
                "amount_vars": {
                    "example": amount_example(presets[1], brand.currency, locale),
                    "least": format_currency(
                        from_minor(least, brand.currency), brand.currency, locale=locale
                    ),
                    "most": format_currency(
                        from_minor(most, brand.currency), brand.currency, locale=locale
                    ),
                },
            },
            status_code=status_code,
        )

    @get("/")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        page: PageNumber = 1,
    ) -> Response[Any]:
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        return await self._page(request, db_session, driver, page=page)

    def _amount(
        self, form: dict[str, str], currency: str, locale: str, presets: list[int]
    ) -> tuple[int | None, Errors]:
        custom, preset = form.get("custom", ""), form.get("preset", "")
        if custom:
            amount, error = parse_amount(custom, currency, locale)
            field = "custom"
        elif preset:
            amount = int(preset) if preset.isdigit() and int(preset) in presets else None
            error = None if amount is not None else N_("Choose one of the amounts.")
            field = "preset"
        else:
            return None, {"preset": N_("Choose an amount or type one.")}
        if amount is not None:
            least, most = driver_wallet.top_up_limits(currency)
            if not least <= amount <= most:
                amount, error = None, N_("Enter an amount from %(least)s to %(most)s.")
        return amount, ({field: error} if error else {})

    @post("/top-ups", status_code=303)
    async def top_up(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        brand = current_tenant(request)
        form = await read_form(request)
        token = parse_uuid(form.get("form_token", ""))
        if token is None:
            form.pop("form_token", None)
            errors = {"form_token": N_("This form has expired: choose the amount again.")}
            return await self._page(
                request, db_session, driver, values=form, errors=errors, status_code=422
            )
        presets = driver_wallet.preset_amounts(brand.currency)
        amount, errors = self._amount(form, brand.currency, locale_of(request), presets)
        if amount is None:
            return await self._page(
                request, db_session, driver, values=form, errors=errors, status_code=422
            )
        try:
            outcome = await driver_wallet.top_up_with_default_card(
                web_state(request).database,
                brand.key,
                driver.account_id,
                provider=provider_for(brand),
                amount=amount,
                currency=brand.currency,
                form_token=token,
            )
        except NoPaymentMethodError:
            errors = {"card": N_("Add a card under Payment methods to top up your wallet.")}
        except PaymentsNotConfiguredError:
            errors = {"card": N_("Top-ups are not available at the moment.")}
        except ValidationError:  # the limits, checked again by the domain
            field = "custom" if form.get("custom") else "preset"
            errors = {field: N_("Enter an amount from %(least)s to %(most)s.")}
        else:
            result = f"{PATH}/top-ups/{outcome.payment.id}"
            url = challenge_url(outcome.payment, public_url(request, f"{result}?returned=1"))
            if url is not None and outcome.payment.status is PaymentStatus.REQUIRES_ACTION:
                return Redirect(url, status_code=303)
            return see_other(result)
        return await self._page(
            request, db_session, driver, values=form, errors=errors, status_code=409
        )

    @get("/top-ups/{payment_id:uuid}")
    async def top_up_result(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        payment_id: FromPath[uuid.UUID],
        returned: FromQuery[bool] = False,
    ) -> Response[Any]:
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        brand = current_tenant(request)
        payment = await driver_wallet.get_top_up(db_session, driver.account_id, payment_id)
        balance, _ = await driver_wallet.wallet_moves(
            db_session, driver.account_id, brand.currency, limit=0, offset=0
        )
        return render(
            request,
            "pwa/money/top_up.html",
            {
                "payment": payment,
                "balance": balance,
                "currency": brand.currency,
                "challenge_url": challenge_url(
                    payment, public_url(request, f"{PATH}/top-ups/{payment.id}?returned=1")
                ),
                # Back from the bank: its answer reaches Voltlane through the PSP's webhook.
                "returned": returned,
            },
        )
