"""Monthly invoices of fleet accounts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.documents.text import DocumentText
from voltlane.billing.invoice_repository import InvoiceRepository
from voltlane.billing.invoicing.issue import Draft, issue
from voltlane.billing.invoicing.lines import session_lines
from voltlane.billing.invoicing.seller import Seller, buyer_of
from voltlane.models.tenant import Invoice, InvoiceKind, Invoicing
from voltlane.tenancy import TenantInfo
from voltlane.worker import enqueue


def month_of(day: date) -> tuple[date, date]:
    """The calendar month holding ``day``: its first and last day."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def previous_month(seller: Seller, now: datetime) -> tuple[date, date]:
    first, _ = month_of(seller.today(now))
    return month_of(first - timedelta(days=1))


def _cutoff(seller: Seller, last_day: date) -> datetime:
    """The end of a period: midnight after its last day in the brand's timezone, in UTC."""
    local = datetime.combine(last_day + timedelta(days=1), time(0), ZoneInfo(seller.timezone))
    return local.astimezone(UTC)


async def accounts_to_invoice(
    db_session: AsyncSession, brand: TenantInfo, period_start: date
) -> list[uuid.UUID]:
    """Monthly accounts with CDRs up to the end of the period that are on no invoice yet."""
    seller = Seller.of(brand)
    _, last = month_of(period_start)
    return await InvoiceRepository(db_session).monthly_accounts_with_unbilled(_cutoff(seller, last))


async def invoice_account(
    db_session: AsyncSession,
    brand: TenantInfo,
    account_id: uuid.UUID,
    period_start: date,
    *,
    now: datetime,
) -> Invoice | None:
    """The account's invoice for the month starting ``period_start``: every CDR of its
    cards ended before the month's end that no document holds yet. Re-running the period
    returns the invoice made before; a month with nothing to bill makes none."""
    repo = InvoiceRepository(db_session)
    seller = Seller.of(brand)
    account = await repo.account(account_id)
    if account is None or account.invoicing is not Invoicing.MONTHLY:
        return None
    existing = await repo.invoice_of_period(account_id, period_start)
    if existing is not None:
        return existing
    first, last = month_of(period_start)
    items = await repo.unbilled_of_account(account_id, _cutoff(seller, last))
    credited = await repo.credit_of([item.cdr.id for item in items])
    billable = [item for item in items if item.cdr.id not in credited]
    if not billable:
        return None
    text = DocumentText(account.locale, seller.currency, seller.timezone)
    lines = [line for item in billable for line in session_lines(item, text)]
    draft = Draft(
        kind=InvoiceKind.INVOICE,
        lines=lines,
        buyer=buyer_of(account, seller, text),
        account_id=account.id,
        due_in_days=account.payment_terms_days,
        period=(first, last),
        buyer_reference=account.buyer_reference,
    )
    return await issue(
        repo, seller, draft, [item.cdr.id for item in billable], now=now, locale=account.locale
    )


INVOICE_BRAND_TASK = "billing.invoice_brand"


def request_invoice_run(db_session: AsyncSession, tenant_key: str, period_start: date) -> date:
    """Enqueue the brand's invoice run for the month holding ``period_start`` (after
    commit); returns the month's first day. Safe to repeat: a run bills nothing twice."""
    first, _ = month_of(period_start)
    enqueue(db_session, INVOICE_BRAND_TASK, tenant=tenant_key, period_start=first.isoformat())
    return first
