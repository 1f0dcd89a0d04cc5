"""Documents reach their customers: an e-mail with never-expiring links to the PDF and the
e-invoice, written in the transaction that issues the document (sent by a job)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.documents.text import DocumentText
from voltlane.billing.invoice_repository import InvoiceRepository
from voltlane.billing.invoicing.access import DocumentFormat, document_link
from voltlane.billing.messages import document_message
from voltlane.identity.notifications import queue_email
from voltlane.models.tenant import Invoice
from voltlane.tenancy import TenantInfo


@dataclass(frozen=True, slots=True)
class Links:
    """Where links in e-mails point: the brand's public address and the key they are
    signed with."""

    base_url: str  # e.g. https://charge.voltaria.example
    secret_key: str


async def mail_document(
    db_session: AsyncSession, brand: TenantInfo, invoice: Invoice, links: Links
) -> bool:
    """Write the e-mail of an issued document to its account's address; False when the
    customer has none (an ad-hoc driver) and nothing is written."""
    if invoice.account_id is None:
        return False
    account = await InvoiceRepository(db_session).account(invoice.account_id)
    if account is None or not account.email:
        return False
    text = DocumentText(account.locale, invoice.currency, brand.timezone)
    document = invoice.document
    pdf, ubl = (
        links.base_url + document_link(links.secret_key, brand.key, invoice.id, form)
        for form in (DocumentFormat.PDF, DocumentFormat.UBL)
    )
    subject, body = document_message(
        kind_label=text.label(document["kind"]),
        locale=account.locale,
        currency=invoice.currency,
        timezone=brand.timezone,
        brand=brand.name,
        name=account.name,
        number=invoice.number,
        amount=invoice.total_gross,
        day=invoice.issue_date,
        due=invoice.due_date if invoice.total_gross > invoice.paid else None,
        pdf=pdf,
        ubl=ubl,
    )
    await queue_email(
        db_session,
        brand.key,
        kind=f"document.{invoice.kind.value}",
        reference=str(invoice.id),
        recipient=account.email,
        subject=subject,
        body=body,
    )
    return True
