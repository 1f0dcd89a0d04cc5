"""Invoicing: receipts, monthly fleet invoices and credit notes, built from CDRs.

Every CDR ends up on exactly one document (``invoice_cdrs``): a driver's receipt, its fleet's
monthly invoice, or, for a credit CDR, a credit note correcting the document its CDR was on.
A document's numbers are the CDRs' numbers: a receipt's lines are its CDR's charge lines and
its VAT is computed by the same rule over the same amounts, so the driver reads on the receipt
the cents of the live cost and of the capture. Numbers are gap-free per series and year.
"""

from voltlane.billing.invoicing.access import (
    DOCUMENTS_PATH,
    MEDIA_TYPES,
    DocumentFormat,
    cdrs_on,
    document_link,
    document_of,
    document_signature,
    get_invoice,
    list_invoices,
    render_document,
    signature_valid,
)
from voltlane.billing.invoicing.issue import SERIES
from voltlane.billing.invoicing.mail import Links, mail_document
from voltlane.billing.invoicing.monthly import (
    INVOICE_BRAND_TASK,
    accounts_to_invoice,
    invoice_account,
    previous_month,
    request_invoice_run,
)
from voltlane.billing.invoicing.receipts import credit_document, issue_documents
from voltlane.billing.invoicing.seller import Seller

__all__ = [
    "DOCUMENTS_PATH",
    "INVOICE_BRAND_TASK",
    "MEDIA_TYPES",
    "SERIES",
    "DocumentFormat",
    "Links",
    "Seller",
    "accounts_to_invoice",
    "cdrs_on",
    "credit_document",
    "document_link",
    "document_of",
    "document_signature",
    "get_invoice",
    "invoice_account",
    "issue_documents",
    "list_invoices",
    "mail_document",
    "previous_month",
    "render_document",
    "request_invoice_run",
    "signature_valid",
]
