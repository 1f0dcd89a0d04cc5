"""A station's page in the driver app: where it is, when it is open, what charging costs this
driver, and each charging point with its live state (polled every 10 s) and its code."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.charge_requests import charge_path, evse_code
from voltlane.core.clock import utcnow
from voltlane.core.errors import NotFoundError
from voltlane.pwa.auth import signed_in_driver
from voltlane.pwa.finder_hours import hours_view
from voltlane.pwa.finder_prices import PriceWords, driver_segment, evse_prices
from voltlane.station.published import EvseView, LocationDetail, published_location
from voltlane.web.context import current_tenant, web_state
from voltlane.web.i18n import N_, request_locale

POLL_SECONDS = 10
# The driver's word for an EVSE's state (station.published.evse_state).
EVSE_STATES = {
    "available": N_("Available"),
    "occupied": N_("In use"),
    "reserved": N_("Reserved"),
    "faulted": N_("Out of order"),
    "unavailable": N_("Unavailable"),
    "unknown": N_("Status unknown"),
}


@dataclass(frozen=True, slots=True)
class EvseCard:
    """An EVSE with the code printed on it, its "Charge here" link and its prices."""

    evse: EvseView
    printed: str  # the eMI3 EVSE id as on the charger, else the app's code
    charge_url: str
    prices: PriceWords | None


async def _detail(db_session: AsyncSession, location_id: uuid.UUID) -> LocationDetail:
    detail = await published_location(db_session, location_id)
    if detail is None:
        raise NotFoundError("This station is not in the app.")
    return detail


def _counts(detail: LocationDetail) -> tuple[int, int]:
    available = sum(1 for evse in detail.evses if evse.state == "available")
    return available, len(detail.evses)


class StationPageController(Controller):
    path = "/stations"
    include_in_schema = False

    @get("/{location_id:uuid}")
    async def station(
        self,
        request: Request[Any, Any, Any],
        location_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[str]:
        tenant = current_tenant(request)
        detail = await _detail(db_session, location_id)
        locale = request_locale(request, tenant)
        driver = await signed_in_driver(request, db_session)
        now = utcnow()
        account_id = driver.account_id if driver is not None else None
        segment = await driver_segment(db_session, account_id, detail.timezone, now)
        cards = []
        for evse in detail.evses:
            code = evse_code(evse.emi3_id, evse.station_id, evse.evse_id)
            prices = await evse_prices(db_session, detail.id, evse, segment, locale=locale, now=now)
            cards.append(EvseCard(evse, evse.emi3_id or code, charge_path(code), prices))
        distinct_prices = {card.prices for card in cards}
        available, total = _counts(detail)
        context = {
            "location": detail,
            "cards": cards,
            "shared_prices": distinct_prices.pop() if len(distinct_prices) == 1 else None,
            "prices_differ": len(distinct_prices) > 1,
            "hours": hours_view(detail.opening_hours, detail.timezone, locale, now),
            "evse_states": EVSE_STATES,
            "available": available,
            "total": total,
            "signed_in": driver is not None,
            "poll_seconds": POLL_SECONDS,
        }
        return web_state(request).renderer.render(request, "pwa/station.html", context)

    @get("/{location_id:uuid}/status")
    async def status(
        self,
        request: Request[Any, Any, Any],
        location_id: FromPath[uuid.UUID],
        db_session: NamedDependency[AsyncSession],
    ) -> Response[str]:
        """The live state of each EVSE, as out-of-band swaps for the page's polling."""
        detail = await _detail(db_session, location_id)
        available, total = _counts(detail)
        context = {
            "location": detail,
            "evse_states": EVSE_STATES,
            "available": available,
            "total": total,
        }
        return web_state(request).renderer.render(
            request,
            "pwa/_station_status.html",
            context,
            headers={"Cache-Control": "no-store"},
        )
