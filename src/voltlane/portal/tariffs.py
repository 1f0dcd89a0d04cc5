"""Tariffs in the portal: the list, a tariff's versions and places, the editor, the preview.

Finance staff read with FINANCE_READ; every POST that changes something needs FINANCE_WRITE,
checked on the route itself. The editor posts to one route per purpose (a new tariff, a new
version of one): a button named ``add_element``, ``remove_element`` or ``preview`` re-renders
the editor (HTMX swaps it in place) and writes nothing; only the save button writes.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import tariffs as tariff_service
from voltlane.billing.pricing import idle_fee_to_json
from voltlane.billing.tariff_repository import AssignedPlace, Place
from voltlane.billing.tariffs import TariffOverview, VersionView
from voltlane.core.clock import utcnow
from voltlane.core.errors import NotFoundError, VoltlaneError
from voltlane.identity import service as identity
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.pages import CSV_MAX_ROWS, Format, PageNumber, Pager, csv_response, render
from voltlane.portal.tariff_forms import (
    COMPONENTS,
    DAYS,
    RESERVATIONS,
    SEGMENTS,
    SampleForm,
    TariffForm,
    TariffInput,
    blank_form,
    form_of_tariff,
    parse_sample,
    parse_tariff,
    read_form,
    sample_form,
)
from voltlane.tariff import PricedSession, TariffError, tariff_to_ocpi
from voltlane.tariff.rounding import to_minor
from voltlane.tenancy import TenantInfo
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import client_ip, current_tenant
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
    ("created_at", lambda r: r[1].version.created_at),
    ("created_by", lambda r: r[1].version.created_by),
)


def _zone(tenant: TenantInfo) -> ZoneInfo:
    return ZoneInfo(tenant.timezone)


def _language(tenant: TenantInfo) -> str:
    return tenant.locale.split("_")[0]


def _next_hour(tenant: TenantInfo) -> datetime:
    now = utcnow().astimezone(_zone(tenant))
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


async def _audit(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    action: str,
    *,
    entity: str,
    entity_id: uuid.UUID,
    detail: dict[str, Any],
) -> None:
    await identity.audit(
        db_session,
        action=action,
        actor_email=staff.email,
        entity=entity,
        entity_id=entity_id,
        detail=detail,
        ip=client_ip(request),
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
        sample = sample_form((), default_start=_next_hour(tenant))
        return await _show(request, db_session, reader, code, sample=sample)

    @get("/{code:str}/preview", dependencies=READ)
    async def preview(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        code: FromPath[str],
    ) -> Response[str]:
        tenant = current_tenant(request)
        sample = sample_form(request.query_params.items(), default_start=_next_hour(tenant))
        parsed = parse_sample(sample, _zone(tenant))
        if parsed is None:
            return await _show(request, db_session, reader, code, sample=sample, status_code=400)
        session, segment = parsed
        try:
            view, priced = await tariff_service.preview_tariff(db_session, code, segment, session)
        except TariffError:
            return await _show(
                request,
                db_session,
                reader,
                code,
                sample=sample,
                preview_error=N_("No version of this tariff is in force for that segment then."),
            )
        return await _show(
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
        target = _assignment_target(chosen)
        if target is None:
            sample = sample_form((), default_start=_next_hour(tenant))
            return await _show(
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
        await _audit(
            db_session,
            request,
            writer,
            "portal.tariff.assign",
            entity="tariff_assignment",
            entity_id=assignment.id,
            detail={"code": code, "place": chosen},
        )
        return Redirect(f"/portal/tariffs/{code}#places", status_code=303)

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
        await _audit(
            db_session,
            request,
            writer,
            "portal.tariff.unassign",
            entity="tariff_assignment",
            entity_id=assignment.id,
            detail={
                "code": code,
                "location_id": str(assignment.location_id) if assignment.location_id else None,
                "evse_id": str(assignment.evse_pk) if assignment.evse_pk else None,
                "connector_id": str(assignment.connector_pk) if assignment.connector_pk else None,
            },
        )
        return Redirect(f"/portal/tariffs/{code}#places", status_code=303)

    # -- the editor -----------------------------------------------------------------------
    @get("/new", dependencies=WRITE)
    async def new(
        self, request: Request[Any, Any, Any], writer: NamedDependency[StaffIdentity]
    ) -> Response[str]:
        return _editor(request, writer, blank_form(), code=None)

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
        return await _edit(request, db_session, writer, form, items, code=None)

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
        base = overview.version(based_on) if based_on else _default_base(overview)
        if base is None:
            raise NotFoundError(f"tariff {code!r} has no version {based_on}")
        form = form_of_tariff(base.tariff, base.segment, _zone(tenant))
        return _editor(request, writer, form, code=code, based_on=base)

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
        return await _edit(request, db_session, writer, read_form(items), items, code=code)


_SCOPE_ARGUMENTS = {"location": "location_id", "evse": "evse_pk", "connector": "connector_pk"}


def _assignment_target(chosen: str) -> dict[str, uuid.UUID] | None:
    """The assign service's keyword for a place of the form (``brand``, ``evse:<id>``...),
    or None for a value the form never offers."""
    if chosen == "brand":
        return {}
    scope, _, key = chosen.partition(":")
    if scope not in _SCOPE_ARGUMENTS:
        return None
    try:
        return {_SCOPE_ARGUMENTS[scope]: uuid.UUID(key)}
    except ValueError:
        return None


def _default_base(overview: TariffOverview) -> VersionView | None:
    """The version a new one starts from: the current public one, else the newest."""
    for view in overview.versions:
        if view.status.value == "current" and view.segment.kind.value == "PUBLIC":
            return view
    return max(overview.versions, key=lambda v: v.version.created_at, default=None)


async def _edit(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    staff: StaffIdentity,
    form: TariffForm,
    items: list[tuple[str, Any]],
    *,
    code: str | None,
) -> Response[Any]:
    """One editor POST: add or remove an element row, preview, or save (the only write)."""
    tenant = current_tenant(request)
    sample = sample_form(items, default_start=_next_hour(tenant))
    posted = {name for name, _ in items}
    if "add_element" in posted:
        form.add_element()
        return _editor(request, staff, form, code=code, sample=sample)
    if "remove_element" in posted:
        with contextlib.suppress(ValueError):
            form.remove_element(int(form.get("remove_element")))
        form.values.pop("remove_element", None)
        return _editor(request, staff, form, code=code, sample=sample)
    parsed = parse_tariff(
        form,
        code=code or form.get("code"),
        currency=tenant.currency,
        zone=_zone(tenant),
        language=_language(tenant),
        now=utcnow(),
    )
    if "preview" in posted:
        return _editor_preview(request, staff, form, parsed, sample, code=code)
    if parsed is None:
        return _editor(request, staff, form, code=code, sample=sample, status_code=400)
    try:
        version = await _save(request, db_session, staff, parsed)
    except VoltlaneError as error:
        field = {"segment_ref": "segment_ref", "currency": "currency"}.get(error.field or "")
        if field:
            form.errors[field] = error.detail
        else:
            form.form_error = error.detail
        return _editor(request, staff, form, code=code, sample=sample, status_code=400)
    return Redirect(f"/portal/tariffs/{version.code}#version-{version.id}", status_code=303)


async def _save(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    staff: StaffIdentity,
    parsed: TariffInput,
) -> Any:
    tenant = current_tenant(request)
    tariff = parsed.tariff
    version = await tariff_service.create_tariff_version(
        db_session,
        definition=tariff_to_ocpi(tariff),
        segment=parsed.segment.kind,
        segment_ref=parsed.segment.ref,
        idle_fee=idle_fee_to_json(tariff.idle_fee),
        brand_currency=tenant.currency,
        created_by=staff.email,
    )
    await _audit(
        db_session,
        request,
        staff,
        "portal.tariff.create",
        entity="tariff",
        entity_id=version.id,
        detail={
            "code": version.code,
            "segment": str(parsed.segment),
            "valid_from": tariff.start_date_time.isoformat() if tariff.start_date_time else None,
        },
    )
    return version


def _editor_preview(
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    form: TariffForm,
    parsed: TariffInput | None,
    sample: SampleForm,
    *,
    code: str | None,
) -> Response[str]:
    """The editor with the price of its sample session under the unsaved input."""
    tenant = current_tenant(request)
    session = parse_sample(sample, _zone(tenant))
    if parsed is None or session is None:
        error = None if parsed is not None else N_("Correct the tariff above to see its price.")
        return _editor(
            request, staff, form, code=code, sample=sample, preview_error=error, status_code=400
        )
    try:
        priced = tariff_service.preview_price(parsed.tariff, session[0])
    except TariffError as exc:
        return _editor(
            request,
            staff,
            form,
            code=code,
            sample=sample,
            preview_error=exc.detail,
            status_code=400,
        )
    return _editor(request, staff, form, code=code, sample=sample, preview=priced)


def _editor(
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    form: TariffForm,
    *,
    code: str | None,
    based_on: VersionView | None = None,
    sample: SampleForm | None = None,
    preview: PricedSession | None = None,
    preview_error: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    tenant = current_tenant(request)
    context: Mapping[str, Any] = {
        "form": form,
        "code": code,
        "action": f"/portal/tariffs/{code}/versions" if code else "/portal/tariffs/new",
        "based_on": based_on,
        "currency": tenant.currency,
        "timezone": tenant.timezone,
        "sample": sample or sample_form((), default_start=_next_hour(tenant)),
        "preview": preview,
        "preview_error": preview_error,
        "segments": SEGMENTS,
        "components": COMPONENTS,
        "days": DAYS,
        "reservations": RESERVATIONS,
    }
    return render(
        request,
        staff,
        "portal/tariffs/edit.html",
        context,
        fragment="portal/tariffs/_editor.html",
        status_code=status_code,
    )


async def _show(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    staff: StaffIdentity,
    code: str,
    *,
    sample: SampleForm,
    preview: PricedSession | None = None,
    priced_by: VersionView | None = None,
    preview_error: str | None = None,
    assign_errors: dict[str, str] | None = None,
    place: str = "",
    status_code: int = 200,
) -> Response[str]:
    overview = await tariff_service.tariff_overview(db_session, code, now=utcnow())
    places: list[Place] = await tariff_service.assignment_places(db_session)
    assigned: list[AssignedPlace] = overview.places
    return render(
        request,
        staff,
        "portal/tariffs/show.html",
        {
            "tariff": overview,
            "places": places,
            "assigned": assigned,
            "place": place,
            "assign_errors": assign_errors or {},
            "sample": sample,
            "preview": preview,
            "priced_by": priced_by,
            "preview_error": preview_error,
            "segments": SEGMENTS,
            "components": COMPONENTS,
            "days": DAYS,
        },
        fragment="portal/tariffs/_preview.html",
        status_code=status_code,
    )
