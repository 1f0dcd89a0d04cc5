"""Finance: the brand's subscription plans, a form to add one (its monthly fee, VAT rate and
the kWh it includes each billing month), to change those terms (the code stays), and to
retire a plan or offer it again. A plan's prices are SUBSCRIPTION tariffs whose segment ref
is its code, added under Tariffs; the list links them. The rules and their effects are
``billing.subscriptions``'s, the ones the API keeps too."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import subscriptions
from voltlane.billing.subscriptions import PlanCreate, PlanTerms
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import SubscriptionPlan
from voltlane.portal.numbers import parse_localized
from voltlane.portal.pages import audit, read_form, render
from voltlane.portal.tariffs.views import tariff_path
from voltlane.web.auth import requires
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_, request_locale

READ = {"reader": Provide(requires(Permission.FINANCE_READ))}
WRITE = {"writer": Provide(requires(Permission.FINANCE_WRITE))}
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")

Errors = dict[str, str]


def _form_of(plan: SubscriptionPlan, locale: str) -> dict[str, str]:
    """A plan's terms as its form shows them, written the way ``locale`` writes numbers."""
    return {
        "name": plan.name,
        "monthly_fee": format_decimal(plan.monthly_fee, "0.00##", locale=locale),
        "vat_rate": format_decimal(plan.vat_rate, "0.##", locale=locale),
        "included_kwh": str(plan.included_kwh),
    }


def _number(raw: str, locale: str) -> Decimal | None:
    try:
        return parse_localized(raw, locale, point=True)
    except ValueError:
        return None


# The portal's words for each rule of ``subscriptions.PLAN_RULES`` (one place for the rules).
TERM_MESSAGES = {
    "name": N_("Enter a name of up to 120 characters."),
    "monthly_fee": N_("Enter an amount of 0 or more, with up to 4 decimals."),
    "vat_rate": N_("Enter a percentage from 0 to under 100."),
    "included_kwh": N_("Enter whole kWh from 0 to 1,000,000 (0: none included)."),
}


def parse_terms(form: dict[str, str], locale: str) -> tuple[PlanTerms | None, Errors]:
    """A plan's terms as the form states them, or the message beside each field that is
    wrong: not a number, or against the plan rules of ``billing.subscriptions``."""
    fee = _number(form.get("monthly_fee", ""), locale)
    vat = _number(form.get("vat_rate", ""), locale)
    raw_kwh = form.get("included_kwh", "").strip() or "0"
    kwh = int(raw_kwh) if raw_kwh.isdigit() else None
    # A field that is no number stands in as 0 so that the others are checked all the same.
    terms = PlanTerms(
        form.get("name", "").strip(),
        Decimal(0) if fee is None else fee,
        Decimal(0) if vat is None else vat,
        0 if kwh is None else kwh,
    )
    unreadable = {"monthly_fee": fee, "vat_rate": vat, "included_kwh": kwh}
    wrong = {field for field, value in unreadable.items() if value is None}
    wrong.update(subscriptions.invalid_terms(terms))
    errors = {field: message for field, message in TERM_MESSAGES.items() if field in wrong}
    return (None, errors) if errors else (terms, {})


def parse_plan(form: dict[str, str], locale: str) -> tuple[PlanCreate | None, Errors]:
    """The plan the form describes, or the message beside each field that is wrong."""
    terms, errors = parse_terms(form, locale)
    code = form.get("code", "").strip()
    if not CODE_RE.match(code):
        errors = {"code": N_("Up to 36 letters, digits, - or _."), **errors}
    if errors or terms is None:
        return None, errors
    return PlanCreate(code, terms.name, terms.monthly_fee, terms.vat_rate, terms.included_kwh), {}


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
        plans = await subscriptions.list_plans(db_session)
        own, shared = await subscriptions.plan_tariffs(db_session, [p.code for p in plans])
        return render(
            request,
            staff,
            "portal/finance/plans/index.html",
            {
                "tab": "plans",
                "plans": plans,
                "tariffs": own,
                "shared": shared,
                "tariff_path": tariff_path,
                "form": form or {},
                "errors": errors or {},
                "done": {k: request.query_params.get(k) for k in ("added", "saved", "retired")},
            },
            status_code=status_code,
        )

    async def _edit_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        plan: SubscriptionPlan,
        *,
        form: dict[str, str] | None = None,
        errors: Errors | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        own, shared = await subscriptions.plan_tariffs(db_session, [plan.code])
        locale = request_locale(request, current_tenant(request))
        return render(
            request,
            staff,
            "portal/finance/plans/edit.html",
            {
                "tab": "plans",
                "plan": plan,
                "tariffs": own[plan.code],
                "shared": shared,
                "tariff_path": tariff_path,
                "form": form if form is not None else _form_of(plan, locale),
                "errors": errors or {},
                "reactivated": request.query_params.get("reactivated") is not None,
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

    @get("/{plan_id:uuid}", dependencies=READ)
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        plan_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        plan = await subscriptions.get_plan(db_session, plan_id)
        return await self._edit_page(request, db_session, reader, plan)

    @post("/{plan_id:uuid}", dependencies=WRITE, status_code=303)
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        plan_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        plan = await subscriptions.get_plan(db_session, plan_id)
        form = await read_form(request)
        terms, errors = parse_terms(form, request_locale(request, current_tenant(request)))
        if terms is None:
            return await self._edit_page(
                request, db_session, writer, plan, form=form, errors=errors, status_code=400
            )
        plan, changes = await subscriptions.update_plan(db_session, plan_id, terms)
        if changes:
            await audit(
                db_session,
                request,
                writer,
                action="portal.subscription_plan.update",
                entity="subscription_plan",
                entity_id=plan.id,
                detail={"code": plan.code, **{k: list(v) for k, v in changes.items()}},
            )
        return Redirect(f"/portal/finance/plans?saved={plan.code}", status_code=303)

    async def _set_active(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        writer: StaffIdentity,
        plan_id: uuid.UUID,
        *,
        active: bool,
    ) -> Response[Any]:
        plan = await subscriptions.set_plan_active(db_session, plan_id, active=active)
        await audit(
            db_session,
            request,
            writer,
            action=f"portal.subscription_plan.{'reactivate' if active else 'retire'}",
            entity="subscription_plan",
            entity_id=plan.id,
            detail={"code": plan.code},
        )
        target = (
            f"/portal/finance/plans/{plan.id}?reactivated"
            if active
            else f"/portal/finance/plans?retired={plan.code}"
        )
        if request.headers.get("HX-Request"):
            # The confirmed HTMX post loads the next page in full, like the plain form.
            return Response(b"", status_code=200, headers={"HX-Redirect": target})
        return Redirect(target, status_code=303)

    @post("/{plan_id:uuid}/retire", dependencies=WRITE, status_code=303)
    async def retire(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        plan_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        return await self._set_active(request, db_session, writer, plan_id, active=False)

    @post("/{plan_id:uuid}/reactivate", dependencies=WRITE, status_code=303)
    async def reactivate(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        plan_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        return await self._set_active(request, db_session, writer, plan_id, active=True)
