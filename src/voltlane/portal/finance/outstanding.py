"""Finance: outstanding: sessions settled but not paid (a PSP outage, a failed payment, a
transfer due), what each customer still owes."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.settlement import OutstandingCustomer, outstanding_by_customer
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.finance.forms import list_page
from voltlane.portal.pages import Format, PageNumber
from voltlane.web.auth import requires

COLUMNS = (
    ("account_id", lambda r: r.account_id),
    ("customer", lambda r: r.name),
    ("email", lambda r: r.email),
    ("sessions", lambda r: r.sessions),
    ("owed", lambda r: r.owed),
    ("at_psp", lambda r: r.at_psp),
    ("payment_failed", lambda r: r.failed),
    ("transfer_due", lambda r: r.to_transfer),
    ("currency", lambda r: r.currency),
    ("oldest_session_at", lambda r: r.oldest_session),
)


class OutstandingController(Controller):
    path = "/outstanding"
    include_in_schema = False
    dependencies = {"reader": Provide(requires(Permission.FINANCE_READ))}

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        async def fetch(limit: int, offset: int) -> list[OutstandingCustomer]:
            return await outstanding_by_customer(db_session, limit=limit, offset=offset)

        return await list_page(
            request, reader, tab="outstanding", fetch=fetch, columns=COLUMNS, page=page, fmt=format
        )
