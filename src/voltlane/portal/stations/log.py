"""A station's OCPP message log and its remote commands."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import NotFoundError
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.pages import (
    CSV_MAX_ROWS,
    Format,
    PageNumber,
    Pager,
    csv_response,
    render,
)
from voltlane.portal.stations.command_forms import COMMAND_FORMS, COMMANDS_BY_NAME
from voltlane.portal.stations.common import (
    COMMAND_COLUMNS,
    FRAME_COLUMNS,
    FRAME_FIELDS,
    audit_station,
    read,
    write,
    zone,
)
from voltlane.portal.stations.forms import (
    FormInput,
    read_form,
)
from voltlane.station import service as stations
from voltlane.station.ports import UnsupportedCommandError, get_translator
from voltlane.station.schemas import FrameFilter
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import N_


class StationLogController(Controller):
    """Sending a command needs ``stations.write``; the log and results ``stations.read``."""

    path = "/"
    include_in_schema = False

    # -- the OCPP message log -------------------------------------------------------------
    @get("/{station_pk:uuid}/messages", dependencies=read)
    async def messages(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        station_pk: FromPath[uuid.UUID],
        direction: FromQuery[Literal["", "in", "out"]] = "",
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        station = await stations.get_station_row(db_session, station_pk)
        form = read_form(FRAME_FIELDS, request.query_params, zone=zone(request))
        query = {**form.raw, "direction": direction}
        frames = []
        if not form.errors:
            filters = FrameFilter(
                direction=direction or None,
                action=form.values["action"],
                since=form.values["since"],
                until=form.values["until"],
            )
            pager = Pager(page)
            frames = await stations.message_log(
                db_session,
                station.station_id,
                filters,
                limit=CSV_MAX_ROWS if format == "csv" else pager.limit,
                offset=0 if format == "csv" else pager.offset,
            )
            if format == "csv":
                return csv_response(f"{station.station_id}-messages.csv", FRAME_COLUMNS, frames)
        return render(
            request,
            reader,
            "portal/stations/messages.html",
            {
                "station": station,
                "page": Pager(page).page(frames, query=query),
                "filters": query,
                "errors": form.errors,
                "fields": FRAME_FIELDS,
            },
            fragment="portal/stations/_messages.html",
            status_code=400 if form.errors else 200,
        )

    # -- remote commands ------------------------------------------------------------------
    async def _commands_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        station_pk: uuid.UUID,
        *,
        page: int = 1,
        failed: tuple[str, FormInput] | None = None,
    ) -> Response[str]:
        station = await stations.get_station_row(db_session, station_pk)
        pager = Pager(page)
        commands = await stations.station_commands(
            db_session, station_pk, limit=pager.limit, offset=pager.offset
        )
        return render(
            request,
            staff,
            "portal/stations/commands.html",
            {
                "station": station,
                "page": pager.page(commands.items),
                "command_forms": COMMAND_FORMS,
                "failed": failed,
                "redact": get_translator().redact,
            },
            fragment="portal/stations/_commands.html",
            status_code=400 if failed else 200,
        )

    @get("/{station_pk:uuid}/commands", dependencies=read)
    async def commands(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        station_pk: FromPath[uuid.UUID],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        if format == "csv":
            station = await stations.get_station_row(db_session, station_pk)
            rows = await stations.station_commands(
                db_session, station_pk, limit=CSV_MAX_ROWS, offset=0
            )
            return csv_response(f"{station.station_id}-commands.csv", COMMAND_COLUMNS, rows.items)
        return await self._commands_page(request, db_session, reader, station_pk, page=page)

    @post("/{station_pk:uuid}/commands/{name:str}", dependencies=write, status_code=303)
    async def send_command(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        station_pk: FromPath[uuid.UUID],
        name: FromPath[str],
    ) -> Response[Any]:
        """Send a command and wait for its definite result (accepted, rejected, timeout or
        offline), then show it in the station's command list."""
        spec = COMMANDS_BY_NAME.get(name)
        station = await stations.get_station_row(db_session, station_pk)
        if spec is None:
            raise NotFoundError(f"No command {name}.")
        form = read_form(spec.fields, await request.form(), zone=zone(request))
        if not form.errors:
            try:
                action, payload = get_translator().translate(
                    station.protocol or "", spec.build(form.values)
                )
                if get_translator().redact(action, payload) is not None:
                    form.form_error = N_(
                        "The station's password changes only with “Set a new password”."
                    )
            except UnsupportedCommandError as exc:
                form.form_error = f"{exc}."
        if form.refused:
            return await self._commands_page(
                request, db_session, writer, station_pk, failed=(name, form)
            )
        tenant = current_tenant(request)
        # The wait for the station can take half a minute: no connection is held meanwhile
        # (the command itself is recorded by the command path, with who asked for it).
        await db_session.commit()
        result = await web_state(request).commands.send(
            tenant.key, station.station_id, action, payload, requested_by=writer.email
        )
        await audit_station(
            db_session,
            request,
            writer,
            "portal.station.command",
            station=station,
            detail={
                "command": name,
                "action": action,
                "command_id": str(result.command_id),
                "status": result.status.value,
            },
        )
        return Redirect(
            f"/portal/stations/{station_pk}/commands#command-{result.command_id}",
            status_code=303,
        )
