"""Sessions module, sender interface (mod_sessions.asciidoc): a partner reads the sessions
its drivers charge at this CPO, and sets a driver's charging preferences.

Only the calling partner's sessions (its tokens) exist for it: another partner's session,
or a session of the brand's own drivers, is unknown (404); through a hub, a request whose
OCPI-from headers name one party sees that party's sessions only.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import SessionStatus
from voltlane.ocpi.auth import OcpiCaller, provide_ocpi_caller
from voltlane.ocpi.envelope import invalid, not_found, ocpi_response
from voltlane.ocpi.pagination import page_request, page_response
from voltlane.ocpi.protocol import VERSION_PATH, parse_ocpi_datetime
from voltlane.ocpi.session_objects import (
    partner_sessions,
    priced_records,
    roaming_session,
    session_object,
)
from voltlane.tenancy import TenantInfo
from voltlane.web.context import current_tenant

SESSIONS_PATH = f"{VERSION_PATH}/sessions"
PROFILE_TYPES = frozenset({"CHEAP", "FAST", "GREEN", "REGULAR"})


def narrowed(caller: OcpiCaller) -> frozenset[tuple[str, str]] | None:
    """The parties whose objects a request may see when its OCPI-from headers named one
    (through a hub, one party's only); None: the whole connection's."""
    return caller.parties if caller.sender is not None else None


def brand_party(brand: TenantInfo) -> tuple[str, str]:
    party = brand.ocpi_party
    if party is None:
        # The router answers only brands that are parties; a brand without one has no
        # partners that could call.
        raise not_found("This brand is not an OCPI party.")
    return party


@get(SESSIONS_PATH, include_in_schema=False)
async def list_sessions(
    request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> Response[Any]:
    """The caller's sessions last updated from ``date_from`` (required) to ``date_to``."""
    caller = provide_ocpi_caller(request)
    brand = current_tenant(request)
    page = page_request(request)
    if page.date_from is None:
        raise invalid("date_from is required.")
    rows, total = await partner_sessions(db_session, caller.partner_id, page, narrowed(caller))
    priced = await priced_records(db_session, [row.session for row in rows])
    party = brand_party(brand)
    items = [session_object(row, party, brand.currency, priced.get(row.session.id)) for row in rows]
    return page_response(request, page, items, total)


def _preferences(body: Any) -> None:
    """ChargingPreferences validated field by field (2001 naming the field)."""
    if not isinstance(body, dict):
        raise invalid("The body must be a ChargingPreferences object.")
    if body.get("profile_type") not in PROFILE_TYPES:
        raise invalid("profile_type must be one of CHEAP, FAST, GREEN, REGULAR.")
    departure = body.get("departure_time")
    if departure is not None:
        try:
            parse_ocpi_datetime(departure)
        except ValueError:
            raise invalid("departure_time must be an OCPI DateTime.") from None
    energy = body.get("energy_need")
    if energy is not None and (
        isinstance(energy, bool) or not isinstance(energy, int | float) or energy < 0
    ):
        raise invalid("energy_need must be a non-negative number of kWh.")
    discharge = body.get("discharge_allowed")
    if discharge is not None and not isinstance(discharge, bool):
        raise invalid("discharge_allowed must be true or false.")


async def _caller_session(
    db_session: AsyncSession, caller: OcpiCaller, session_id: str
) -> SessionStatus:
    try:
        key = uuid.UUID(session_id)
    except ValueError:
        key = None
    row = (
        await roaming_session(db_session, key, caller.partner_id, narrowed(caller)) if key else None
    )
    if row is None:
        raise not_found(f"Unknown session {session_id}.")
    return row.session.status


@put(f"{SESSIONS_PATH}/{{session_id:str}}/charging_preferences", include_in_schema=False)
async def set_charging_preferences(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    session_id: FromPath[str],
) -> Response[Any]:
    """ChargingPreferencesResponse. This CPO does not steer sessions by drivers'
    preferences yet (its EVSEs do not report CHARGING_PREFERENCES_CAPABLE), so a valid
    request for the caller's ongoing session is answered NOT_POSSIBLE."""
    caller = provide_ocpi_caller(request)
    status = await _caller_session(db_session, caller, session_id)
    try:
        body = await request.json()
    except ValueError:
        raise invalid("The body must be JSON.") from None
    _preferences(body)
    if status is not SessionStatus.ACTIVE:
        raise invalid(f"Session {session_id} has ended: its preferences cannot change.")
    return ocpi_response("NOT_POSSIBLE")


HANDLERS = [list_sessions, set_charging_preferences]
