"""What the pages of the stations section share: columns, choices, presenting a station,
auditing its changes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal
from zoneinfo import ZoneInfo

from litestar import Request, Response
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import VoltlaneError
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import ChargingStation, RegistrationStatus
from voltlane.portal.pages import audit, render
from voltlane.portal.stations.forms import (
    Field,
    FormInput,
)
from voltlane.station import service as stations
from voltlane.station.ports import get_translator
from voltlane.web.auth import requires
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_
from voltlane.web.station_urls import ocpp_url

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
    ("payload", lambda c: json.dumps(get_translator().redact(c.action, c.payload) or c.payload)),
    ("status", lambda c: c.status),
    ("response", lambda c: None if c.response is None else json.dumps(c.response)),
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


def zone(request: Request[Any, Any, Any]) -> ZoneInfo:
    return ZoneInfo(current_tenant(request).timezone)


async def audit_station(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    action: str,
    *,
    station: ChargingStation,
    detail: dict[str, Any],
) -> None:
    await audit(
        db_session,
        request,
        staff,
        action=action,
        entity="charging_station",
        entity_id=station.id,
        detail={"station_id": station.station_id, **detail},
    )


def credentials_page(
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
            "ocpp_url": ocpp_url(request, station),
            "password": password,
            "created": created,
        },
        status_code=201 if created else 200,
        headers=NO_STORE,
    )


async def location_choices(db_session: AsyncSession) -> list[tuple[str, str]]:
    page = await stations.list_locations(db_session, limit=MAX_LOCATIONS, offset=0)
    return [(str(loc.id), f"{loc.name}, {loc.city}") for loc in page.items]


def domain_error(form: FormInput, exc: VoltlaneError, fields: tuple[Field, ...]) -> None:
    """Put a domain error beside its field when the form has one, else above the form."""
    if exc.field in {f.name for f in fields}:
        form.errors[exc.field] = exc.detail
    else:
        form.form_error = exc.detail


def form_page(
    request: Request[Any, Any, Any],
    staff: StaffIdentity,
    template: str,
    context: Mapping[str, Any],
    form: FormInput | None = None,
    *,
    initial: Mapping[str, str] | None = None,
) -> Response[str]:
    """A form page: blank (or ``initial``), or sent back with 400, the input kept and each
    error beside its field."""
    return render(
        request,
        staff,
        template,
        {
            **context,
            "form": form.raw if form else (initial or {}),
            "errors": form.errors if form else {},
            "form_error": form.form_error if form else None,
        },
        status_code=400 if form else 200,
    )
