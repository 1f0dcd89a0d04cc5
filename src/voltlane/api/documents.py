"""Documents by link: receipts and invoices for drivers and fleet managers without an API key.

The link carries a key derived from the brand's secret and the document id
(``billing.invoicing.document_signature``): it opens exactly that document on exactly that
brand's host, and keeps working for as long as the document exists. A wrong key reads as an
unknown document, so links cannot be used to probe which documents exist.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.invoices import document_response
from voltlane.billing import invoicing
from voltlane.billing.errors import InvoiceNotFoundError
from voltlane.billing.invoicing import DOCUMENTS_PATH
from voltlane.web.context import current_tenant, web_state


@get(
    f"{DOCUMENTS_PATH}/{{invoice_id:uuid}}/{{signature:str}}/{{form:str}}",
    summary="A receipt, invoice or credit note as PDF or UBL, by its never-expiring link",
    tags=["Invoicing"],
)
async def document_by_link(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    invoice_id: FromPath[uuid.UUID],
    signature: FromPath[str],
    form: FromPath[str],
) -> Response[bytes]:
    secret = web_state(request).settings.secret_key
    brand = current_tenant(request)
    formats = {f.value: f for f in invoicing.DocumentFormat}
    if form not in formats or not invoicing.signature_valid(
        secret, brand.key, invoice_id, signature
    ):
        raise InvoiceNotFoundError(f"no document {invoice_id}")
    invoice = await invoicing.get_invoice(db_session, invoice_id)
    return document_response(invoice, formats[form])
