"""HubClientInfo module, receiver interface (mod_hub_client_info.asciidoc): a hub tells
this CPO which parties are reachable through it, and in what state.

``/ocpi/2.2.1/clientinfo/{country_code}/{party_id}``: PUT (new or updated ClientInfo) and
GET (as stored). Only a partner that reported a HUB role may use it, and each hub sees
only what it pushed.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import OcpiClientInfo, OcpiPartner
from voltlane.ocpi import checks
from voltlane.ocpi.auth import OcpiCaller, provide_ocpi_caller
from voltlane.ocpi.envelope import not_found, ocpi_response
from voltlane.ocpi.protocol import VERSION_PATH, Role, ocpi_datetime
from voltlane.ocpi.tokens import party_roles

CLIENT_INFO_PATH = f"{VERSION_PATH}/clientinfo"
_OBJECT_PATH = CLIENT_INFO_PATH + "/{country_code:str}/{party_id:str}"
CONNECTION_STATUSES = frozenset({"CONNECTED", "OFFLINE", "PLANNED", "SUSPENDED"})


async def _hub(db_session: AsyncSession, caller: OcpiCaller) -> OcpiPartner:
    partner = await db_session.get(OcpiPartner, caller.partner_id)
    if partner is None or not any(role == Role.HUB for role, _, _ in party_roles(partner)):
        raise not_found("Only a hub reports the parties connected to it.")
    return partner


def client_info_json(info: OcpiClientInfo) -> dict[str, Any]:
    return {
        "party_id": info.party_id,
        "country_code": info.country_code,
        "role": info.role,
        "status": info.status,
        "last_updated": ocpi_datetime(info.last_updated),
    }


@get(_OBJECT_PATH, include_in_schema=False)
async def get_client_info(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    *,
    country_code: FromPath[str],
    party_id: FromPath[str],
) -> Response[Any]:
    hub = await _hub(db_session, provide_ocpi_caller(request))
    info = await db_session.get(OcpiClientInfo, (hub.id, country_code.upper(), party_id.upper()))
    if info is None:
        raise not_found(f"No ClientInfo for {country_code}/{party_id}.")
    return ocpi_response(client_info_json(info))


@put(_OBJECT_PATH, include_in_schema=False)
async def put_client_info(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    *,
    country_code: FromPath[str],
    party_id: FromPath[str],
    data: JSONBody[Any],
) -> Response[Any]:
    hub = await _hub(db_session, provide_ocpi_caller(request))
    body = checks.body_object(data)
    body_party = checks.required_str(checks.ci_string(body, "party_id", 3))
    body_country = checks.required_str(checks.ci_string(body, "country_code", 2))
    role = checks.required_str(checks.enum_value(body, "role", {r.value for r in Role}))
    status = checks.required_str(checks.enum_value(body, "status", CONNECTION_STATUSES))
    last_updated = checks.date_time(body, "last_updated")
    checks.same_ci("country_code", body_country, country_code)
    checks.same_ci("party_id", body_party, party_id)
    key = (hub.id, country_code.upper(), party_id.upper())
    info = await db_session.get(OcpiClientInfo, key)
    created = info is None
    if info is None:
        info = OcpiClientInfo(partner_id=key[0], country_code=key[1], party_id=key[2])
        db_session.add(info)
    info.role = role
    info.status = status
    info.last_updated = last_updated  # type: ignore[assignment]
    await db_session.flush()
    return ocpi_response(http_status=201 if created else 200)


HANDLERS = [get_client_info, put_client_info]
