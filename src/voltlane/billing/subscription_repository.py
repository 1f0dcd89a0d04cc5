"""Every query of subscriptions: plans, accounts' subscriptions, the months charged."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    Invoice,
    InvoiceKind,
    Subscription,
    SubscriptionCharge,
    SubscriptionPlan,
    TariffVersion,
)
from voltlane.tariff import SegmentKind


def _overlaps(first: date, last: date) -> ColumnElement[bool]:
    return and_(
        Subscription.starts_on <= last,
        or_(Subscription.ends_on.is_(None), Subscription.ends_on >= first),
    )


def _not_charged(first: date) -> ColumnElement[bool]:
    return ~exists().where(
        SubscriptionCharge.subscription_id == Subscription.id,
        SubscriptionCharge.period_start == first,
    )


class SubscriptionRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    def add(self, row: SubscriptionPlan | Subscription) -> None:
        self.db_session.add(row)

    async def plan_by_code(self, code: str) -> SubscriptionPlan | None:
        return await self.db_session.scalar(
            select(SubscriptionPlan).where(SubscriptionPlan.code == code)
        )

    async def plan(
        self, plan_id: uuid.UUID, *, for_update: bool = False
    ) -> SubscriptionPlan | None:
        return await self.db_session.get(SubscriptionPlan, plan_id, with_for_update=for_update)

    async def subscription_tariffs(self) -> list[tuple[str | None, str]]:
        """(segment ref, tariff code) of every SUBSCRIPTION tariff, once each, by code."""
        rows = await self.db_session.execute(
            select(TariffVersion.segment_ref, TariffVersion.code)
            .distinct()
            .where(TariffVersion.segment == SegmentKind.SUBSCRIPTION.value)
            .order_by(TariffVersion.code, TariffVersion.segment_ref)
        )
        return [(ref, code) for ref, code in rows]

    async def plans(self) -> list[SubscriptionPlan]:
        return list(
            await self.db_session.scalars(select(SubscriptionPlan).order_by(SubscriptionPlan.code))
        )

    async def subscription(self, subscription_id: uuid.UUID) -> Subscription | None:
        return await self.db_session.get(Subscription, subscription_id, with_for_update=True)

    async def subscriptions_of(self, account_id: uuid.UUID) -> list[Subscription]:
        return list(
            await self.db_session.scalars(
                select(Subscription)
                .where(Subscription.account_id == account_id)
                .order_by(Subscription.starts_on)
            )
        )

    async def invoiced_through(self, account_id: uuid.UUID) -> date | None:
        """The last day of the account's latest monthly invoice."""
        return await self.db_session.scalar(
            select(func.max(Invoice.period_end)).where(
                Invoice.account_id == account_id, Invoice.kind == InvoiceKind.INVOICE
            )
        )

    async def charged_after(self, subscription_id: uuid.UUID, day: date) -> bool:
        found = await self.db_session.scalar(
            select(SubscriptionCharge.subscription_id).where(
                SubscriptionCharge.subscription_id == subscription_id,
                SubscriptionCharge.period_start > day,
            )
        )
        return found is not None

    async def uncharged(
        self, account_id: uuid.UUID, first: date, last: date
    ) -> list[tuple[Subscription, SubscriptionPlan]]:
        """The account's subscriptions active in [first, last] whose month starting ``first``
        is not charged yet."""
        rows = await self.db_session.execute(
            select(Subscription, SubscriptionPlan)
            .join(SubscriptionPlan, SubscriptionPlan.id == Subscription.plan_id)
            .where(Subscription.account_id == account_id, _overlaps(first, last))
            .where(_not_charged(first))
            .order_by(Subscription.starts_on)
        )
        return [(subscription, plan) for subscription, plan in rows]

    async def accounts_with_uncharged(self, first: date, last: date) -> list[uuid.UUID]:
        rows = await self.db_session.scalars(
            select(Subscription.account_id)
            .distinct()
            .where(_overlaps(first, last))
            .where(_not_charged(first))
        )
        return list(rows)

    async def record_charges(
        self, subscription_ids: Sequence[uuid.UUID], first: date, invoice_id: uuid.UUID
    ) -> int:
        """Mark the month charged on ``invoice_id``; how many were not charged before."""
        if not subscription_ids:
            return 0
        result = await self.db_session.execute(
            insert(SubscriptionCharge)
            .values(
                [
                    {"subscription_id": s, "period_start": first, "invoice_id": invoice_id}
                    for s in subscription_ids
                ]
            )
            .on_conflict_do_nothing()
            .returning(SubscriptionCharge.subscription_id)
        )
        return len(result.all())
