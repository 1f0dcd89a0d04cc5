"""The driver's charging sessions, newest first, and the receipt of each (page and PDF)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import invoicing
from voltlane.identity.drivers import history
from voltlane.pwa.account.common import (
    ACCOUNT,
    PAGE_SIZE,
    SIGN_IN_HANDLERS,
    SIGNED_IN,
    PageNumber,
    render,
)
from voltlane.pwa.auth import DriverIdentity


class HistoryController(Controller):
    path = ACCOUNT
    include_in_schema = False
    dependencies = SIGNED_IN
    exception_handlers = SIGN_IN_HANDLERS

    @get("/history")
    async def sessions(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
        page: PageNumber = 1,
    ) -> Response[str]:
        rows = await history.history(
            db_session, driver.account_id, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
        return render(
            request,
            "pwa/account/history.html",
            {"rows": rows[:PAGE_SIZE], "page": page, "has_next": len(rows) > PAGE_SIZE},
        )

    @get("/receipts/{invoice_id:uuid}")
    async def receipt(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
        invoice_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        invoice = await history.receipt(db_session, driver.account_id, invoice_id)
        credit_notes = await history.credit_notes(db_session, driver.account_id, invoice.id)
        return render(
            request,
            "pwa/account/receipt.html",
            {
                "invoice": invoice,
                "document": invoicing.document_of(invoice),
                "credits": credit_notes,
            },
        )

    @get("/receipts/{invoice_id:uuid}/pdf")
    async def receipt_pdf(
        self,
        db_session: NamedDependency[AsyncSession],
        driver: NamedDependency[DriverIdentity],
        invoice_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        invoice = await history.receipt(db_session, driver.account_id, invoice_id)
        data, filename = invoicing.render_document(invoice, invoicing.DocumentFormat.PDF)
        return Response(
            data,
            media_type=invoicing.MEDIA_TYPES[invoicing.DocumentFormat.PDF],
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                # A driver's own document: kept in this browser only.
                "Cache-Control": "private, no-store",
            },
        )
