"""Smart charging sites in the portal: the list, the editor (settings, EVSEs, schedule
windows) and a live view that refreshes itself every 5 s."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.pages import audit, read_form, render
from voltlane.portal.sites_chart import sparkline
from voltlane.portal.sites_forms import (
    MODES,
    SCHEDULE_KINDS,
    SITE_FIELDS,
    WEEKDAYS,
    read_evse,
    read_schedule,
    read_site,
    site_values,
)
from voltlane.portal.stations.common import location_choices
from voltlane.smart_charging import overview
from voltlane.smart_charging import sites as service
from voltlane.smart_charging.sites import InvalidSiteError
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import current_tenant
from voltlane.web.i18n import request_locale

READ = {"reader": Provide(requires(Permission.STATIONS_READ))}
WRITE = {"writer": Provide(requires(Permission.STATIONS_WRITE))}
DEFAULTS = {
    "phases": "3",
    "voltage_v": "230",
    "min_current_a": "6",
    "allocation_period_s": "60",
    "stale_after_s": "300",
    "mode": "dynamic",
}


def _locale(request: Request[Any, Any, Any]) -> str:
    return request_locale(request, current_tenant(request))


class SitesController(Controller):
    path = "/portal/sites"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    @get("/", dependencies=READ)
    async def index(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
    ) -> Response[str]:
        """Every site and circuit, with its parent, capacity and mode."""
        found = await overview.list_sites(db_session)
        names = {site.id: site.name for site in found}
        return render(request, reader, "portal/sites/index.html", {"sites": found, "names": names})

    async def _form(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        *,
        site_id: uuid.UUID | None,
        values: dict[str, str],
        errors: dict[str, str],
    ) -> Response[str]:
        parents = [
            (str(site.id), site.name)
            for site in await overview.list_sites(db_session)
            if site.id != site_id
        ]
        return render(
            request,
            staff,
            "portal/sites/edit.html",
            {
                "site_id": site_id,
                "values": {**dict.fromkeys(SITE_FIELDS, ""), **values},
                "errors": errors,
                "locations": await location_choices(db_session),
                "parents": parents,
                "modes": MODES,
            },
            status_code=400 if errors else 200,
        )

    @get("/new", dependencies=WRITE)
    async def new(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[str]:
        return await self._form(
            request, db_session, writer, site_id=None, values=dict(DEFAULTS), errors={}
        )

    @post("/new", dependencies=WRITE, status_code=303)
    async def create(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        """Create a site or circuit; a wrong field comes back beside it, nothing saved."""
        return await self._save(request, db_session, writer, None)

    @get("/{site_id:uuid}/edit", dependencies=WRITE)
    async def edit(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        site_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        site = await service.get_site(db_session, site_id)
        return await self._form(
            request, db_session, writer, site_id=site.id, values=site_values(site), errors={}
        )

    @post("/{site_id:uuid}/edit", dependencies=WRITE, status_code=303)
    async def update(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        site_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        await service.get_site(db_session, site_id)
        return await self._save(request, db_session, writer, site_id)

    async def _save(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        writer: StaffIdentity,
        site_id: uuid.UUID | None,
    ) -> Response[Any]:
        raw = await read_form(request)
        data, errors = read_site(raw, _locale(request))
        if data is not None:
            try:
                if site_id is None:
                    site = await service.create_site(db_session, data)
                else:
                    site = await service.update_site(db_session, site_id, data)
            except InvalidSiteError as exc:
                errors = exc.errors
        if data is None or errors:
            return await self._form(
                request, db_session, writer, site_id=site_id, values=raw, errors=errors
            )
        await audit(
            db_session,
            request,
            writer,
            action="site.create" if site_id is None else "site.update",
            entity="site",
            entity_id=site.id,
            detail={"name": site.name, "capacity_a": str(site.capacity_a)},
        )
        return Redirect(f"/portal/sites/{site.id}", status_code=303)

    async def _show(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        site_id: uuid.UUID,
        *,
        evse_form: tuple[dict[str, str], dict[str, str]] = ({}, {}),
        schedule_form: tuple[dict[str, str], dict[str, str]] = ({}, {}),
        fragment: str | None = None,
    ) -> Response[str]:
        now = utcnow()
        view = await overview.site_view(db_session, site_id, now=now)
        evses = [
            (str(pk), f"{station_id} / {evse_id}")
            for pk, station_id, evse_id in await overview.evse_choices(db_session)
        ]
        failed = bool(evse_form[1] or schedule_form[1])
        return render(
            request,
            staff,
            "portal/sites/show.html",
            {
                "view": view,
                "site": view.site,
                "sparklines": {key: sparkline(h, now) for key, h in view.history.items()},
                "evse_choices": evses,
                "evse_values": evse_form[0],
                "evse_errors": evse_form[1],
                "schedule_values": schedule_form[0],
                "schedule_errors": schedule_form[1],
                "schedule_kinds": SCHEDULE_KINDS,
                "weekdays": WEEKDAYS,
                "modes": dict(MODES),
            },
            fragment=fragment,
            status_code=400 if failed else 200,
        )

    @get("/{site_id:uuid}", dependencies=READ)
    async def show(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        site_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        """The site's settings, EVSEs, schedule windows and its live view."""
        return await self._show(request, db_session, reader, site_id)

    @get("/{site_id:uuid}/live", dependencies=READ)
    async def live(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        site_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        """The live view alone (HTMX polls it every 5 s)."""
        return await self._show(
            request, db_session, reader, site_id, fragment="portal/sites/_live.html"
        )

    @post("/{site_id:uuid}/evses", dependencies=WRITE, status_code=303)
    async def assign(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        site_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Put an EVSE under the site (or change its priority, wiring and maximum)."""
        await service.get_site(db_session, site_id)
        raw = await read_form(request)
        data, errors = read_evse(raw, _locale(request))
        if data is not None:
            try:
                await service.assign_evse(
                    db_session,
                    site_id,
                    data.evse_pk,
                    priority=data.priority,
                    max_current_a=data.max_current_a,
                    phases=data.phases,
                )
            except InvalidSiteError as exc:
                errors = exc.errors
        if data is None or errors:
            return await self._show(request, db_session, writer, site_id, evse_form=(raw, errors))
        await audit(
            db_session,
            request,
            writer,
            action="site.evse.assign",
            entity="site",
            entity_id=site_id,
            detail={
                "evse_pk": str(data.evse_pk),
                "priority": data.priority,
                "phases": data.phases,
                "max_current_a": None if data.max_current_a is None else str(data.max_current_a),
            },
        )
        return Redirect(f"/portal/sites/{site_id}", status_code=303)

    @post("/{site_id:uuid}/evses/{evse_pk:uuid}/remove", dependencies=WRITE, status_code=303)
    async def unassign(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        site_id: FromPath[uuid.UUID],
        evse_pk: FromPath[uuid.UUID],
    ) -> Redirect:
        view = await overview.site_view(db_session, site_id, now=utcnow())
        if any(evse.evse_pk == evse_pk for evse in view.evses):
            await service.unassign_evse(db_session, evse_pk, tenant_key=current_tenant(request).key)
            await audit(
                db_session,
                request,
                writer,
                action="site.evse.remove",
                entity="site",
                entity_id=site_id,
                detail={"evse_pk": str(evse_pk)},
            )
        return Redirect(f"/portal/sites/{site_id}", status_code=303)

    @post("/{site_id:uuid}/schedules", dependencies=WRITE, status_code=303)
    async def add_schedule(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        site_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        """Add a time-of-use or peak-shaving window."""
        await service.get_site(db_session, site_id)
        form = await request.form()
        days = [str(day) for day in form.getall("weekdays", [])]
        raw = await read_form(request)
        data, errors = read_schedule(raw, days, _locale(request))
        if data is not None:
            try:
                schedule = await service.add_schedule(
                    db_session,
                    site_id,
                    kind=data.kind,
                    weekdays=data.weekdays,
                    starts_at=data.starts_at,
                    ends_at=data.ends_at,
                    limit_a=data.limit_a,
                    label=data.label,
                )
            except InvalidSiteError as exc:
                errors = exc.errors
        if data is None or errors:
            raw["weekdays"] = ",".join(days)
            return await self._show(
                request, db_session, writer, site_id, schedule_form=(raw, errors)
            )
        await audit(
            db_session,
            request,
            writer,
            action="site.schedule.add",
            entity="site",
            entity_id=site_id,
            detail={
                "schedule_id": str(schedule.id),
                "kind": data.kind,
                "weekdays": data.weekdays,
                "starts_at": data.starts_at.isoformat(),
                "ends_at": data.ends_at.isoformat(),
                "limit_a": str(data.limit_a),
            },
        )
        return Redirect(f"/portal/sites/{site_id}", status_code=303)

    @post(
        "/{site_id:uuid}/schedules/{schedule_id:uuid}/remove",
        dependencies=WRITE,
        status_code=303,
    )
    async def remove_schedule(
        self,
        *,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        site_id: FromPath[uuid.UUID],
        schedule_id: FromPath[uuid.UUID],
    ) -> Redirect:
        """Delete a schedule window (another site's window is left alone)."""
        await service.get_site(db_session, site_id)
        if await service.remove_schedule(db_session, site_id, schedule_id):
            await audit(
                db_session,
                request,
                writer,
                action="site.schedule.remove",
                entity="site",
                entity_id=site_id,
                detail={"schedule_id": str(schedule_id)},
            )
        return Redirect(f"/portal/sites/{site_id}", status_code=303)
