"""Tariffs module, Sender interface (mod_tariffs.asciidoc): per tariff code, the version
the calling partner's drivers are priced with now (``tariff_offer``), paginated by code.

A brand has tens of tariffs, not thousands: the page is cut from the whole offer."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from voltlane.ocpi.auth import provide_ocpi_caller
from voltlane.ocpi.locations import brand_party, offer_for
from voltlane.ocpi.pagination import page_request, page_response
from voltlane.ocpi.protocol import VERSION_PATH
from voltlane.ocpi.tariff_offer import tariff_object
from voltlane.web.context import current_tenant, web_state

PATH = f"{VERSION_PATH}/tariffs"
MAX_LIMIT = 1000


@get(PATH, include_in_schema=False)
async def list_tariffs(request: Request[Any, Any, Any]) -> Response[Any]:
    caller = provide_ocpi_caller(request)
    tenant = current_tenant(request)
    party = brand_party(tenant)
    page = page_request(request, MAX_LIMIT)
    async with web_state(request).database.tenant_transaction(tenant.key) as db_session:
        offer = await offer_for(db_session, caller)
    offered = [
        offer.tariffs[code]
        for code in sorted(offer.tariffs)
        if (page.date_from is None or offer.tariffs[code].last_updated >= page.date_from)
        and (page.date_to is None or offer.tariffs[code].last_updated < page.date_to)
    ]
    items = [tariff_object(o, party) for o in offered[page.offset : page.offset + page.limit]]
    return page_response(request, page, items, len(offered), MAX_LIMIT)


HANDLERS = (list_tariffs,)
