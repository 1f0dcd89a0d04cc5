"""Subscription plans as a driver sees and chooses them in the app.

A thin layer over ``billing.subscriptions``: choosing a plan is ``subscribe`` from today
(or from the day after a plan that is ending), cancelling is ``end_subscription`` at the
end of the current month. Nothing is charged here: the fee is billed the way every
subscription is billed, on the account's monthly invoice for the days subscribed
(``fees_due``, ``invoice_account``), so the first fee comes with the invoice of the month
the plan starts in. A driver needs a saved card to choose a plan, like every paid feature
of the app.

A plan's prices are its SUBSCRIPTION tariffs (``segment_ref`` = the plan's code); the app
shows them beside the prices a member without a plan pays for the same tariff, so the
driver sees what the plan changes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.driver_plan_repository import DriverPlanRepository
from voltlane.billing.errors import AccountNotFoundError
from voltlane.billing.payment_methods import NoPaymentMethodError, default_payment_method
from voltlane.billing.pricing import billing_month, tariff_of
from voltlane.billing.repository import BillingRepository
from voltlane.billing.subscriptions import (
    PlanNotFoundError,
    end_subscription,
    subscribe,
    subscriptions_of,
)
from voltlane.core.clock import month_of
from voltlane.core.errors import ConflictError
from voltlane.models.tenant import Subscription, SubscriptionPlan, TariffVersion
from voltlane.tariff import (
    PUBLIC,
    Segment,
    SegmentKind,
    Tariff,
    TariffError,
    TariffSet,
    select_tariff,
)
from voltlane.tariff.rounding import to_minor, vat_amount
from voltlane.tariff.selection import MEMBER
from voltlane.tariff.words import TariffWords, tariff_in_words


class AlreadySubscribedError(ConflictError):
    title = "Already subscribed"


class NotSubscribedError(ConflictError):
    title = "No plan to cancel"


@dataclass(frozen=True, slots=True)
class PlanPrices:
    """One tariff's prices in words (VAT included): with the plan, and what a member without
    a plan pays at the same places (None: members have no tariff of that code in force)."""

    tariff_code: str
    with_plan: TariffWords
    without_plan: TariffWords | None


@dataclass(frozen=True, slots=True)
class PlanOffer:
    plan: SubscriptionPlan
    fee_net: int  # minor units a month, excl. VAT
    fee_gross: int  # incl. VAT
    prices: list[PlanPrices]


@dataclass(frozen=True, slots=True)
class PlanPeriod:
    subscription: Subscription
    plan: SubscriptionPlan


@dataclass(frozen=True, slots=True)
class PlanStatus:
    """The plan of the account today, one chosen to start later, and when the current
    one's next month begins (None: it ends, or there is none)."""

    current: PlanPeriod | None
    upcoming: PlanPeriod | None
    renews_on: date | None


def monthly_fee(plan: SubscriptionPlan) -> tuple[int, int]:
    """A plan's monthly fee in minor units: excl. and incl. VAT."""
    net = to_minor(plan.monthly_fee, plan.currency)
    return net, net + vat_amount(net, plan.vat_rate)


def _current(tariffs: dict[Segment, tuple[Tariff, ...]], segment: Segment, at: datetime) -> Tariff:
    return select_tariff(TariffSet(tariffs), segment, at=at)


def _plan_prices(
    plan: SubscriptionPlan, versions: list[TariffVersion], now: datetime, locale: str
) -> list[PlanPrices]:
    by_code: dict[str, dict[Segment, tuple[Tariff, ...]]] = {}
    for version in versions:
        segment = Segment(SegmentKind(version.segment), version.segment_ref)
        tariffs = by_code.setdefault(version.code, {})
        tariffs[segment] = (*tariffs.get(segment, ()), tariff_of(version))
    prices: list[PlanPrices] = []
    own = Segment(SegmentKind.SUBSCRIPTION, plan.code)
    for code, tariffs in by_code.items():
        if own not in tariffs:
            continue
        try:
            with_plan = _current({own: tariffs[own]}, own, now)
        except TariffError:  # none of the plan's versions is in force now
            continue
        others = {s: t for s, t in tariffs.items() if s in (MEMBER, PUBLIC)}
        try:
            without = _current(others, MEMBER, now) if others else None
        except TariffError:
            without = None
        prices.append(
            PlanPrices(
                code,
                tariff_in_words(with_plan, locale),
                tariff_in_words(without, locale) if without is not None else None,
            )
        )
    return prices


async def plan_offers(db_session: AsyncSession, *, now: datetime, locale: str) -> list[PlanOffer]:
    """The brand's active plans, cheapest first, each with its fee and the prices it
    changes, in ``locale``'s words (its SUBSCRIPTION tariffs in force ``now`` against a
    member's)."""
    repo = DriverPlanRepository(db_session)
    plans = await repo.active_plans()
    versions = await repo.price_versions([plan.code for plan in plans])
    offers = []
    for plan in plans:
        net, gross = monthly_fee(plan)
        offers.append(PlanOffer(plan, net, gross, _plan_prices(plan, versions, now, locale)))
    return offers


async def plan_status(
    db_session: AsyncSession, account_id: uuid.UUID, *, today: date
) -> PlanStatus:
    """The account's plan on ``today`` (the brand's calendar day), the one chosen to start
    after it, and the day the current plan's next month starts."""
    subscriptions = await subscriptions_of(db_session, account_id)
    plans = {
        plan.id: plan
        for plan in await DriverPlanRepository(db_session).plans(
            list({s.plan_id for s in subscriptions})
        )
    }
    current = next(
        (
            s
            for s in subscriptions
            if s.starts_on <= today and (s.ends_on is None or s.ends_on >= today)
        ),
        None,
    )
    upcoming = next((s for s in subscriptions if s.starts_on > today), None)
    renews_on = month_of(today)[1] + timedelta(days=1) if current and not current.ends_on else None
    return PlanStatus(
        PlanPeriod(current, plans[current.plan_id]) if current else None,
        PlanPeriod(upcoming, plans[upcoming.plan_id]) if upcoming else None,
        renews_on,
    )


async def included_energy_used(
    db_session: AsyncSession, account_id: uuid.UUID, *, now: datetime
) -> int:
    """Wh of its plan's included energy the account's CDRs used in the billing month
    holding ``now`` (credits give theirs back)."""
    repo = BillingRepository(db_session)
    _, since, until = billing_month(now, ZoneInfo(await repo.brand_timezone()))
    return await repo.included_used(account_id, since, until)


async def choose_plan(
    db_session: AsyncSession, account_id: uuid.UUID, plan_id: uuid.UUID, *, today: date
) -> Subscription:
    """Put the driver on an active plan: from ``today``, or from the day after the current
    plan ends when it is cancelled. Needs a saved card; one plan at a time."""
    repo = DriverPlanRepository(db_session)
    plan = await repo.plan(plan_id)
    if plan is None or not plan.active:
        raise PlanNotFoundError(f"no active plan {plan_id}", field="plan_id")
    if await repo.lock_account(account_id) is None:
        raise AccountNotFoundError(f"no customer account {account_id}", field="account_id")
    if await default_payment_method(db_session, account_id) is None:
        raise NoPaymentMethodError("add a card before choosing a plan", field="plan_id")
    status = await plan_status(db_session, account_id, today=today)
    if status.upcoming is not None:
        raise AlreadySubscribedError(
            f"plan {status.upcoming.plan.code} starts on {status.upcoming.subscription.starts_on}",
            field="plan_id",
        )
    starts_on = today
    if status.current is not None:
        ends_on = status.current.subscription.ends_on
        if ends_on is None:
            raise AlreadySubscribedError(
                "cancel the current plan before choosing another", field="plan_id"
            )
        starts_on = ends_on + timedelta(days=1)
    return await subscribe(db_session, account_id, plan.code, starts_on=starts_on)


async def cancel_plan(
    db_session: AsyncSession, account_id: uuid.UUID, *, today: date
) -> Subscription:
    """End the current plan on the last day of this month (its fee is billed to then);
    cancelling again changes nothing."""
    if await DriverPlanRepository(db_session).lock_account(account_id) is None:
        raise AccountNotFoundError(f"no customer account {account_id}", field="account_id")
    status = await plan_status(db_session, account_id, today=today)
    if status.current is None:
        raise NotSubscribedError("no plan to cancel", field="subscription")
    subscription = status.current.subscription
    if subscription.ends_on is not None:
        return subscription
    return await end_subscription(db_session, subscription.id, ends_on=month_of(today)[1])
