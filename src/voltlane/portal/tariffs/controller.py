"""Tariffs in the portal: the list, a tariff's versions and places, the editor, the preview.

Finance staff read with FINANCE_READ; every POST that changes something needs FINANCE_WRITE,
checked on the route itself.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import tariffs as tariff_service
from voltlane.billing.tariff_repository import Place
from voltlane.billing.tariffs import VersionView
from voltlane.core.clock import utcnow
from voltlane.core.errors import NotFoundError
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.pages import (
    CSV_MAX_ROWS,
    Format,
    PageNumber,
    Pager,
    audit,
    csv_response,
    render,
)
from voltlane.portal.tariffs.forms import (
    blank_form,
    form_of_tariff,
    read_form,
)
from voltlane.portal.tariffs.sample import parse_sample, sample_form
from voltlane.portal.tariffs.views import (
    assignment_target,
    default_base,
    edit,
    next_hour,
    render_editor,
    render_show,
    tariff_path,
    zone_of,
)
from voltlane.tariff import TariffError
from voltlane.tariff.rounding import to_minor
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_

READ = {"reader": Provide(requires(Permission.FINANCE_READ))}
WRITE = {"writer": Provide(requires(Permission.FINANCE_WRITE))}
RESERVED_CODES = frozenset({"new"})  # paths of this section, not tariff codes


def place_label(place: Place) -> str:
    """A place as the CSV names it: ``brand``, ``location:Depot``, ``evse:CS-1/1``,
    ``connector:CS-1/1/2``."""
    if place.scope == "brand":
        return "brand"
    if place.scope == "location":
        return f"location:{place.location}"
    evse = f"{place.station_id}/{place.evse_id}"
    return f"evse:{evse}" if place.scope == "evse" else f"connector:{evse}/{place.connector_id}"


def _minor(view: VersionView, name: str) -> int | None:
    price = getattr(view.tariff, name)
    return None if price is None else to_minor(price.excl_vat, view.tariff.currency)


# One line per version, tariffs in code order.
TARIFF_COLUMNS = (
    ("code", lambda r: r[0].code),
    ("segment", lambda r: str(r[1].segment)),
    ("status", lambda r: r[1].status.value),
    ("valid_from", lambda r: r[1].tariff.start_date_time),
    ("valid_to", lambda r: r[1].tariff.end_date_time),
    ("currency", lambda r: r[1].tariff.currency),
    ("elements", lambda r: len(r[1].tariff.elements)),
    ("min_price_excl_vat_minor", lambda r: _minor(r[1], "min_price")),
    ("max_price_excl_vat_minor", lambda r: _minor(r[1], "max_price")),
    (
        "idle_fee_per_minute",
        lambda r: r[1].tariff.idle_fee.price_per_minute if r[1].tariff.idle_fee else None,
    ),
    ("assigned_to", lambda r: " ".join(place_label(a.place) for a in r[0].places)),
    ("created_at", lambda r: r[1].version.created_at.astimezone(UTC)),
    ("created_by", lambda r: r[1].version.created_by),
)


class TariffPortalController(Controller):
    path = "/portal/tariffs"
    include_in_schema = False
    dependencies = {"staff": Provide(provide_staff)}

    # -- the list -------------------------------------------------------------------------
    @get("/", dependencies=READ)
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        now = utcnow()
        if format == "csv":
            overviews = await tariff_service.list_tariff_overviews(
                db_session, now=now, limit=CSV_MAX_ROWS, offset=0
            )
            rows = [(o, v) for o in overviews for v in o.versions]
            return csv_response("tariffs.csv", TARIFF_COLUMNS, rows)
        pager = Pager(page)
        overviews = await tariff_service.list_tariff_overviews(
            db_session, now=now, limit=pager.limit, offset=pager.offset
        )
        return render(
            request,
            reader,
            "portal/tariffs/index.html",
            {"page": pager.page(overviews)},
            fragment="portal/tariffs/_table.html",
        )

    # -- one tariff -----------------------------------------------------------------------
    @get("/{code:str}", dependencies=READ)
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        code: FromPath[str],
    ) -> Response[str]:
        tenant = current_tenant(request)
        sample = sample_form((), default_start=next_hour(tenant))
        return await render_show(request, db_session, reader, code, sample=sample)

    @get("/{code:str}/preview", dependencies=READ)
    async def preview(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        code: FromPath[str],
    ) -> Response[str]:
        tenant = current_tenant(request)
        sample = sample_form(request.query_params.items(), default_start=next_hour(tenant))
        parsed = parse_sample(sample, zone_of(tenant))
        if parsed is None:
            return await render_show(
                request, db_session, reader, code, sample=sample, status_code=400
            )
        session, segment = parsed
        try:
            view, priced = await tariff_service.preview_tariff(db_session, code, segment, session)
        except TariffError:
            return await render_show(
                request,
                db_session,
                reader,
                code,
                sample=sample,
                preview_error=N_("No version of this tariff is in force for that segment then."),
            )
        return await render_show(
            request, db_session, reader, code, sample=sample, preview=priced, priced_by=view
        )

    # -- where it applies -----------------------------------------------------------------
    @post("/{code:str}/assignments", dependencies=WRITE, status_code=303)
    async def assign(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        code: FromPath[str],
    ) -> Response[Any]:
        tenant = current_tenant(request)
        form = await request.form()
        chosen = str(form.get("place") or "")
        target = assignment_target(chosen)
        if target is None:
            sample = sample_form((), default_start=next_hour(tenant))
            return await render_show(
                request,
                db_session,
                writer,
                code,
                sample=sample,
                assign_errors={"place": N_("Choose where this tariff applies from the list.")},
                place=chosen,
                status_code=400,
            )
        assignment = await tariff_service.assign_tariff(db_session, code, **target)
        await audit(
            db_session,
            request,
            writer,
            action="portal.tariff.assign",
            entity="tariff_assignment",
            entity_id=assignment.id,
            detail={"code": code, "place": chosen},
        )
        return Redirect(f"{tariff_path(code)}#places", status_code=303)

    @post("/{code:str}/assignments/{assignment_id:uuid}/delete", dependencies=WRITE)
    async def unassign(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        code: FromPath[str],
        assignment_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        assignment = await tariff_service.unassign_tariff(db_session, code, assignment_id)
        await audit(
            db_session,
            request,
            writer,
            action="portal.tariff.unassign",
            entity="tariff_assignment",
            entity_id=assignment.id,
            detail={
                "code": code,
                "location_id": str(assignment.location_id) if assignment.location_id else None,
                "evse_id": str(assignment.evse_pk) if assignment.evse_pk else None,
                "connector_id": str(assignment.connector_pk) if assignment.connector_pk else None,
            },
        )
        return Redirect(f"{tariff_path(code)}#places", status_code=303)

    # -- the editor -----------------------------------------------------------------------
    @get("/new", dependencies=WRITE)
    async def new(
        self, request: Request[Any, Any, Any], writer: NamedDependency[StaffIdentity]
    ) -> Response[str]:
        return render_editor(request, writer, blank_form(), code=None)

    @post("/new", dependencies=WRITE)
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        items = list((await request.form()).multi_items())
        form = read_form(items)
        code = form.get("code")
        if code.lower() in RESERVED_CODES:
            form.errors["code"] = N_("This code is reserved: choose another.")
        elif code and await tariff_service.tariff_code_exists(db_session, code):
            form.errors["code"] = N_("A tariff with this code exists: add a version to it instead.")
        return await edit(request, db_session, writer, form, items, code=None)

    @get("/{code:str}/versions/new", dependencies=WRITE)
    async def new_version(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        code: FromPath[str],
        based_on: FromQuery[uuid.UUID | None] = None,
    ) -> Response[str]:
        tenant = current_tenant(request)
        overview = await tariff_service.tariff_overview(db_session, code, now=utcnow())
        base = overview.version(based_on) if based_on else default_base(overview)
        if base is None:
            raise NotFoundError(f"tariff {code!r} has no version {based_on}")
        form = form_of_tariff(base.tariff, base.segment, zone_of(tenant))
        return render_editor(request, writer, form, code=code, based_on=base)

    @post("/{code:str}/versions", dependencies=WRITE)
    async def create_version(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        code: FromPath[str],
    ) -> Response[Any]:
        await tariff_service.tariff_overview(db_session, code, now=utcnow())  # 404 if unknown
        items = list((await request.form()).multi_items())
        return await edit(request, db_session, writer, read_form(items), items, code=code)
