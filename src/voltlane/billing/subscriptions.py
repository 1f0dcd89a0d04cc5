"""Subscription plans: a monthly fee, and prices of their own.

A plan's prices are tariffs of segment SUBSCRIPTION whose ``segment_ref`` is the plan's code:
the engine prices a subscriber's sessions with them (``pricing.segment_of``), falling back to
the brand's member prices where the plan has none. The fee is billed per calendar month on
the account's invoice, in proportion to the days subscribed, exactly once per subscription
and month (``subscription_charges``). A plan may include energy: ``included_kwh`` per billing
month not charged at the ENERGY price (``pricing._free_energy_wh``, docs/tariffs.md).

A plan's terms may change (``update_plan``): the fee is read when a month is invoiced, the
allowance when a CDR is rated. A retired plan (``set_plan_active``) is offered and
subscribed to no more; its subscriptions run on until they end (docs/invoicing.md).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.errors import AccountNotFoundError
from voltlane.billing.subscription_repository import SubscriptionRepository
from voltlane.core.clock import month_of
from voltlane.core.errors import ConflictError, NotFoundError, ValidationError
from voltlane.models.tenant import CustomerAccount, Subscription, SubscriptionPlan
from voltlane.tariff.rounding import line_amount


class PlanNotFoundError(NotFoundError):
    title = "Subscription plan not found"


class SubscriptionNotFoundError(NotFoundError):
    title = "Subscription not found"


class DuplicatePlanError(ConflictError):
    title = "Subscription plan exists"


class OverlappingSubscriptionError(ConflictError):
    """An account holds one subscription at a time."""

    title = "Subscriptions overlap"


@dataclass(frozen=True, slots=True)
class PlanCreate:
    code: str
    name: str
    monthly_fee: Decimal
    vat_rate: Decimal
    included_kwh: int = 0


# An allowance beyond any month's charging (about 1,400 kWh a day) is a typing error.
MAX_INCLUDED_KWH = 1_000_000


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """What may change on a plan (its code and currency never do)."""

    name: str
    monthly_fee: Decimal
    vat_rate: Decimal
    included_kwh: int = 0


# The rules a plan's terms keep, by field: API and portal check them here, and only here.
PLAN_RULES = {
    "name": "name: 1 to 120 characters",
    "monthly_fee": "monthly_fee: at least 0, at most 4 decimals",
    "vat_rate": "vat_rate: a percentage from 0 to under 100",
    "included_kwh": f"included_kwh: whole kWh from 0 to {MAX_INCLUDED_KWH:,}",
}


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def invalid_terms(terms: PlanTerms | PlanCreate) -> list[str]:
    """The fields of ``terms`` that break a rule of ``PLAN_RULES``, in its order."""
    wrong = {
        "name": not 1 <= len(terms.name) <= 120,
        "monthly_fee": terms.monthly_fee < 0 or _decimals(terms.monthly_fee) > 4,
        "vat_rate": not Decimal(0) <= terms.vat_rate < Decimal(100),
        "included_kwh": not 0 <= terms.included_kwh <= MAX_INCLUDED_KWH,
    }
    return [field for field in PLAN_RULES if wrong[field]]


def _check(terms: PlanTerms | PlanCreate) -> None:
    wrong = invalid_terms(terms)
    if wrong:
        raise ValidationError(PLAN_RULES[wrong[0]], field=wrong[0])


async def create_plan(
    db_session: AsyncSession, data: PlanCreate, *, currency: str
) -> SubscriptionPlan:
    """Add a plan in the brand's currency; its prices are added as SUBSCRIPTION tariffs."""
    _check(data)
    repo = SubscriptionRepository(db_session)
    if await repo.plan_by_code(data.code) is not None:
        raise DuplicatePlanError(f"plan {data.code} exists", field="code")
    plan = SubscriptionPlan(
        code=data.code,
        name=data.name,
        currency=currency,
        monthly_fee=data.monthly_fee,
        vat_rate=data.vat_rate,
        included_kwh=data.included_kwh,
        active=True,
    )
    repo.add(plan)
    await db_session.flush()
    await db_session.refresh(plan)
    return plan


async def get_plan(
    db_session: AsyncSession, plan_id: uuid.UUID, *, for_update: bool = False
) -> SubscriptionPlan:
    """The plan ``plan_id`` of this brand (PlanNotFoundError for any other id)."""
    plan = await SubscriptionRepository(db_session).plan(plan_id, for_update=for_update)
    if plan is None:
        raise PlanNotFoundError(f"no plan {plan_id}")
    return plan


async def update_plan(
    db_session: AsyncSession, plan_id: uuid.UUID, terms: PlanTerms
) -> tuple[SubscriptionPlan, dict[str, tuple[str, str]]]:
    """Change a plan's name, fee, VAT rate and included kWh; returns the plan and what
    changed (field: old, new). The fee and VAT rate are read when a month's invoice is made,
    so they apply to every month not invoiced yet, the current one included; months
    invoiced keep theirs. The allowance is read as each CDR is rated: sessions rated from
    now on use the new one."""
    _check(terms)
    plan = await get_plan(db_session, plan_id, for_update=True)
    before = {field: getattr(plan, field) for field in PLAN_RULES}
    for field in PLAN_RULES:
        setattr(plan, field, getattr(terms, field))
    await db_session.flush()
    await db_session.refresh(plan)
    return plan, {
        field: (str(old), str(getattr(plan, field)))
        for field, old in before.items()
        if old != getattr(plan, field)
    }


async def set_plan_active(
    db_session: AsyncSession, plan_id: uuid.UUID, *, active: bool
) -> SubscriptionPlan:
    """Retire a plan (``active=False``) or offer it again. A retired plan is no longer
    offered or subscribed to (``subscribe`` refuses it); subscriptions to it run on
    unchanged, priced by its tariffs and billed its fee, until each one ends."""
    plan = await get_plan(db_session, plan_id, for_update=True)
    plan.active = active
    await db_session.flush()
    await db_session.refresh(plan)
    return plan


async def plan_tariffs(
    db_session: AsyncSession, plan_codes: list[str]
) -> tuple[dict[str, list[str]], list[str]]:
    """The codes of the tariffs pricing each plan (SUBSCRIPTION, ``segment_ref`` = its
    code), and those of the tariffs for every plan (SUBSCRIPTION without a reference), which
    price a plan's sessions where it has none of its own."""
    own: dict[str, list[str]] = {code: [] for code in plan_codes}
    shared: list[str] = []
    for ref, code in await SubscriptionRepository(db_session).subscription_tariffs():
        if ref is None:
            shared.append(code)
        elif ref in own:
            own[ref].append(code)
    return own, shared


async def list_plans(db_session: AsyncSession) -> list[SubscriptionPlan]:
    return await SubscriptionRepository(db_session).plans()


async def subscribe(
    db_session: AsyncSession, account_id: uuid.UUID, plan_code: str, *, starts_on: date
) -> Subscription:
    """Put an account on a plan from ``starts_on``; its sessions from that day on are priced
    by the plan, and its invoices carry the plan's fee."""
    repo = SubscriptionRepository(db_session)
    if await db_session.get(CustomerAccount, account_id, with_for_update=True) is None:
        raise AccountNotFoundError(f"no customer account {account_id}", field="account_id")
    plan = await repo.plan_by_code(plan_code)
    if plan is None or not plan.active:
        raise PlanNotFoundError(f"no active plan {plan_code}", field="plan_code")
    invoiced = await repo.invoiced_through(account_id)
    if invoiced is not None and starts_on <= invoiced:
        raise OverlappingSubscriptionError(
            f"the account is invoiced through {invoiced}: a subscription starts after that",
            field="starts_on",
        )
    for existing in await repo.subscriptions_of(account_id):
        if existing.ends_on is None or existing.ends_on >= starts_on:
            raise OverlappingSubscriptionError(
                f"the account is subscribed from {existing.starts_on} to"
                f" {existing.ends_on or 'open end'}; end that first",
                field="starts_on",
            )
    subscription = Subscription(account_id=account_id, plan_id=plan.id, starts_on=starts_on)
    repo.add(subscription)
    await db_session.flush()
    await db_session.refresh(subscription)
    return subscription


async def end_subscription(
    db_session: AsyncSession, subscription_id: uuid.UUID, *, ends_on: date
) -> Subscription:
    """The last day of a subscription (its fee is prorated to it)."""
    repo = SubscriptionRepository(db_session)
    subscription = await repo.subscription(subscription_id)
    if subscription is None:
        raise SubscriptionNotFoundError(f"no subscription {subscription_id}")
    if ends_on < subscription.starts_on:
        raise ValidationError("ends_on: not before the subscription starts", field="ends_on")
    # A month charged in full or in part past ends_on would have billed days not subscribed.
    first, last = month_of(ends_on)
    billed_through = ends_on if ends_on == last else first - timedelta(days=1)
    if await repo.charged_after(subscription_id, billed_through):
        raise ConflictError(
            "a month after ends_on has been invoiced already; credit that invoice first",
            field="ends_on",
        )
    subscription.ends_on = ends_on
    await db_session.flush()
    await db_session.refresh(subscription)
    return subscription


async def subscriptions_of(db_session: AsyncSession, account_id: uuid.UUID) -> list[Subscription]:
    return await SubscriptionRepository(db_session).subscriptions_of(account_id)


@dataclass(frozen=True, slots=True)
class Fee:
    """A subscription's fee for the days of a month it was active."""

    subscription_id: uuid.UUID
    plan: SubscriptionPlan
    first: date
    last: date
    days: int
    days_in_month: int
    net: int  # minor units, excl. VAT


def fee_for(
    subscription: Subscription, plan: SubscriptionPlan, month: tuple[date, date]
) -> Fee | None:
    """The fee of ``subscription`` for ``month`` (first, last day), or None when it was not
    active in it: the monthly fee x days active / days of the month, rounded once like every
    line of the engine."""
    first = max(month[0], subscription.starts_on)
    last = min(month[1], subscription.ends_on or month[1])
    if last < first:
        return None
    days = (last - first).days + 1
    days_in_month = (month[1] - month[0]).days + 1
    net = line_amount(days, plan.monthly_fee, days_in_month, plan.currency)
    return Fee(subscription.id, plan, first, last, days, days_in_month, net)


async def fees_due(
    db_session: AsyncSession, account_id: uuid.UUID, month: tuple[date, date]
) -> list[Fee]:
    """The fees of the account's subscriptions for ``month`` not invoiced yet."""
    repo = SubscriptionRepository(db_session)
    fees = []
    for subscription, plan in await repo.uncharged(account_id, month[0], month[1]):
        fee = fee_for(subscription, plan, month)
        if fee is not None:
            fees.append(fee)
    return fees
