"""Alerts in the portal: the list (open, acknowledged, resolved), acknowledging, the rules."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import AlertKind, AlertRule, AlertStatus
from voltlane.monitoring import service as monitoring
from voltlane.monitoring.errors import InvalidInputError
from voltlane.monitoring.schemas import RuleInput
from voltlane.portal.pages import (
    CSV_MAX_ROWS,
    Format,
    PageNumber,
    Pager,
    audit,
    csv_response,
    render,
)
from voltlane.web.auth import provide_staff, requires

StatusFilter = FromQuery[Literal["open", "acknowledged", "resolved", "all"]]
KindFilter = FromQuery[Literal["", "offline", "faulted", "stuck_session", "security"]]
STATUSES = ("open", "acknowledged", "resolved", "all")
MAX_FIELD = 2000

ALERT_COLUMNS = (
    ("id", lambda a: a.id),
    ("kind", lambda a: a.kind),
    ("station_id", lambda a: a.station_id),
    ("detail", lambda a: a.detail),
    ("occurrences", lambda a: a.occurrences),
    ("status", lambda a: a.status),
    ("since", lambda a: a.since),
    ("opened_at", lambda a: a.opened_at),
    ("acknowledged_at", lambda a: a.acknowledged_at),
    ("acknowledged_by", lambda a: a.acknowledged_by),
    ("resolved_at", lambda a: a.resolved_at),
)

READ = {"reader": Provide(requires(Permission.STATIONS_READ))}
WRITE = {"writer": Provide(requires(Permission.STATIONS_WRITE))}


def _rule_form(rule: AlertRule) -> dict[str, Any]:
    return {
        "enabled": rule.enabled,
        "threshold": str(rule.threshold),
        "emails": ", ".join(rule.emails),
        "webhook_url": rule.webhook_url or "",
    }


class AlertsController(Controller):
    path = "/portal/alerts"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/", dependencies=READ)
    async def index(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        status: StatusFilter = "open",
        kind: KindFilter = "",
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        """Alerts newest first, by status and kind; the table refreshes itself."""
        wanted = None if status == "all" else AlertStatus(status)
        of_kind = AlertKind(kind) if kind else None
        if format == "csv":
            rows = await monitoring.list_alerts(
                db_session, wanted, kind=of_kind, limit=CSV_MAX_ROWS, offset=0
            )
            return csv_response(f"alerts-{status}.csv", ALERT_COLUMNS, rows)
        pager = Pager(page)
        rows = await monitoring.list_alerts(
            db_session, wanted, kind=of_kind, limit=pager.limit, offset=pager.offset
        )
        return render(
            request,
            reader,
            "portal/alerts/index.html",
            {
                "page": pager.page(rows, query={"status": status, "kind": kind}),
                "status": status,
                "kind": kind,
                "statuses": STATUSES,
                "kinds": [k.value for k in AlertKind],
            },
            fragment="portal/alerts/_table.html",
        )

    @post("/{alert_id:uuid}/acknowledge", dependencies=WRITE, status_code=303)
    async def acknowledge(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        alert_id: FromPath[uuid.UUID],
    ) -> Redirect:
        """Acknowledge an open alert (recorded in the audit log), back to the list."""
        form = await request.form()
        back = str(form.get("status") or "open")
        alert, changed = await monitoring.acknowledge(db_session, alert_id, by=writer.email)
        if changed:
            await audit(
                db_session,
                request,
                writer,
                action="alert.acknowledge",
                entity="alert",
                entity_id=alert.id,
                detail={"kind": alert.kind.value, "station_id": alert.station_id},
            )
        return Redirect(
            f"/portal/alerts?status={back if back in STATUSES else 'open'}", status_code=303
        )

    @get("/rules", dependencies=READ)
    async def rules(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
    ) -> Response[str]:
        """The brand's four rules with their thresholds and where their alerts go."""
        rules = await monitoring.list_rules(db_session)
        return render(
            request,
            reader,
            "portal/alerts/rules.html",
            {"rules": rules, "thresholds": monitoring.THRESHOLDS},
        )

    @get("/rules/{kind:str}", dependencies=WRITE)
    async def edit_rule(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        kind: FromPath[str],
    ) -> Response[str]:
        rule = await monitoring.get_rule(db_session, kind)
        return self._form(request, writer, rule, _rule_form(rule), {})

    @post("/rules/{kind:str}", dependencies=WRITE, status_code=303)
    async def update_rule(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        kind: FromPath[str],
    ) -> Response[Any]:
        """Save a rule; a wrong field comes back with its error beside it and nothing saved."""
        form = await request.form()
        data = RuleInput(
            enabled=form.get("enabled") == "on",
            threshold=str(form.get("threshold") or "")[:MAX_FIELD],
            emails=str(form.get("emails") or "")[:MAX_FIELD],
            webhook_url=str(form.get("webhook_url") or "")[:MAX_FIELD],
        )
        try:
            rule, changes = await monitoring.update_rule(db_session, kind, data)
        except InvalidInputError as exc:
            rule = await monitoring.get_rule(db_session, kind)
            values = {
                "enabled": data.enabled,
                "threshold": data.threshold,
                "emails": data.emails,
                "webhook_url": data.webhook_url,
            }
            return self._form(request, writer, rule, values, exc.errors, status_code=400)
        if changes:
            await audit(
                db_session,
                request,
                writer,
                action="alert_rule.update",
                entity="alert_rule",
                entity_id=rule.id,
                detail={"kind": rule.kind.value, "changes": changes},
            )
        return Redirect("/portal/alerts/rules", status_code=303)

    @staticmethod
    def _form(
        request: Request[Any, Any, Any],
        staff: StaffIdentity,
        rule: AlertRule,
        values: dict[str, Any],
        errors: dict[str, str],
        *,
        status_code: int = 200,
    ) -> Response[str]:
        return render(
            request,
            staff,
            "portal/alerts/rule.html",
            {
                "rule": rule,
                "bounds": monitoring.THRESHOLDS[rule.kind],
                "values": values,
                "errors": errors,
            },
            status_code=status_code,
        )
