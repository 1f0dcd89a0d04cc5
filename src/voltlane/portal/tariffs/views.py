"""What the tariff pages render and write, shared by the routes of the controller.

The editor posts to one route per purpose (a new tariff, a new version of one): a button
named ``add_element``, ``remove_element`` or ``preview`` re-renders the editor (HTMX swaps
it in place) and writes nothing; only the save button writes.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from litestar import Request, Response
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import tariffs as tariff_service
from voltlane.billing.pricing import idle_fee_to_json
from voltlane.billing.tariff_repository import AssignedPlace, Place
from voltlane.billing.tariffs import TariffOverview, VersionView
from voltlane.core.clock import utcnow
from voltlane.core.errors import VoltlaneError
from voltlane.identity.roles import Permission, has_permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.portal.pages import audit, render
from voltlane.portal.tariffs.forms import (
    COMPONENTS,
    DAYS,
    RESERVATIONS,
    SEGMENTS,
    TariffForm,
    TariffInput,
    parse_tariff,
)
from voltlane.portal.tariffs.reader import FormValues
from voltlane.portal.tariffs.sample import parse_sample, sample_form
from voltlane.tariff import PricedSession, TariffError, tariff_to_ocpi
from voltlane.tenancy import TenantInfo
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_


def tariff_path(code: str) -> str:
    """The page of tariff ``code`` (codes from the API may hold any character)."""
    return "/portal/tariffs/" + quote(code, safe="")


def zone_of(tenant: TenantInfo) -> ZoneInfo:
    """The brand's time zone: the one its staff type and read times in."""
    return ZoneInfo(tenant.timezone)


def language_of(tenant: TenantInfo) -> str:
    """The language of the brand's main locale, for the text shown to drivers."""
    return tenant.locale.split("_")[0]


def next_hour(tenant: TenantInfo) -> datetime:
    """The start of the next full hour in the brand's time zone: a sample's default start."""
    now = utcnow().astimezone(zone_of(tenant))
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


_SCOPE_ARGUMENTS = {"location": "location_id", "evse": "evse_pk", "connector": "connector_pk"}


def assignment_target(chosen: str) -> dict[str, uuid.UUID] | None:
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


def default_base(overview: TariffOverview) -> VersionView | None:
    """The version a new one starts from: the current public one, else the newest."""
    for view in overview.versions:
        if view.status.value == "current" and view.segment.kind.value == "PUBLIC":
            return view
    return max(overview.versions, key=lambda v: v.version.created_at, default=None)


async def edit(
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
    sample = sample_form(items, default_start=next_hour(tenant))
    posted = {name for name, _ in items}
    if "add_element" in posted:
        form.add_element()
        return render_editor(request, staff, form, code=code, sample=sample)
    if "remove_element" in posted:
        with contextlib.suppress(ValueError):
            form.remove_element(int(form.get("remove_element")))
        form.values.pop("remove_element", None)
        return render_editor(request, staff, form, code=code, sample=sample)
    parsed = parse_tariff(
        form,
        code=code or form.get("code"),
        currency=tenant.currency,
        zone=zone_of(tenant),
        language=language_of(tenant),
        now=utcnow(),
    )
    if "preview" in posted:
        return editor_preview(request, staff, form, parsed, sample, code=code)
    if parsed is None:
        return render_editor(request, staff, form, code=code, sample=sample, status_code=400)
    try:
        version = await save_version(request, db_session, staff, parsed)
    except VoltlaneError as error:
        field = {"segment_ref": "segment_ref", "currency": "currency"}.get(error.field or "")
        if field:
            form.errors[field] = error.detail
        else:
            form.form_error = error.detail
        return render_editor(request, staff, form, code=code, sample=sample, status_code=400)
    return Redirect(f"{tariff_path(version.code)}#version-{version.id}", status_code=303)


async def save_version(
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
    await audit(
        db_session,
        request,
        staff,
        action="portal.tariff.create",
        entity="tariff",
        entity_id=version.id,
        detail={
            "code": version.code,
            "segment": str(parsed.segment),
            "valid_from": tariff.start_date_time.isoformat() if tariff.start_date_time else None,
        },
    )
    return version


def editor_preview(
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    form: TariffForm,
    parsed: TariffInput | None,
    sample: FormValues,
    *,
    code: str | None,
) -> Response[str]:
    """The editor with the price of its sample session under the unsaved input."""
    tenant = current_tenant(request)
    session = parse_sample(sample, zone_of(tenant))
    if parsed is None or session is None:
        error = None if parsed is not None else N_("Correct the tariff above to see its price.")
        return render_editor(
            request, staff, form, code=code, sample=sample, preview_error=error, status_code=400
        )
    try:
        priced = tariff_service.preview_price(parsed.tariff, session[0])
    except TariffError as exc:
        return render_editor(
            request,
            staff,
            form,
            code=code,
            sample=sample,
            preview_error=exc.detail,
            status_code=400,
        )
    return render_editor(request, staff, form, code=code, sample=sample, preview=priced)


def render_editor(
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    form: TariffForm,
    *,
    code: str | None,
    based_on: VersionView | None = None,
    sample: FormValues | None = None,
    preview: PricedSession | None = None,
    preview_error: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    tenant = current_tenant(request)
    context: Mapping[str, Any] = {
        "form": form,
        "code": code,
        "action": f"{tariff_path(code)}/versions" if code else "/portal/tariffs/new",
        "based_on": based_on,
        "currency": tenant.currency,
        "timezone": tenant.timezone,
        "sample": sample or sample_form((), default_start=next_hour(tenant)),
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


async def render_show(
    request: Request[Any, Any, Any],
    db_session: AsyncSession,
    staff: StaffIdentity,
    code: str,
    *,
    sample: FormValues,
    preview: PricedSession | None = None,
    priced_by: VersionView | None = None,
    preview_error: str | None = None,
    assign_errors: dict[str, str] | None = None,
    place: str = "",
    status_code: int = 200,
) -> Response[str]:
    overview = await tariff_service.tariff_overview(db_session, code, now=utcnow())
    writer = has_permission(staff.role, Permission.FINANCE_WRITE)
    # Only those who may assign need the list of every place.
    places: list[Place] = await tariff_service.assignment_places(db_session) if writer else []
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
