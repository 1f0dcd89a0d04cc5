"""Locations module, Sender interface (mod_locations.asciidoc): the brand's published
locations, paginated and filtered on ``last_updated``, and single Location, EVSE and
Connector objects. Unknown or unpublished objects answer HTTP 404 with OCPI 2003."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.ocpi.auth import OcpiCaller, provide_ocpi_caller
from voltlane.ocpi.envelope import OcpiError, invalid, not_found, ocpi_response
from voltlane.ocpi.location_mapping import (
    EvseObject,
    LocationObject,
    evse_object,
    locations_of,
)
from voltlane.ocpi.location_repository import ConnectorRow, LocationRepository
from voltlane.ocpi.pagination import page_request, page_response
from voltlane.ocpi.protocol import VERSION_PATH, Status
from voltlane.ocpi.tariff_offer import TariffOffer, partner_segment, tariff_offer
from voltlane.tenancy import TenantInfo
from voltlane.web.context import current_tenant, web_state

PATH = f"{VERSION_PATH}/locations"
MAX_LIMIT = 1000
MAX_ID = 36  # CiString(36) of location_id, evse_uid and connector_id


def brand_party(tenant: TenantInfo) -> tuple[str, str]:
    party = tenant.ocpi_party
    if party is None:
        raise OcpiError(Status.SERVER_ERROR, "This brand is not an OCPI party.", http_status=404)
    return party


async def offer_for(db_session: AsyncSession, caller: OcpiCaller) -> TariffOffer:
    return await tariff_offer(
        db_session, partner_segment(caller.country_code, caller.party_id), utcnow()
    )


def _unknown(what: str) -> OcpiError:
    return not_found(f"Unknown {what}.", Status.UNKNOWN_LOCATION)


def _uuid(value: str, what: str) -> uuid.UUID:
    if len(value) > MAX_ID:
        raise invalid(f"{what} is longer than {MAX_ID} characters.")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _unknown(what) from None


@get(PATH, include_in_schema=False)
async def list_locations(request: Request[Any, Any, Any]) -> Response[Any]:
    caller = provide_ocpi_caller(request)
    tenant = current_tenant(request)
    party = brand_party(tenant)
    page = page_request(request, MAX_LIMIT)
    async with web_state(request).database.tenant_transaction(tenant.key) as db_session:
        repo = LocationRepository(db_session)
        locations, total = await repo.page(
            date_from=page.date_from, date_to=page.date_to, offset=page.offset, limit=page.limit
        )
        rows = await repo.connectors([location.id for location in locations])
        offer = await offer_for(db_session, caller)
    return page_response(
        request, page, locations_of(locations, rows, offer, party), total, MAX_LIMIT
    )


async def _location_parts(
    request: Request[Any, Any, Any], location_id: str
) -> tuple[list[LocationObject], list[ConnectorRow], TariffOffer]:
    caller = provide_ocpi_caller(request)
    tenant = current_tenant(request)
    party = brand_party(tenant)
    key = _uuid(location_id, "location_id")
    async with web_state(request).database.tenant_transaction(tenant.key) as db_session:
        repo = LocationRepository(db_session)
        location = await repo.published(key)
        if location is None:
            raise _unknown("location_id")
        rows = await repo.connectors([key])
        offer = await offer_for(db_session, caller)
    return locations_of([location], rows, offer, party), rows, offer


@get(f"{PATH}/{{location_id:str}}", include_in_schema=False)
async def get_location(
    request: Request[Any, Any, Any], location_id: FromPath[str]
) -> Response[Any]:
    objects, _rows, _offer = await _location_parts(request, location_id)
    return ocpi_response(objects[0])


def _evse(rows: list[ConnectorRow], evse_uid: str, offer: TariffOffer) -> EvseObject:
    key = str(_uuid(evse_uid, "evse_uid"))
    evse = evse_object([row for row in rows if row.evse_pk == key], offer)
    if evse is None:
        raise _unknown("evse_uid")
    return evse


@get(f"{PATH}/{{location_id:str}}/{{evse_uid:str}}", include_in_schema=False)
async def get_evse(
    request: Request[Any, Any, Any], location_id: FromPath[str], evse_uid: FromPath[str]
) -> Response[Any]:
    _objects, rows, offer = await _location_parts(request, location_id)
    return ocpi_response(_evse(rows, evse_uid, offer))


@get(f"{PATH}/{{location_id:str}}/{{evse_uid:str}}/{{connector_id:str}}", include_in_schema=False)
async def get_connector(
    request: Request[Any, Any, Any],
    location_id: FromPath[str],
    evse_uid: FromPath[str],
    connector_id: FromPath[str],
) -> Response[Any]:
    _objects, rows, offer = await _location_parts(request, location_id)
    if len(connector_id) > MAX_ID:
        raise invalid(f"connector_id is longer than {MAX_ID} characters.")
    evse = _evse(rows, evse_uid, offer)
    for connector in evse.connectors:
        if connector.id == connector_id:
            return ocpi_response(connector)
    raise _unknown("connector_id")


HANDLERS = (list_locations, get_location, get_evse, get_connector)
