"""Jobs of invoicing: receipts and credit notes as CDRs settle, monthly invoices fanned out
per brand and per customer account."""

from __future__ import annotations

import logging
import uuid
from datetime import date, timedelta

from voltlane.billing.errors import InvoicingNotConfiguredError
from voltlane.billing.invoicing import (
    INVOICE_BRAND_TASK,
    Seller,
    accounts_to_invoice,
    invoice_account,
    issue_documents,
    mail_document,
    previous_month,
)
from voltlane.billing.jobs import brand_info, for_each_brand, links_of
from voltlane.core.clock import utcnow
from voltlane.worker import JobContext, enqueue, task
from voltlane.worker.schedule import every

log = logging.getLogger(__name__)

ISSUE_DOCUMENTS = "billing.issue_documents"
INVOICE_RUN = "billing.invoice_run"
INVOICE_BRAND = INVOICE_BRAND_TASK
INVOICE_ACCOUNT = "billing.invoice_account"
# Hourly: the run for last month starts within the first hour of the 1st in every timezone;
# later runs of the same month find nothing left to bill.
INVOICE_RUN_EVERY = timedelta(hours=1)


@task(ISSUE_DOCUMENTS, queue="billing", max_retries=10)
async def issue_documents_of(jobs: JobContext, *, tenant: str) -> None:
    """Receipts of settled sessions and credit notes of credit CDRs (one batch; what is
    left waits for the next sweep), each mailed to its customer."""
    brand = await brand_info(jobs, tenant)
    try:
        async with jobs.database.tenant_transaction(tenant) as db_session:
            issued = await issue_documents(db_session, brand, now=utcnow())
            for document in issued:
                await mail_document(db_session, brand, document, links_of(jobs, brand))
    except InvoicingNotConfiguredError as exc:
        # Retrying cannot help until an operator completes the tenant file.
        log.warning("brand cannot issue documents", extra={"tenant": tenant, "error": str(exc)})
        return
    if issued:
        log.info("documents issued", extra={"tenant": tenant, "documents": len(issued)})


@task(INVOICE_RUN, queue="billing", max_retries=3)
async def invoice_run(jobs: JobContext) -> None:
    """Last month's invoices of every active brand that can issue documents."""
    await for_each_brand(jobs, INVOICE_BRAND)


@task(INVOICE_BRAND, queue="billing", max_retries=3)
async def invoice_brand(jobs: JobContext, *, tenant: str, period_start: str | None = None) -> None:
    """One job per account that has CDRs of the period (or before) on no invoice."""
    brand = await brand_info(jobs, tenant)
    try:
        seller = Seller.of(brand)
    except InvoicingNotConfiguredError:
        log.warning("brand cannot invoice: no legal entity", extra={"tenant": tenant})
        return
    first = (
        date.fromisoformat(period_start) if period_start else previous_month(seller, utcnow())[0]
    )
    async with jobs.database.tenant_transaction(tenant) as db_session:
        for account_id in await accounts_to_invoice(db_session, brand, first):
            enqueue(
                db_session,
                INVOICE_ACCOUNT,
                tenant=tenant,
                account_id=str(account_id),
                period_start=first.isoformat(),
            )


@task(INVOICE_ACCOUNT, queue="billing", max_retries=10)
async def invoice_account_of(
    jobs: JobContext, *, tenant: str, account_id: str, period_start: str
) -> None:
    """The account's invoice for the month (idempotent: a re-run finds it)."""
    brand = await brand_info(jobs, tenant)
    async with jobs.database.tenant_transaction(tenant) as db_session:
        invoice = await invoice_account(
            db_session,
            brand,
            uuid.UUID(account_id),
            date.fromisoformat(period_start),
            now=utcnow(),
        )
        if invoice is not None:
            # Once per document (kind + reference): a re-run finds it written.
            await mail_document(db_session, brand, invoice, links_of(jobs, brand))


every(INVOICE_RUN, INVOICE_RUN_EVERY)
