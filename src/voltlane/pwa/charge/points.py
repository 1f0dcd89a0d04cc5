"""Finding a charging point and asking it to charge: /charge (scan its QR code or type its
code), /charge/{code} (the point, its prices, how to pay) and the two ways to start there,
as a guest paying by card or on the signed-in driver's account."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import charge_requests as charges
from voltlane.billing.charge_requests import Availability, EvseInfo, PayWith, Step
from voltlane.billing.payments import PaymentStateError
from voltlane.billing.providers import ProviderError
from voltlane.core.clock import utcnow
from voltlane.pwa.auth import DriverIdentity, sign_in_url, signed_in_driver
from voltlane.pwa.charge.common import (
    MAX_INPUT,
    after_progress,
    brand_provider,
    live_path,
    locale_of,
    public_url,
    render,
    secret_cookie,
)
from voltlane.station.service import connected_stations
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import N_

UNKNOWN_CODE = N_("We know no charging point with this code. Check the code on the charger.")
NO_CODE = N_("Enter the code printed on the charger.")
UNAVAILABLE = {
    Availability.OFFLINE: N_("This charger is offline at the moment. Try another charging point."),
    Availability.OUT_OF_ORDER: N_(
        "This charging point is out of order. Try another charging point."
    ),
}
NO_CARD_PAYMENTS = N_("Paying by card is not possible here at the moment.")
NO_PRICE = N_(
    "There is no price for this charging point at the moment, so it cannot be started from the app."
)
NOT_VERIFIED = N_("Confirm your e-mail address first: we sent you a link.")

Errors = dict[str, str]


async def _read_form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip()[:MAX_INPUT] for k, v in form.items() if isinstance(v, str)}


async def _online(request: Request[Any, Any, Any], evse: EvseInfo) -> bool:
    tenant = current_tenant(request)
    async with web_state(request).database.platform_session() as platform:
        return evse.station_id in await connected_stations(platform, tenant.key, [evse.station_id])


async def _index(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    *,
    code: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    driver = await signed_in_driver(request, db_session)
    running = await charges.open_requests(db_session, driver.account_id) if driver else []
    return render(
        request,
        "pwa/charge/index.html",
        {"code": code, "error": error, "running": running, "live_path": live_path},
        status_code=status_code,
    )


async def _point(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    code: str,
    evse: EvseInfo,
    *,
    values: dict[str, str] | None = None,
    errors: Errors | None = None,
    status_code: int = 200,
) -> Response[str]:
    tenant = current_tenant(request)
    driver = await signed_in_driver(request, db_session)
    offer = await charges.evse_offer(
        db_session,
        tenant,
        code,
        evse,
        online=await _online(request, evse),
        account_id=driver.account_id if driver and driver.verified else None,
        locale=locale_of(request),
        now=utcnow(),
    )
    paying = (
        await charges.account_payment(db_session, tenant, driver.account_id)
        if driver and driver.verified
        else None
    )
    return render(
        request,
        "pwa/charge/point.html",
        {
            "offer": offer,
            "driver": driver,
            "paying": paying,
            "card_payments": brand_provider(request) is not None,
            "values": values or {},
            "errors": errors or {},
            "unavailable": UNAVAILABLE.get(offer.availability),
            "sign_in": sign_in_url(charges.charge_path(code)),
            "PayWith": PayWith,
            "charge_path": charges.charge_path,
            "brand_currency": tenant.currency,
        },
        status_code=status_code,
    )


class ChargeController(Controller):
    path = "/charge"
    include_in_schema = False

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        code: FromQuery[str | None] = None,
    ) -> Response[Any]:
        """Scan the charger's QR code or type its code; the driver's running charges."""
        if code is None:
            return await _index(request, db_session)
        text = code[:MAX_INPUT]
        if not text.strip():
            return await _index(request, db_session, error=NO_CODE, status_code=400)
        try:
            canonical, _ = await charges.find_evse(db_session, text)
        except charges.UnknownEvseCodeError:
            return await _index(request, db_session, code=text, error=UNKNOWN_CODE, status_code=404)
        return Redirect(charges.charge_path(canonical), status_code=303)

    @get("/{code:str}")
    async def point(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        code: FromPath[str],
    ) -> Response[Any]:
        """The charging point: where, which plug, its prices, and how to pay."""
        try:
            canonical, evse = await charges.find_evse(db_session, code[:MAX_INPUT])
        except charges.UnknownEvseCodeError:
            return await _index(
                request, db_session, code=code[:MAX_INPUT], error=UNKNOWN_CODE, status_code=404
            )
        if canonical != code:
            # One address per charging point, whatever form of its code was typed.
            return Redirect(charges.charge_path(canonical), status_code=301)
        return await _point(request, db_session, canonical, evse)

    @post("/{code:str}/guest", status_code=303)
    async def guest(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        code: FromPath[str],
    ) -> Response[Any]:
        """A guest starts: an e-mail address for the receipt, then the PSP's card page."""
        canonical, evse = await charges.find_evse(db_session, code[:MAX_INPUT])
        values = await _read_form(request)
        try:
            email = charges.check_email(values.get("email", ""))
        except charges.InvalidChargeRequestError:
            errors = {"email": N_("Enter the e-mail address your receipt should go to.")}
            return await _point(
                request, db_session, canonical, evse, values=values, errors=errors, status_code=422
            )
        refused = await self._refusal(request, db_session, canonical, evse, values)
        if refused is not None:
            return refused
        opened = await charges.open_request(
            db_session, evse, locale=locale_of(request), guest_email=email
        )
        return await self._to_card_page(request, db_session, canonical, evse, opened, values=values)

    @post("/{code:str}/account", status_code=303)
    async def account(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        code: FromPath[str],
    ) -> Response[Any]:
        """A signed-in driver starts on their account: from the wallet, with the default
        card, or with a card added on the way."""
        canonical, evse = await charges.find_evse(db_session, code[:MAX_INPUT])
        driver = await signed_in_driver(request, db_session)
        if driver is None:
            return Redirect(sign_in_url(charges.charge_path(canonical)), status_code=303)
        if not driver.verified:
            errors = {"account": NOT_VERIFIED}
            return await _point(
                request, db_session, canonical, evse, errors=errors, status_code=403
            )
        refused = await self._refusal(request, db_session, canonical, evse, {}, driver=driver)
        if refused is not None:
            return refused
        tenant = current_tenant(request)
        paying = await charges.account_payment(db_session, tenant, driver.account_id)
        opened = await charges.open_request(
            db_session,
            evse,
            locale=locale_of(request),
            account_id=driver.account_id,
            wallet=paying.pay_with is PayWith.WALLET,
            card=paying.pay_with is PayWith.CARD,
        )
        if paying.pay_with is PayWith.NEW_CARD:
            return await self._to_card_page(request, db_session, canonical, evse, opened, values={})
        # Committed before the charger is asked: no connection waits idle meanwhile.
        await db_session.commit()
        try:
            progress = await charges.advance(
                web_state(request).database,
                tenant,
                opened.request.id,
                provider=brand_provider(request),
                commands=web_state(request).commands,
            )
        except ProviderError:
            progress = charges.Progress(opened.request, Step.PSP_UNAVAILABLE)
        except PaymentStateError:
            progress = charges.Progress(opened.request, Step.SHOW)
        response = after_progress(request, progress)
        response.set_cookie(secret_cookie(request, opened.request.id, opened.secret))
        return response

    async def _refusal(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        code: str,
        evse: EvseInfo,
        values: dict[str, str],
        *,
        driver: DriverIdentity | None = None,
    ) -> Response[str] | None:
        """The page again, with the reason, when no start may be asked for here now: the
        charger offline or out of order, no price in force, no card payments for a guest."""
        offer = await charges.evse_offer(
            db_session,
            current_tenant(request),
            code,
            evse,
            online=await _online(request, evse),
            account_id=driver.account_id if driver is not None else None,
            locale=locale_of(request),
            now=utcnow(),
        )
        reason = UNAVAILABLE.get(offer.availability)
        key = "account" if driver is not None else "email"
        if reason is None and offer.prices is None:
            reason = NO_PRICE
        if reason is None and driver is None and brand_provider(request) is None:
            reason = NO_CARD_PAYMENTS
        if reason is None:
            return None
        return await _point(
            request, db_session, code, evse, values=values, errors={key: reason}, status_code=409
        )

    async def _to_card_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        code: str,
        evse: EvseInfo,
        opened: charges.Opened,
        *,
        values: dict[str, str],
    ) -> Response[Any]:
        request_id = opened.request.id
        provider = brand_provider(request)
        if provider is None:
            errors = {"email": NO_CARD_PAYMENTS}
            return await _point(
                request, db_session, code, evse, values=values, errors=errors, status_code=409
            )
        await db_session.commit()
        # The secret rides along once: a phone may come back from the PSP in another browser
        # than the app, which then has no cookie yet.
        secret = quote(opened.secret, safe="")
        try:
            target = await charges.begin_card_entry(
                web_state(request).database,
                current_tenant(request),
                request_id,
                provider=provider,
                return_url=public_url(request, live_path(request_id, f"/card?k={secret}")),
                cancel_url=public_url(request, live_path(request_id, f"?k={secret}")),
            )
        except ProviderError:
            target = live_path(request_id, "?notice=card_page_failed")
        response = Redirect(target, status_code=303)
        response.set_cookie(secret_cookie(request, request_id, opened.secret))
        return response
