"""The audit log: who did what to which entity, filtered, paged and exported."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity.audit_log import AuditFilter, list_audit
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.fleet_portal import MAX_FILTER, date_range
from voltlane.portal.listing import ListView, list_response
from voltlane.portal.pages import Format, PageNumber
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import current_tenant


def detail_text(detail: dict[str, Any]) -> str:
    """An entry's detail as compact JSON, keys sorted (the same in the page and the CSV)."""
    return json.dumps(detail, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


AUDIT_COLUMNS = (
    ("at", lambda e: e.at),
    ("actor", lambda e: e.actor_email),
    ("action", lambda e: e.action),
    ("entity", lambda e: e.entity),
    ("entity_id", lambda e: e.entity_id),
    ("ip", lambda e: e.ip),
    ("detail", lambda e: detail_text(e.detail)),
)

AUDIT = ListView(
    "audit-log.csv", AUDIT_COLUMNS, "portal/audit/index.html", "portal/audit/_table.html"
)


class AuditController(Controller):
    path = "/portal/audit"
    include_in_schema = False
    dependencies = {
        "staff": Provide(provide_staff),
        "reader": Provide(requires(Permission.AUDIT_READ)),
    }

    @get("/")
    async def index(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        actor: FromQuery[str] = "",
        action: FromQuery[str] = "",
        entity: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        filters = {
            name: value.strip()[:MAX_FILTER]
            for name, value in (
                ("actor", actor),
                ("action", action),
                ("entity", entity),
                ("since", since),
                ("until", until),
            )
        }
        errors: dict[str, str] = {}
        since_at, until_at = date_range(filters, current_tenant(request).timezone, errors)
        query = AuditFilter(
            actor=filters["actor"] or None,
            action=filters["action"] or None,
            entity=filters["entity"] or None,
            since=since_at,
            until=until_at,
        )

        async def fetch(limit: int, offset: int) -> Sequence[Any]:
            return await list_audit(db_session, query, limit=limit, offset=offset)

        return await list_response(
            request,
            reader,
            AUDIT,
            fetch,
            page=page,
            format=format,
            filters=filters,
            errors=errors,
            context={"detail_text": detail_text},
        )
