"""Finance: the brand's subscription plans, and a form to add one (its monthly fee, VAT
rate and the kWh it includes each billing month). A plan's prices are SUBSCRIPTION tariffs
whose segment ref is its code, added under Tariffs."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import subscriptions
from voltlane.billing.subscriptions import MAX_INCLUDED_KWH, PlanCreate
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.numbers import parse_localized
from voltlane.portal.pages import audit, read_form, render
from voltlane.web.auth import requires
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_, request_locale

READ = {"reader": Provide(requires(Permission.FINANCE_READ))}
WRITE = {"writer": Provide(requires(Permission.FINANCE_WRITE))}
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")

Errors = dict[str, str]


def _number(raw: str, locale: str) -> Decimal | None:
    try:
        return parse_localized(raw, locale, point=True)
    except ValueError:
        return None


def parse_plan(form: dict[str, str], locale: str) -> tuple[PlanCreate | None, Errors]:
    """The plan the form describes, or the message beside each field that is wrong."""
    errors: Errors = {}
    code = form.get("code", "").strip()
    if not CODE_RE.match(code):
        errors["code"] = N_("Up to 36 letters, digits, - or _.")
    name = form.get("name", "").strip()
    if not 1 <= len(name) <= 120:
        errors["name"] = N_("Enter a name of up to 120 characters.")
    fee = _number(form.get("monthly_fee", ""), locale)
    if fee is None or fee < 0 or fee.as_tuple().exponent < -4:  # type: ignore[operator]
        errors["monthly_fee"] = N_("Enter an amount of 0 or more, with up to 4 decimals.")
    vat = _number(form.get("vat_rate", ""), locale)
    if vat is None or not Decimal(0) <= vat < Decimal(100):
        errors["vat_rate"] = N_("Enter a percentage from 0 to under 100.")
    raw_kwh = form.get("included_kwh", "").strip() or "0"
    kwh = int(raw_kwh) if raw_kwh.isdigit() else None
    if kwh is None or kwh > MAX_INCLUDED_KWH:
        errors["included_kwh"] = N_("Enter whole kWh from 0 to 1,000,000 (0: none included).")
    if errors or fee is None or vat is None or kwh is None:
        return None, errors
    return PlanCreate(code, name, fee, vat, kwh), {}


class PlanController(Controller):
    path = "/plans"
    include_in_schema = False

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        *,
        form: dict[str, str] | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        return render(
            request,
            staff,
            "portal/finance/plans/index.html",
            {
                "tab": "plans",
                "plans": await subscriptions.list_plans(db_session),
                "form": form or {},
                "errors": errors or {},
                "added": request.query_params.get("added"),
            },
            status_code=status_code,
        )

    @get("/", dependencies=READ)
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        return await self._page(request, db_session, reader)

    @post("/", dependencies=WRITE, status_code=303)
    async def add(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        brand = current_tenant(request)
        form = await read_form(request)
        data, errors = parse_plan(form, request_locale(request, brand))
        if data is not None:
            try:
                plan = await subscriptions.create_plan(db_session, data, currency=brand.currency)
            except subscriptions.DuplicatePlanError:
                errors = {"code": N_("A plan with this code exists.")}
            else:
                await audit(
                    db_session,
                    request,
                    writer,
                    action="portal.subscription_plan.create",
                    entity="subscription_plan",
                    entity_id=plan.id,
                    detail={"code": plan.code, "included_kwh": plan.included_kwh},
                )
                return Redirect(f"/portal/finance/plans?added={plan.code}", status_code=303)
        return await self._page(
            request, db_session, writer, form=form, errors=errors, status_code=400
        )
