"""Subscription plans and the accounts subscribed to them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.common import audit
from voltlane.billing import subscriptions
from voltlane.models.tenant import Subscription, SubscriptionPlan
from voltlane.web.context import current_tenant

PlanCode = Annotated[str, Meta(pattern=r"^[A-Za-z0-9_-]{1,36}$")]


class PlanCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    code: PlanCode
    name: Annotated[str, Meta(min_length=1, max_length=120)]
    monthly_fee: Annotated[Decimal, Meta(description="Excl. VAT, in the brand's currency")]
    vat_rate: Annotated[Decimal, Meta(description="Percent")]
    included_kwh: Annotated[
        int,
        Meta(
            ge=0,
            le=subscriptions.MAX_INCLUDED_KWH,
            description="Whole kWh per billing month not charged at the ENERGY price (0: none)",
        ),
    ] = 0


class PlanUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A plan's new terms (its code and currency stay); checked by the plan rules of
    ``billing.subscriptions``, the portal's too."""

    name: str
    monthly_fee: Annotated[Decimal, Meta(description="Excl. VAT, for every month not invoiced")]
    vat_rate: Annotated[Decimal, Meta(description="Percent")]
    included_kwh: Annotated[
        int, Meta(description="Whole kWh per billing month, for CDRs rated from now on")
    ] = 0


class PlanRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    code: str
    name: str
    currency: str
    monthly_fee: Decimal
    vat_rate: Decimal
    included_kwh: int
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, plan: SubscriptionPlan) -> PlanRead:
        return cls(
            id=plan.id,
            code=plan.code,
            name=plan.name,
            currency=plan.currency,
            monthly_fee=plan.monthly_fee,
            vat_rate=plan.vat_rate,
            included_kwh=plan.included_kwh,
            active=plan.active,
            created_at=plan.created_at,
        )


class SubscriptionCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    plan_code: PlanCode
    starts_on: date


class SubscriptionEnd(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    ends_on: Annotated[date, Meta(description="The last day subscribed (inclusive)")]


class SubscriptionRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    account_id: uuid.UUID
    plan_id: uuid.UUID
    starts_on: date
    ends_on: date | None

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionRead:
        return cls(
            id=s.id,
            account_id=s.account_id,
            plan_id=s.plan_id,
            starts_on=s.starts_on,
            ends_on=s.ends_on,
        )


class SubscriptionController(Controller):
    tags = ["Invoicing"]

    @post(
        "/subscription-plans", summary="Add a subscription plan (its prices: SUBSCRIPTION tariffs)"
    )
    async def create_plan(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        data: JSONBody[PlanCreate],
    ) -> PlanRead:
        plan = await subscriptions.create_plan(
            db_session,
            subscriptions.PlanCreate(
                data.code, data.name, data.monthly_fee, data.vat_rate, data.included_kwh
            ),
            currency=current_tenant(request).currency,
        )
        await audit(
            db_session,
            request,
            caller,
            action="api.subscription_plan.create",
            entity="subscription_plan",
            entity_id=plan.id,
            detail={"code": plan.code, "included_kwh": plan.included_kwh},
        )
        return PlanRead.of(plan)

    @put("/subscription-plans/{plan_id:uuid}", summary="Change a plan's name, fee, VAT, kWh")
    async def update_plan(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        plan_id: FromPath[uuid.UUID],
        data: JSONBody[PlanUpdate],
    ) -> PlanRead:
        plan, changes = await subscriptions.update_plan(
            db_session,
            plan_id,
            subscriptions.PlanTerms(data.name, data.monthly_fee, data.vat_rate, data.included_kwh),
        )
        if changes:
            await audit(
                db_session,
                request,
                caller,
                action="api.subscription_plan.update",
                entity="subscription_plan",
                entity_id=plan.id,
                detail={"code": plan.code, **{k: list(v) for k, v in changes.items()}},
            )
        return PlanRead.of(plan)

    async def _set_active(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        caller: ApiCaller,
        plan_id: uuid.UUID,
        *,
        active: bool,
    ) -> PlanRead:
        plan = await subscriptions.set_plan_active(db_session, plan_id, active=active)
        await audit(
            db_session,
            request,
            caller,
            action=f"api.subscription_plan.{'reactivate' if active else 'retire'}",
            entity="subscription_plan",
            entity_id=plan.id,
            detail={"code": plan.code},
        )
        return PlanRead.of(plan)

    @post(
        "/subscription-plans/{plan_id:uuid}/retire",
        summary="Retire a plan: no longer offered; its subscribers keep it until they end",
        status_code=200,
    )
    async def retire_plan(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        plan_id: FromPath[uuid.UUID],
    ) -> PlanRead:
        return await self._set_active(request, db_session, caller, plan_id, active=False)

    @post(
        "/subscription-plans/{plan_id:uuid}/reactivate",
        summary="Offer a retired plan again",
        status_code=200,
    )
    async def reactivate_plan(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        plan_id: FromPath[uuid.UUID],
    ) -> PlanRead:
        return await self._set_active(request, db_session, caller, plan_id, active=True)

    @get("/subscription-plans", summary="List subscription plans")
    async def list_plans(self, db_session: NamedDependency[AsyncSession]) -> list[PlanRead]:
        return [PlanRead.of(p) for p in await subscriptions.list_plans(db_session)]

    @post(
        "/customer-accounts/{account_id:uuid}/subscriptions",
        summary="Subscribe an account to a plan from a day on",
    )
    async def subscribe(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        account_id: FromPath[uuid.UUID],
        data: JSONBody[SubscriptionCreate],
    ) -> SubscriptionRead:
        subscription = await subscriptions.subscribe(
            db_session, account_id, data.plan_code, starts_on=data.starts_on
        )
        await audit(
            db_session,
            request,
            caller,
            action="api.subscription.create",
            entity="subscription",
            entity_id=subscription.id,
            detail={"plan": data.plan_code, "starts_on": data.starts_on.isoformat()},
        )
        return SubscriptionRead.of(subscription)

    @get(
        "/customer-accounts/{account_id:uuid}/subscriptions",
        summary="An account's subscriptions, oldest first",
    )
    async def list_subscriptions(
        self, db_session: NamedDependency[AsyncSession], account_id: FromPath[uuid.UUID]
    ) -> list[SubscriptionRead]:
        rows = await subscriptions.subscriptions_of(db_session, account_id)
        return [SubscriptionRead.of(s) for s in rows]

    @post("/subscriptions/{subscription_id:uuid}/end", summary="End a subscription on a day")
    async def end(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        subscription_id: FromPath[uuid.UUID],
        data: JSONBody[SubscriptionEnd],
    ) -> SubscriptionRead:
        subscription = await subscriptions.end_subscription(
            db_session, subscription_id, ends_on=data.ends_on
        )
        await audit(
            db_session,
            request,
            caller,
            action="api.subscription.end",
            entity="subscription",
            entity_id=subscription.id,
            detail={"ends_on": data.ends_on.isoformat()},
        )
        return SubscriptionRead.of(subscription)
