"""Sessions and CDRs: live and past sessions, one session's meter curves and price, remote
stop, and the CDR list."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import session_costs as costs
from voltlane.billing.session_costs import CdrFilter, SessionCost
from voltlane.charging import history
from voltlane.charging.history import SessionFilter, SessionRow
from voltlane.core.clock import parse_iso, utcnow
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import SessionStatus
from voltlane.portal.charts import time_chart
from voltlane.portal.pages import (
    CSV_MAX_ROWS,
    Format,
    PageNumber,
    Pager,
    audit,
    csv_response,
    render,
)
from voltlane.station import typed_commands as tc
from voltlane.station.ports import UnsupportedCommandError, get_translator
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import N_, request_locale

# How long a remote stop waits for the station's answer before it counts as a timeout.
STOP_DEADLINE_SECONDS = 15.0
_WH_PER_KWH = Decimal(1000)
_KWH = Decimal("0.001")

Errors = dict[str, str]
MIN_YEAR, MAX_YEAR = 1900, 9998


@dataclass(frozen=True, slots=True)
class SessionLine:
    """A session with what a list shows beside it: its duration and cost so far."""

    session: SessionRow
    duration: timedelta | None
    cost: SessionCost | None


def energy_kwh(energy_wh: Decimal | None) -> Decimal | None:
    return (energy_wh / _WH_PER_KWH).quantize(_KWH) if energy_wh is not None else None


def duration_of(session: SessionRow, now: datetime) -> timedelta | None:
    if session.started_at is None:
        return None
    return max((session.stopped_at or now) - session.started_at, timedelta(0))


def clock(duration: timedelta | None) -> str:
    """A duration as H:MM:SS (the same in every language)."""
    if duration is None:
        return ""
    seconds = int(duration.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


SESSION_COLUMNS = (
    ("session_id", lambda line: line.session.id),
    ("transaction_id", lambda line: line.session.transaction_id),
    ("status", lambda line: line.session.status),
    ("started_at", lambda line: line.session.started_at),
    ("stopped_at", lambda line: line.session.stopped_at),
    ("stop_reason", lambda line: line.session.stop_reason),
    ("station_id", lambda line: line.session.station_id),
    ("evse_id", lambda line: line.session.evse_id),
    ("connector_id", lambda line: line.session.connector_id),
    ("id_token", lambda line: line.session.id_token),
    ("driver", lambda line: line.session.driver_name),
    ("energy_kwh", lambda line: energy_kwh(line.session.energy_wh)),
    (
        "duration_seconds",
        lambda line: int(line.duration.total_seconds()) if line.duration is not None else None,
    ),
    ("cost_incl_vat", lambda line: line.cost.total_incl_vat if line.cost else None),
    ("currency", lambda line: line.cost.currency if line.cost else None),
    ("cost_source", lambda line: line.cost.source if line.cost else None),
)

CDR_COLUMNS = (
    ("number", lambda c: c.number),
    ("kind", lambda c: c.kind),
    ("credit_of", lambda c: c.credit_of_number),
    ("session_id", lambda c: c.session_id),
    ("station_id", lambda c: c.station_id),
    ("evse_id", lambda c: c.evse_id),
    ("connector_id", lambda c: c.connector_id),
    ("id_token", lambda c: c.id_token),
    ("tariff_code", lambda c: c.tariff_code),
    ("segment", lambda c: c.segment),
    ("start", lambda c: c.start_date_time),
    ("end", lambda c: c.end_date_time),
    ("energy_kwh", lambda c: c.total_energy_kwh.quantize(_KWH)),
    ("total_excl_vat", lambda c: c.total_excl_vat),
    ("total_vat", lambda c: c.total_vat),
    ("total_incl_vat", lambda c: c.total_incl_vat),
    ("currency", lambda c: c.currency),
    ("remark", lambda c: c.remark),
)

_TIME_LINES = {"TIME", "PARKING_TIME", "RESERVATION_TIME", "IDLE_FEE"}


def line_quantity(line: Mapping[str, Any]) -> tuple[str, Decimal | timedelta]:
    """What a priced line billed, in the unit people read: kWh (stored in Wh), a duration
    (stored in seconds) or a count."""
    billed = Decimal(str(line["billed_quantity"]))
    if line["kind"] == "ENERGY":
        return "kwh", billed / _WH_PER_KWH
    if line["kind"] in _TIME_LINES:
        return "time", timedelta(seconds=float(billed))
    return "count", billed


# -- filters ------------------------------------------------------------------------------
def _date(values: Mapping[str, str], name: str, errors: Errors) -> date | None:
    text = values.get(name, "")
    if not text:
        return None
    try:
        parsed = date.fromisoformat(text)
    except ValueError:
        parsed = None
    # Years at the edge of the calendar have no midnight after them in every timezone.
    if parsed is None or not MIN_YEAR <= parsed.year <= MAX_YEAR:
        errors[name] = N_("Enter a date as YYYY-MM-DD.")
        return None
    return parsed


def date_range(
    values: Mapping[str, str], zone: ZoneInfo, errors: Errors
) -> tuple[datetime | None, datetime | None]:
    """``from`` and ``to`` (days in the brand's timezone, both included) as UTC bounds:
    from the first day's midnight to the midnight after the last day."""
    first, last = _date(values, "from", errors), _date(values, "to", errors)
    if first is not None and last is not None and last < first:
        errors["to"] = N_("The end date is before the start date.")
    since = datetime.combine(first, time(), zone) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), zone) if last else None
    return since, until


def _text(request: Request[Any, Any, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {name: request.query_params.get(name, "").strip()[:64] for name in names}


def session_filter(values: Mapping[str, str], zone: ZoneInfo) -> tuple[SessionFilter, Errors]:
    errors: Errors = {}
    status = values.get("status", "")
    if status and status not in {s.value for s in SessionStatus}:
        errors["status"] = N_("Choose charging or finished.")
    since, until = date_range(values, zone, errors)
    where = SessionFilter(
        status=SessionStatus(status) if status and "status" not in errors else None,
        station_id=values.get("station") or None,
        id_token=values.get("id_token") or None,
        started_from=since,
        started_before=until,
    )
    return where, errors


def _zone(request: Request[Any, Any, Any]) -> ZoneInfo:
    return ZoneInfo(current_tenant(request).timezone)


async def _lines(
    db_session: AsyncSession, rows: list[SessionRow], now: datetime
) -> list[SessionLine]:
    found = await costs.session_costs(db_session, [r.id for r in rows], now=now)
    return [SessionLine(r, duration_of(r, now), found.get(r.id)) for r in rows]


# -- the session page ---------------------------------------------------------------------
async def _live(db_session: AsyncSession, session: SessionRow, now: datetime) -> dict[str, Any]:
    curves = await history.session_meter(db_session, session)
    [line] = await _lines(db_session, [session], now)
    return {"session": session, "line": line, "curves": curves}


def _chart(request: Request[Any, Any, Any]) -> Any:
    locale = request_locale(request, current_tenant(request))
    return functools.partial(
        time_chart,
        zone=_zone(request),
        format_value=lambda value: format_decimal(value, locale=locale),
    )


async def _show(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    staff: StaffIdentity,
    session_id: uuid.UUID,
    *,
    form_error: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    now = utcnow()
    session = await history.get_session(db_session, session_id)
    context = await _live(db_session, session, now)
    context.update(
        pricing=await costs.session_pricing(db_session, session.id, now=now),
        commands=await history.stop_commands(db_session, session),
        chart=_chart(request),
        clock=clock,
        energy_kwh=energy_kwh,
        line_quantity=line_quantity,
        instant=parse_iso,
        form_error=form_error,
    )
    return render(request, staff, "portal/sessions/show.html", context, status_code=status_code)


class SessionsController(Controller):
    path = "/portal/sessions"
    include_in_schema = False
    dependencies = {
        "staff": Provide(provide_staff),
        "reader": Provide(requires(Permission.STATIONS_READ)),
    }

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        values = _text(request, ("status", "station", "id_token", "from", "to"))
        where, errors = session_filter(values, _zone(request))
        now = utcnow()
        if format == "csv" and not errors:
            rows = await history.list_sessions(db_session, where, limit=CSV_MAX_ROWS, offset=0)
            return csv_response(
                "sessions.csv", SESSION_COLUMNS, await _lines(db_session, rows, now)
            )
        pager = Pager(page)
        rows = []
        if not errors:
            rows = await history.list_sessions(
                db_session, where, limit=pager.limit, offset=pager.offset
            )
        return render(
            request,
            reader,
            "portal/sessions/index.html",
            {
                "page": pager.page(await _lines(db_session, rows, now), query=values),
                "values": values,
                "errors": errors,
                "clock": clock,
                "energy_kwh": energy_kwh,
            },
            fragment="portal/sessions/_table.html",
            status_code=400 if errors else 200,
        )

    @get("/cdrs")
    async def cdrs(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        values = _text(request, ("from", "to"))
        errors: Errors = {}
        since, until = date_range(values, _zone(request), errors)
        where = CdrFilter(started_from=since, started_before=until)
        if format == "csv" and not errors:
            rows = await costs.list_cdr_rows(db_session, where, limit=CSV_MAX_ROWS, offset=0)
            return csv_response("cdrs.csv", CDR_COLUMNS, rows)
        pager = Pager(page)
        rows, totals = [], []
        if not errors:
            rows = await costs.list_cdr_rows(
                db_session, where, limit=pager.limit, offset=pager.offset
            )
            totals = await costs.cdr_totals(db_session, where)
        return render(
            request,
            reader,
            "portal/sessions/cdrs.html",
            {
                "page": pager.page(rows, query=values),
                "totals": totals,
                "values": values,
                "errors": errors,
            },
            fragment="portal/sessions/_cdr_table.html",
            status_code=400 if errors else 200,
        )

    @get("/{session_id:uuid}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        session_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        return await _show(request, db_session, reader, session_id)

    @get("/{session_id:uuid}/live")
    async def live(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        session_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        session = await history.get_session(db_session, session_id)
        context = await _live(db_session, session, utcnow())
        context.update(clock=clock, energy_kwh=energy_kwh)
        return render(
            request,
            reader,
            "portal/sessions/_live.html",
            context,
            headers={"Cache-Control": "no-store"},
        )

    @post(
        "/{session_id:uuid}/stop",
        dependencies={"writer": Provide(requires(Permission.STATIONS_WRITE))},
    )
    async def stop(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        session_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        session = await history.get_session(db_session, session_id)
        if session.status is not SessionStatus.ACTIVE:
            return await _show(
                request,
                db_session,
                writer,
                session_id,
                form_error=N_("This session has ended already."),
                status_code=400,
            )
        try:
            action, payload = get_translator().translate(
                session.protocol, tc.RemoteStop(session.transaction_id)
            )
        except (UnsupportedCommandError, ValueError):
            return await _show(
                request,
                db_session,
                writer,
                session_id,
                form_error=N_("This station cannot be asked to stop this session."),
                status_code=400,
            )
        # End the reading transaction: no connection waits idle while the station answers.
        await db_session.commit()
        result = await web_state(request).commands.send(
            current_tenant(request).key,
            session.station_id,
            action,
            payload,
            deadline_seconds=STOP_DEADLINE_SECONDS,
            requested_by=writer.email,
        )
        await audit(
            db_session,
            request,
            writer,
            action="portal.session.stop",
            entity="charging_session",
            entity_id=session.id,
            detail={
                "station_id": session.station_id,
                "transaction_id": session.transaction_id,
                "action": action,
                "command_id": str(result.command_id),
                "status": result.status.value,
            },
        )
        return Redirect(f"/portal/sessions/{session.id}#commands", status_code=303)
