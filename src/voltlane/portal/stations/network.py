"""The station list and a station's page: live status, approval, changes, a new password."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import VoltlaneError
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import RegistrationStatus
from voltlane.portal.pages import (
    CSV_MAX_ROWS,
    Format,
    PageNumber,
    Pager,
    csv_response,
    render,
)
from voltlane.portal.stations.common import (
    HEALTH_EVENTS,
    PROTOCOLS,
    REGISTRATIONS,
    STATION_COLUMNS,
    Connectivity,
    audit_station,
    credentials_page,
    domain_error,
    form_page,
    location_choices,
    read,
    write,
)
from voltlane.portal.stations.forms import (
    EDIT_FIELDS,
    SECURITY_PROFILES,
    Field,
    FormInput,
    read_form,
)
from voltlane.station import service as stations
from voltlane.station.schemas import StationFilter, StationUpdate, changes
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import N_
from voltlane.web.station_urls import ocpp_url


class StationsController(Controller):
    """Reading needs ``stations.read``; approving, changing and new passwords
    ``stations.write``."""

    path = "/"
    include_in_schema = False

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
                offset=pager.offset if format == "html" else 0,
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
                "locations": await location_choices(db_session) if pending else [],
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
                "ocpp_url": ocpp_url(request, station),
                "events": await stations.station_health_events(
                    db_session, station.id, limit=HEALTH_EVENTS
                ),
                "configuration": await stations.reported_configuration(db_session, station),
                "locations": await location_choices(db_session) if pending else [],
                "form": {},
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
        if not form.errors:
            try:
                async with db_session.begin_nested():
                    station = await stations.approve_station(
                        db_session, station_pk, location_id=form.values["location_id"]
                    )
                    await audit_station(
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
                domain_error(form, exc, fields)
        return await self._show(
            request,
            db_session,
            writer,
            station_pk,
            context={"errors": form.errors, "form_error": form.form_error, "form": form.raw},
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
        if (await request.form()).get("confirm") != "yes":
            return await self._show(
                request,
                db_session,
                writer,
                station_pk,
                context={"errors": {"confirm": N_("Tick the box to confirm.")}},
                status_code=400,
            )
        try:
            async with db_session.begin_nested():
                station, password = await stations.set_station_password(db_session, station_pk)
                await audit_station(
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
        return credentials_page(request, writer, station, password, created=False)

    # -- changing a station ---------------------------------------------------------------
    async def _edit_form(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        station_pk: uuid.UUID,
        form: FormInput | None = None,
    ) -> Response[str]:
        station = await stations.get_station_row(db_session, station_pk)
        current = {
            "location_id": str(station.location_id or ""),
            "security_profile": str(station.security_profile),
            "vendor": station.vendor or "",
            "model": station.model or "",
            "serial_number": station.serial_number or "",
        }
        return form_page(
            request,
            staff,
            "portal/stations/edit.html",
            {
                "station": station,
                "locations": await location_choices(db_session),
                "fields": EDIT_FIELDS[1:],
                "security_profiles": SECURITY_PROFILES,
            },
            form,
            initial=current,
        )

    @get("/{station_pk:uuid}/edit", dependencies=write)
    async def edit(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        station_pk: FromPath[uuid.UUID],
    ) -> Response[str]:
        return await self._edit_form(request, db_session, writer, station_pk)

    @post("/{station_pk:uuid}/edit", dependencies=write, status_code=303)
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        station_pk: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Change the site, identity details or security profile. Leaving profile 3 gives
        the station a generated password, shown once; moving to 3 drops its password."""
        await stations.get_station_row(db_session, station_pk)  # 404 before anything else
        form = read_form(EDIT_FIELDS, await request.form())
        if not form.errors:
            update = StationUpdate(
                location_id=form.values["location_id"],
                vendor=form.values["vendor"],
                model=form.values["model"],
                serial_number=form.values["serial_number"],
                security_profile=int(form.values["security_profile"]),
            )
            try:
                async with db_session.begin_nested():
                    station, password = await stations.update_station(
                        db_session, station_pk, update
                    )
                    await audit_station(
                        db_session,
                        request,
                        writer,
                        "portal.station.update",
                        station=station,
                        detail={
                            k: str(v) if isinstance(v, uuid.UUID) else v
                            for k, v in changes(update).items()
                        },
                    )
            except VoltlaneError as exc:
                domain_error(form, exc, EDIT_FIELDS)
            else:
                if password is not None:
                    return credentials_page(request, writer, station, password, created=False)
                return Redirect(f"/portal/stations/{station_pk}", status_code=303)
        return await self._edit_form(request, db_session, writer, station_pk, form)
