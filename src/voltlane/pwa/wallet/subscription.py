"""The driver's subscription: the brand's plans and what each changes, choosing one,
cancelling the current one at the end of its month."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import driver_plans
from voltlane.billing.driver_plans import AlreadySubscribedError, NotSubscribedError
from voltlane.billing.payment_methods import NoPaymentMethodError, default_payment_method
from voltlane.billing.subscriptions import OverlappingSubscriptionError
from voltlane.core.clock import utcnow
from voltlane.pwa.auth import DriverIdentity
from voltlane.pwa.wallet.common import (
    Errors,
    brand_today,
    day_text,
    driver_of,
    locale_of,
    notice_of,
    parse_uuid,
    read_form,
    render,
    see_other,
)
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_

PATH = "/account/subscription"
NOTICES = {
    "chosen": N_("Your plan is chosen."),
    "cancelled": N_("Your plan is cancelled: it ends on the last day of this month."),
}


class SubscriptionController(Controller):
    path = PATH
    include_in_schema = False

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        driver: DriverIdentity,
        *,
        errors: Errors | None = None,
        notice: str | None = None,
        chosen: str = "",
        status_code: int = 200,
    ) -> Response[str]:
        brand = current_tenant(request)
        locale = locale_of(request)
        today = brand_today(brand)
        status = await driver_plans.plan_status(db_session, driver.account_id, today=today)
        current = status.current
        upcoming = status.upcoming
        included = None
        if current is not None and current.plan.included_kwh:
            used = await driver_plans.included_energy_used(
                db_session, driver.account_id, now=utcnow()
            )
            included = (Decimal(used) / 1000, current.plan.included_kwh)
        return render(
            request,
            "pwa/money/subscription.html",
            {
                "offers": await driver_plans.plan_offers(db_session, now=utcnow(), locale=locale),
                "current": current,
                "current_fee": driver_plans.monthly_fee(current.plan)[1] if current else None,
                "included": included,
                "current_ends": (
                    day_text(current.subscription.ends_on, locale)
                    if current and current.subscription.ends_on
                    else None
                ),
                "renews_on": day_text(status.renews_on, locale) if status.renews_on else None,
                "upcoming": upcoming,
                "upcoming_starts": (
                    day_text(upcoming.subscription.starts_on, locale) if upcoming else None
                ),
                "has_card": await default_payment_method(db_session, driver.account_id) is not None,
                "currency": brand.currency,
                "errors": errors or {},
                "notice": notice,
                "chosen": chosen,
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

    @post("/", status_code=303)
    async def choose(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        raw = (await read_form(request)).get("plan_id", "")
        plan_id = parse_uuid(raw)
        if plan_id is None:
            error = N_("Choose a plan.")
            return await self._page(
                request, db_session, driver, errors={"plan_id": error}, status_code=422
            )
        try:
            await driver_plans.choose_plan(
                db_session, driver.account_id, plan_id, today=brand_today(current_tenant(request))
            )
        except NoPaymentMethodError:
            error = N_("Add a card under Payment methods before you choose a plan.")
        except AlreadySubscribedError:
            error = N_("You have a plan already: cancel it first, then choose the next one.")
        except OverlappingSubscriptionError:
            error = N_("Your account is invoiced for these days already; choose again tomorrow.")
        else:
            return see_other(f"{PATH}?notice=chosen")
        return await self._page(
            request,
            db_session,
            driver,
            errors={"plan_id": error},
            chosen=str(plan_id),
            status_code=409,
        )

    @post("/cancel", status_code=303)
    async def cancel(
        self, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Response[Any]:
        driver = await driver_of(request, db_session)
        if isinstance(driver, Response):
            return driver
        try:
            await driver_plans.cancel_plan(
                db_session, driver.account_id, today=brand_today(current_tenant(request))
            )
        except NotSubscribedError:
            return await self._page(
                request,
                db_session,
                driver,
                errors={"cancel": N_("You have no plan to cancel.")},
                status_code=409,
            )
        return see_other(f"{PATH}?notice=cancelled")
