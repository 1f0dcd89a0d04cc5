"""The stations section: list and search, a station's page with its live connectors, its
OCPP message log, remote commands, approval of auto-commissioned stations and onboarding.

Reading needs ``stations.read``; every POST needs ``stations.write`` on the route itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import VoltlaneError
from voltlane.identity import service as identity
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import ChargingStation, RegistrationStatus
from voltlane.portal.pages import (
    CSV_MAX_ROWS,
    Format,
    PageNumber,
    Pager,
    csv_response,
    render,
)
from voltlane.portal.station_forms import (
    COMMAND_FORMS,
    COMMANDS_BY_NAME,
    LOCATION_FIELDS,
    SECURITY_PROFILES,
    Field,
    FormInput,
    Layout,
    location_create,
    read_form,
)
from voltlane.station import service as stations
from voltlane.station.ports import UnsupportedCommandError, get_translator
from voltlane.station.schemas import FrameFilter, StationFilter
from voltlane.tenancy.registry import normalise_host
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import client_ip, current_tenant, web_state
from voltlane.web.i18n import N_

STATION_COLUMNS = (
    ("station_id", lambda s: s.station_id),
    ("location", lambda s: s.location_name),
    ("city", lambda s: s.city),
    ("vendor", lambda s: s.vendor),
    ("model", lambda s: s.model),
    ("protocol", lambda s: s.protocol),
    ("evses", lambda s: s.evse_count),
    ("connectors", lambda s: s.connector_count),
    ("max_power_w", lambda s: s.max_power_w),
    ("security_profile", lambda s: s.security_profile),
    ("registration", lambda s: s.registration_status),
)
FRAME_COLUMNS = (
    ("at", lambda f: f.at),
    ("direction", lambda f: f.direction),
    ("message_type", lambda f: f.message_type),
    ("message_id", lambda f: f.message_id),
    ("action", lambda f: f.action),
    ("error_code", lambda f: f.error_code),
    ("latency_ms", lambda f: f.latency_ms),
    ("raw", lambda f: f.raw),
)
COMMAND_COLUMNS = (
    ("created_at", lambda c: c.created_at),
    ("action", lambda c: c.action),
    ("payload", lambda c: c.payload),
    ("status", lambda c: c.status),
    ("response", lambda c: c.response),
    ("error", lambda c: c.error),
    ("requested_by", lambda c: c.requested_by),
    ("completed_at", lambda c: c.completed_at),
)
PROTOCOLS = (("ocpp1.6", "OCPP 1.6"), ("ocpp2.0.1", "OCPP 2.0.1"), ("ocpp2.1", "OCPP 2.1"))
REGISTRATIONS = (
    (RegistrationStatus.PENDING.value, N_("Awaiting approval")),
    (RegistrationStatus.ACCEPTED.value, N_("Accepted")),
    (RegistrationStatus.REJECTED.value, N_("Rejected")),
)
FRAME_FIELDS = (
    Field("since", N_("From"), "datetime"),
    Field("until", N_("Until"), "datetime"),
    Field("action", N_("Action"), max_length=64),
)
HEALTH_EVENTS = 20
MAX_LOCATIONS = 1000  # choices offered in a select
NO_STORE = {"Cache-Control": "no-store"}
Connectivity = Literal["", "online", "offline"]

read = {"reader": Provide(requires(Permission.STATIONS_READ))}
write = {"writer": Provide(requires(Permission.STATIONS_WRITE))}


def _zone(request: Request[Any, Any, Any]) -> ZoneInfo:
    return ZoneInfo(current_tenant(request).timezone)


def _ocpp_url(request: Request[Any, Any, Any], station: ChargingStation) -> str:
    """ws:// for profile 1 on plain http, wss:// on the TLS port otherwise (profiles 2-3
    require TLS); the host is the brand host the operator uses."""
    settings = web_state(request).settings
    tls = station.security_profile >= 2 or settings.public_scheme == "https"
    host = normalise_host(request.headers.get("host")) or ""
    return stations.station_ocpp_url(
        scheme="wss" if tls else "ws",
        host=host,
        port=settings.ocpp_tls_port if tls else settings.ocpp_port,
        tenant_key=current_tenant(request).key,
        station_id=station.station_id,
    )


async def _audit(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    action: str,
    *,
    station: ChargingStation,
    detail: dict[str, Any],
) -> None:
    await identity.audit(
        db_session,
        action=action,
        actor_email=staff.email,
        entity="charging_station",
        entity_id=station.id,
        detail={"station_id": station.station_id, **detail},
        ip=client_ip(request),
    )


def _credentials(
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    station: ChargingStation,
    password: str | None,
    *,
    created: bool,
) -> Response[str]:
    """Where the charger connects and its Basic-auth password: this answer is the only
    place the password ever appears, so no cache may keep it."""
    return render(
        request,
        staff,
        "portal/stations/credentials.html",
        {
            "station": station,
            "ocpp_url": _ocpp_url(request, station),
            "password": password,
            "created": created,
        },
        status_code=201 if created else 200,
        headers=NO_STORE,
    )


async def _locations(db_session: AsyncSession) -> list[tuple[str, str]]:
    page = await stations.list_locations(db_session, limit=MAX_LOCATIONS, offset=0)
    return [(str(loc.id), f"{loc.name}, {loc.city}") for loc in page.items]


def _domain_error(form: FormInput, exc: VoltlaneError, fields: tuple[Field, ...]) -> str | None:
    """Put a domain error beside its field when the form has one; else return it."""
    names = {f.name for f in fields}
    if exc.field in names:
        form.errors[exc.field] = exc.detail
        return None
    return exc.detail


class StationsController(Controller):
    path = "/portal/stations"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    # -- the list -------------------------------------------------------------------------
    @get("/", dependencies=read)
    async def index(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        q: FromQuery[str] = "",
        registration: FromQuery[Literal["", "Accepted", "Pending", "Rejected"]] = "",
        connectivity: FromQuery[Connectivity] = "",
        protocol: FromQuery[Literal["", "ocpp1.6", "ocpp2.0.1", "ocpp2.1"]] = "",
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        search = q.strip()[:100]
        filters = StationFilter(
            search=search,
            registration_status=RegistrationStatus(registration) if registration else None,
            connected={"online": True, "offline": False}.get(connectivity),
            protocol=protocol or None,
        )
        pager = Pager(page)
        tenant = current_tenant(request)
        async with web_state(request).database.platform_session() as platform:
            rows = await stations.search_stations(
                db_session,
                platform,
                tenant.key,
                filters,
                limit=pager.limit if format == "html" else CSV_MAX_ROWS,
                offset=pager.offset,
            )
        if format == "csv":
            return csv_response("stations.csv", STATION_COLUMNS, rows)
        query = {
            "q": search,
            "registration": registration,
            "connectivity": connectivity,
            "protocol": protocol,
        }
        pending = any(r.registration_status == "Pending" for r in rows)
        return render(
            request,
            reader,
            "portal/stations/index.html",
            {
                "page": pager.page(rows, query=query),
                "filters": query,
                "registrations": REGISTRATIONS,
                "protocols": PROTOCOLS,
                "locations": await _locations(db_session) if pending else [],
            },
            fragment="portal/stations/_table.html",
        )

    # -- a station's page -----------------------------------------------------------------
    async def _show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        staff: StaffIdentity,
        station_pk: uuid.UUID,
        *,
        template: str = "portal/stations/show.html",
        context: Mapping[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        station = await stations.get_station(db_session, station_pk)
        tenant = current_tenant(request)
        async with web_state(request).database.platform_session() as platform:
            connectivity = await stations.station_connectivity(
                db_session, platform, tenant.key, station.station_id
            )
        location = (
            await stations.get_location(db_session, station.location_id)
            if station.location_id
            else None
        )
        pending = station.registration_status is RegistrationStatus.PENDING
        return render(
            request,
            staff,
            template,
            {
                "station": station,
                "location": location,
                "connectivity": connectivity,
                "ocpp_url": _ocpp_url(request, station),
                "events": await stations.station_health_events(
                    db_session, station.id, limit=HEALTH_EVENTS
                ),
                "configuration": await stations.reported_configuration(db_session, station),
                "locations": await _locations(db_session) if pending else [],
                "errors": {},
                "form_error": None,
                **(context or {}),
            },
            fragment="portal/stations/_live.html",
            status_code=status_code,
        )

    @get("/{station_pk:uuid}", dependencies=read)
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        station_pk: FromPath[uuid.UUID],
    ) -> Response[str]:
        return await self._show(request, db_session, reader, station_pk)

    @get("/{station_pk:uuid}/live", dependencies=read)
    async def live(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        station_pk: FromPath[uuid.UUID],
    ) -> Response[str]:
        """The connectors' status and the connection, polled by the station page."""
        station = await stations.get_station(db_session, station_pk)
        tenant = current_tenant(request)
        async with web_state(request).database.platform_session() as platform:
            connectivity = await stations.station_connectivity(
                db_session, platform, tenant.key, station.station_id
            )
        return render(
            request,
            reader,
            "portal/stations/_live.html",
            {"station": station, "connectivity": connectivity},
        )

    @post("/{station_pk:uuid}/approve", dependencies=write, status_code=303)
    async def approve(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        station_pk: FromPath[uuid.UUID],
    ) -> Response[Any]:
        fields = (Field("location_id", N_("Location"), "uuid", required=True),)
        form = read_form(fields, await request.form())
        form_error = None
        if not form.errors:
            try:
                async with db_session.begin_nested():
                    station = await stations.approve_station(
                        db_session, station_pk, location_id=form.values["location_id"]
                    )
                    await _audit(
                        db_session,
                        request,
                        writer,
                        "portal.station.approve",
                        station=station,
                        detail={"location_id": str(station.location_id)},
                    )
                return Redirect(f"/portal/stations/{station_pk}", status_code=303)
            except VoltlaneError as exc:
                if exc.status == 404 and exc.field is None:
                    raise
                form_error = _domain_error(form, exc, fields)
        return await self._show(
            request,
            db_session,
            writer,
            station_pk,
            context={"errors": form.errors, "form_error": form_error, "form": form.raw},
            status_code=400,
        )

    @post("/{station_pk:uuid}/password", dependencies=write, status_code=200)
    async def new_password(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        station_pk: FromPath[uuid.UUID],
    ) -> Response[str]:
        """A generated Basic-auth password, shown in this answer only (never stored in
        clear, never logged): the station must be given it before it reconnects."""
        await stations.get_station_row(db_session, station_pk)  # 404 before anything else
        try:
            async with db_session.begin_nested():
                station, password = await stations.set_station_password(db_session, station_pk)
                await _audit(
                    db_session,
                    request,
                    writer,
                    "portal.station.password_set",
                    station=station,
                    detail={},
                )
        except VoltlaneError as exc:
            return await self._show(
                request,
                db_session,
                writer,
                station_pk,
                context={"form_error": exc.detail},
                status_code=400,
            )
        return _credentials(request, writer, station, password, created=False)

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
        form = read_form(FRAME_FIELDS, request.query_params, zone=_zone(request))
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
        failed: tuple[str, FormInput, str | None] | None = None,
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
            return Redirect(f"/portal/stations/{station_pk}/commands", status_code=303)
        form = read_form(spec.fields, await request.form(), zone=_zone(request))
        form_error: str | None = None
        if not form.errors:
            try:
                action, payload = get_translator().translate(
                    station.protocol or "", spec.build(form.values)
                )
                if get_translator().redact(action, payload) is not None:
                    form_error = N_(
                        "The station's password changes only with “Set a new password”."
                    )
            except UnsupportedCommandError as exc:
                form_error = f"{exc}."
        if form.errors or form_error:
            return await self._commands_page(
                request, db_session, writer, station_pk, failed=(name, form, form_error)
            )
        tenant = current_tenant(request)
        result = await web_state(request).commands.send(
            tenant.key, station.station_id, action, payload, requested_by=writer.email
        )
        await _audit(
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

    # -- onboarding -----------------------------------------------------------------------
    @get("/new", dependencies=write)
    async def new(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[str]:
        """Step 1: the site, an existing location or a new one."""
        return render(
            request,
            writer,
            "portal/stations/new.html",
            {
                "locations": await _locations(db_session),
                "fields": LOCATION_FIELDS,
                "form": {},
                "errors": {},
                "form_error": None,
            },
        )

    @post("/new", dependencies=write, status_code=303)
    async def choose_location(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        data = await request.form()
        form_error = None
        if str(data.get("location") or "") != "new":
            choice = read_form((Field("location", N_("Location"), "uuid", required=True),), data)
            if not choice.errors:
                location_id = choice.values["location"]
                try:
                    await stations.get_location(db_session, location_id)
                    return Redirect(
                        f"/portal/stations/new/station?location_id={location_id}",
                        status_code=303,
                    )
                except VoltlaneError:
                    choice.errors["location"] = N_("Choose one of the options.")
            form = FormInput({"location": str(data.get("location") or "")}, {}, choice.errors)
        else:
            form = read_form(LOCATION_FIELDS, data)
            form.raw["location"] = "new"
            if not form.errors:
                try:
                    async with db_session.begin_nested():
                        location = await stations.create_location(
                            db_session, location_create(form.values)
                        )
                        await identity.audit(
                            db_session,
                            action="portal.location.create",
                            actor_email=writer.email,
                            entity="location",
                            entity_id=location.id,
                            detail={"name": location.name},
                            ip=client_ip(request),
                        )
                    return Redirect(
                        f"/portal/stations/new/station?location_id={location.id}",
                        status_code=303,
                    )
                except VoltlaneError as exc:
                    form_error = _domain_error(form, exc, LOCATION_FIELDS)
        return render(
            request,
            writer,
            "portal/stations/new.html",
            {
                "locations": await _locations(db_session),
                "fields": LOCATION_FIELDS,
                "form": form.raw,
                "errors": form.errors,
                "form_error": form_error,
            },
            status_code=400,
        )

    async def _station_form(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        location_id: uuid.UUID,
        layout: Layout,
        *,
        form: Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
        form_error: str | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        location = await stations.get_location(db_session, location_id)
        return render(
            request,
            staff,
            "portal/stations/new_station.html",
            {
                "location": location,
                "layout": layout,
                "form": form or {},
                "errors": errors or {},
                "form_error": form_error,
                "security_profiles": SECURITY_PROFILES,
            },
            status_code=status_code,
        )

    @get("/new/station", dependencies=write)
    async def new_station(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        location_id: FromQuery[uuid.UUID],
        evses: FromQuery[str] = "1",
        connectors: FromQuery[str] = "1",
    ) -> Response[str]:
        """Step 2: the station, its security profile, EVSEs and connectors."""
        layout = Layout.read(evses, connectors)
        return await self._station_form(request, db_session, writer, location_id, layout)

    @post("/new/station", dependencies=write, status_code=201)
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[str]:
        """Create the station; the answer shows its OCPP URL and password, once."""
        data = await request.form()
        layout = Layout.read(str(data.get("evses") or ""), str(data.get("connectors") or ""))
        place = read_form((Field("location_id", N_("Location"), "uuid", required=True),), data)
        if place.errors:
            return Redirect("/portal/stations/new", status_code=303)
        location = await stations.get_location(db_session, place.values["location_id"])
        fields = layout.fields()
        form = read_form(fields, data)
        form_error = None
        if not form.errors:
            try:
                async with db_session.begin_nested():
                    station, password = await stations.create_station(
                        db_session, location, layout.station_create(form.values)
                    )
                    await _audit(
                        db_session,
                        request,
                        writer,
                        "portal.station.create",
                        station=station,
                        detail={
                            "location_id": str(location.id),
                            "security_profile": station.security_profile,
                        },
                    )
                return _credentials(request, writer, station, password, created=True)
            except VoltlaneError as exc:
                form_error = _domain_error(form, exc, fields)
        return await self._station_form(
            request,
            db_session,
            writer,
            location.id,
            layout,
            form=form.raw,
            errors=form.errors,
            form_error=form_error,
            status_code=400,
        )
