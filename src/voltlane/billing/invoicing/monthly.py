"""Monthly invoices: fleet accounts' sessions, and every account's subscription fees."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.documents.model import DocumentLine, VatCategory
from voltlane.billing.documents.text import DocumentText
from voltlane.billing.errors import DocumentConflictError
from voltlane.billing.invoice_repository import BilledCdr, InvoiceRepository
from voltlane.billing.invoicing.issue import Draft, issue
from voltlane.billing.invoicing.lines import session_lines
from voltlane.billing.invoicing.seller import Seller, buyer_of
from voltlane.billing.subscription_repository import SubscriptionRepository
from voltlane.billing.subscriptions import Fee, fees_due
from voltlane.core.clock import month_of
from voltlane.models.tenant import Invoice, InvoiceKind, Invoicing
from voltlane.tariff.rounding import from_minor
from voltlane.tenancy import TenantInfo
from voltlane.worker import enqueue


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
    """Accounts with something to invoice for the month: monthly accounts with CDRs up to
    its end on no invoice yet, and any account with a subscription fee of the month."""
    seller = Seller.of(brand)
    first, last = month_of(period_start)
    sessions = await InvoiceRepository(db_session).monthly_accounts_with_unbilled(
        _cutoff(seller, last)
    )
    fees = await SubscriptionRepository(db_session).accounts_with_uncharged(first, last)
    return list(dict.fromkeys([*sessions, *fees]))


def _fee_line(fee: Fee, text: DocumentText) -> DocumentLine:
    category = VatCategory.STANDARD if fee.plan.vat_rate else VatCategory.ZERO
    return DocumentLine(
        description=text.label("subscription", plan=fee.plan.name),
        quantity=Decimal(1),
        unit="C62",
        unit_price=from_minor(fee.net, fee.plan.currency),
        net=fee.net,
        vat_category=category,
        vat_rate=fee.plan.vat_rate,
        reference=fee.plan.code,
        details=(
            text.label(
                "subscription_days",
                first=text.date(fee.first),
                last=text.date(fee.last),
                days=fee.days,
                month=fee.days_in_month,
            ),
        ),
    )


async def invoice_account(
    db_session: AsyncSession,
    brand: TenantInfo,
    account_id: uuid.UUID,
    period_start: date,
    *,
    now: datetime,
) -> Invoice | None:
    """The account's invoice for the month starting ``period_start``: for a monthly account
    every CDR of its cards ended before the month's end that no document holds yet, and for
    any account the month's subscription fees. Re-running the period returns the invoice
    made before; a month with nothing to bill makes none."""
    repo = InvoiceRepository(db_session)
    seller = Seller.of(brand)
    account = await repo.account(account_id, for_update=True)
    if account is None:
        return None
    existing = await repo.invoice_of_period(account_id, period_start)
    if existing is not None:
        return existing
    first, last = month_of(period_start)
    billable: list[BilledCdr] = []
    if account.invoicing is Invoicing.MONTHLY:
        items = await repo.unbilled_of_account(account_id, _cutoff(seller, last))
        credited = await repo.credit_of([item.cdr.id for item in items])
        billable = [item for item in items if item.cdr.id not in credited]
    fees = await fees_due(db_session, account_id, (first, last))
    if not billable and not fees:
        return None
    text = DocumentText(account.locale, seller.currency, seller.timezone)
    lines = [
        *(line for item in billable for line in session_lines(item, text)),
        *(_fee_line(fee, text) for fee in fees),
    ]
    draft = Draft(
        kind=InvoiceKind.INVOICE,
        lines=lines,
        buyer=buyer_of(account, seller, text),
        account_id=account.id,
        due_in_days=account.payment_terms_days,
        period=(first, last),
        buyer_reference=account.buyer_reference,
    )
    invoice = await issue(
        repo, seller, draft, [item.cdr.id for item in billable], now=now, locale=account.locale
    )
    subscriptions = [fee.subscription_id for fee in fees]
    charged = await SubscriptionRepository(db_session).record_charges(
        subscriptions, first, invoice.id
    )
    if charged != len(subscriptions):
        raise DocumentConflictError(f"a subscription fee of {invoice.number} was charged twice")
    return invoice


INVOICE_BRAND_TASK = "billing.invoice_brand"


def request_invoice_run(db_session: AsyncSession, tenant_key: str, period_start: date) -> date:
    """Enqueue the brand's invoice run for the month holding ``period_start`` (after
    commit); returns the month's first day. Safe to repeat: a run bills nothing twice."""
    first, _ = month_of(period_start)
    enqueue(db_session, INVOICE_BRAND_TASK, tenant=tenant_key, period_start=first.isoformat())
    return first
