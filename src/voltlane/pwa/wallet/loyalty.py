"""The driver's loyalty points: balance, latest moves, the brand's rule in words, and the
switch that spends points as a discount on the next sessions."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import driver_wallet
from voltlane.billing.accounts import get_account
from voltlane.billing.settlement import LoyaltyPolicy
from voltlane.pwa.auth import DriverIdentity
from voltlane.pwa.wallet.common import (
    Errors,
    PageNumber,
    PageOf,
    driver_of,
    limit_of,
    notice_of,
    offset_of,
    read_form,
    render,
    see_other,
)
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_

PATH = "/account/loyalty"
NOTICES = {
    "on": N_("Your points are spent as a discount on your next sessions."),
    "off": N_("Your points are kept: they are not spent on your next sessions."),
}
# What the checkbox sends when ticked; absent when not.
SWITCH_ON = ("1", "on")


class LoyaltyController(Controller):
    path = PATH
    include_in_schema = False

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        driver: DriverIdentity,
        *,
        page: int = 1,
        notice: str | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        brand = current_tenant(request)
        balance, entries = await driver_wallet.loyalty_moves(
            db_session, driver.account_id, limit=limit_of(page), offset=offset_of(page)
        )
        account = await get_account(db_session, driver.account_id)
        return render(
            request,
            "pwa/money/loyalty.html",
            {
                "policy": LoyaltyPolicy.of(brand),
                "balance": balance,
                "page": PageOf.of(entries, page),
                "redeem": account.redeem_points,
                "currency": brand.currency,
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
        page: PageNumber = 1,
        notice: FromQuery[str | None] = None,
    ) -> Response[Any]:
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        return await self._page(
            request, db_session, driver, page=page, notice=notice_of(notice, NOTICES)
        )

    @post("/redeem", status_code=303)
    async def redeem(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        raw = (await read_form(request)).get("redeem")
        if raw is not None and raw not in SWITCH_ON:
            errors = {"redeem": N_("Tick the box or leave it empty.")}
            return await self._page(request, db_session, driver, errors=errors, status_code=422)
        if LoyaltyPolicy.of(current_tenant(request)) is None:
            errors = {"redeem": N_("This brand has no loyalty programme.")}
            return await self._page(request, db_session, driver, errors=errors, status_code=409)
        on = raw is not None
        await driver_wallet.set_redeem_points(db_session, driver.account_id, redeem=on)
        return see_other(f"{PATH}?notice={'on' if on else 'off'}")
