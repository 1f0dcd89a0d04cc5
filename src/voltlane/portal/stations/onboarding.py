"""The onboarding wizard: a location, then the station with its EVSEs and connectors, then
its connection details once; and a further EVSE for a station in service."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import VoltlaneError
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.pages import audit
from voltlane.portal.stations.common import (
    audit_station,
    credentials_page,
    domain_error,
    form_page,
    location_choices,
    write,
)
from voltlane.portal.stations.forms import (
    LOCATION_FIELDS,
    SECURITY_PROFILES,
    Field,
    FormInput,
    Layout,
    location_create,
    read_form,
)
from voltlane.station import service as stations
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_, request_locale


class OnboardingController(Controller):
    """Every step needs ``stations.write``."""

    path = "/"
    include_in_schema = False

    # -- onboarding -----------------------------------------------------------------------
    @get("/new", dependencies=write)
    async def new(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[str]:
        """Step 1: the site, an existing location or a new one."""
        return form_page(
            request,
            writer,
            "portal/stations/new.html",
            {"locations": await location_choices(db_session), "fields": LOCATION_FIELDS},
        )

    @post("/new", dependencies=write, status_code=303)
    async def choose_location(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        data = await request.form()
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
            # Coordinates as the page writes numbers ("52,5200" in German) or with a point.
            locale = request_locale(request, current_tenant(request))
            form = read_form(LOCATION_FIELDS, data, locale=locale)
            form.raw["location"] = "new"
            if not form.errors:
                try:
                    async with db_session.begin_nested():
                        location = await stations.create_location(
                            db_session, location_create(form.values)
                        )
                        await audit(
                            db_session,
                            request,
                            writer,
                            action="portal.location.create",
                            entity="location",
                            entity_id=location.id,
                            detail={"name": location.name},
                        )
                    return Redirect(
                        f"/portal/stations/new/station?location_id={location.id}",
                        status_code=303,
                    )
                except VoltlaneError as exc:
                    domain_error(form, exc, LOCATION_FIELDS)
        return form_page(
            request,
            writer,
            "portal/stations/new.html",
            {"locations": await location_choices(db_session), "fields": LOCATION_FIELDS},
            form,
        )

    async def _station_form(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        location_id: uuid.UUID,
        layout: Layout,
        *,
        form: FormInput | None = None,
    ) -> Response[str]:
        location = await stations.get_location(db_session, location_id)
        return form_page(
            request,
            staff,
            "portal/stations/new_station.html",
            {"location": location, "layout": layout, "security_profiles": SECURITY_PROFILES},
            form,
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
        if not form.errors:
            try:
                async with db_session.begin_nested():
                    station, password = await stations.create_station(
                        db_session, location, layout.station_create(form.values)
                    )
                    await audit_station(
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
                return credentials_page(request, writer, station, password, created=True)
            except VoltlaneError as exc:
                domain_error(form, exc, fields)
        return await self._station_form(request, db_session, writer, location.id, layout, form=form)

    # -- a further EVSE -------------------------------------------------------------------
    async def _evse_form(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        station_pk: uuid.UUID,
        layout: Layout,
        *,
        form: FormInput | None = None,
    ) -> Response[str]:
        station = await stations.get_station_row(db_session, station_pk)
        return form_page(
            request,
            staff,
            "portal/stations/new_evse.html",
            {"station": station, "layout": layout},
            form,
        )

    @get("/{station_pk:uuid}/evses/new", dependencies=write)
    async def new_evse(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        station_pk: FromPath[uuid.UUID],
        connectors: FromQuery[str] = "1",
    ) -> Response[str]:
        """An EVSE with its connectors, numbered after the station's last one."""
        layout = Layout.read("1", connectors)
        return await self._evse_form(request, db_session, writer, station_pk, layout)

    @post("/{station_pk:uuid}/evses/new", dependencies=write, status_code=303)
    async def add_evse(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        station_pk: FromPath[uuid.UUID],
    ) -> Response[Any]:
        station = await stations.get_station_row(db_session, station_pk)
        data = await request.form()
        layout = Layout.read("1", str(data.get("connectors") or ""))
        fields = layout.connector_only_fields()
        form = read_form(fields, data)
        if not form.errors:
            try:
                async with db_session.begin_nested():
                    evse = await stations.add_evse(
                        db_session, station_pk, layout.evse_create(form.values, 1)
                    )
                    await audit_station(
                        db_session,
                        request,
                        writer,
                        "portal.station.evse_add",
                        station=station,
                        detail={"evse_id": evse.evse_id, "connectors": len(evse.connectors)},
                    )
                return Redirect(f"/portal/stations/{station_pk}", status_code=303)
            except VoltlaneError as exc:
                domain_error(form, exc, fields)
        return await self._evse_form(request, db_session, writer, station_pk, layout, form=form)
