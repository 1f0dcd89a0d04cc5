"""Queries of the plans a driver can choose in the app: active plans and their prices."""

from __future__ import annotations

import uuid

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import CustomerAccount, SubscriptionPlan, TariffVersion
from voltlane.tariff import SegmentKind


class DriverPlanRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def lock_account(self, account_id: uuid.UUID) -> CustomerAccount | None:
        """The account, locked: a driver's plan changes one request at a time (the lock
        ``subscribe`` takes too)."""
        return await self.db_session.get(CustomerAccount, account_id, with_for_update=True)

    async def active_plans(self) -> list[SubscriptionPlan]:
        return list(
            await self.db_session.scalars(
                select(SubscriptionPlan)
                .where(SubscriptionPlan.active.is_(True))
                .order_by(SubscriptionPlan.monthly_fee, SubscriptionPlan.code)
            )
        )

    async def plan(self, plan_id: uuid.UUID) -> SubscriptionPlan | None:
        return await self.db_session.get(SubscriptionPlan, plan_id)

    async def plans(self, plan_ids: list[uuid.UUID]) -> list[SubscriptionPlan]:
        if not plan_ids:
            return []
        return list(
            await self.db_session.scalars(
                select(SubscriptionPlan).where(SubscriptionPlan.id.in_(plan_ids))
            )
        )

    async def price_versions(self, plan_codes: list[str]) -> list[TariffVersion]:
        """The tariff versions of the plans (segment SUBSCRIPTION:<code>) and, for the same
        tariff codes, the versions a member without a plan is priced by (MEMBER, PUBLIC)."""
        if not plan_codes:
            return []
        codes = (
            select(TariffVersion.code)
            .where(
                TariffVersion.segment == SegmentKind.SUBSCRIPTION.value,
                TariffVersion.segment_ref.in_(plan_codes),
            )
            .scalar_subquery()
        )
        return list(
            await self.db_session.scalars(
                select(TariffVersion)
                .where(TariffVersion.code.in_(codes))
                .where(
                    or_(
                        TariffVersion.segment.in_(
                            [SegmentKind.MEMBER.value, SegmentKind.PUBLIC.value]
                        ),
                        (TariffVersion.segment == SegmentKind.SUBSCRIPTION.value)
                        & TariffVersion.segment_ref.in_(plan_codes),
                    )
                )
                .order_by(TariffVersion.code, TariffVersion.created_at, TariffVersion.id)
            )
        )
