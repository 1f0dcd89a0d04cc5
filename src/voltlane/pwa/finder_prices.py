"""What charging at an EVSE costs the driver who looks, in words: the tariff that the one
engine would select for a session starting now, at the most specific place with a tariff
(connector, EVSE, location, brand), in the driver's segment (PUBLIC for a guest; a signed-in
driver's as billing reads their account), described by ``tariff.words``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.charge_requests.offers import start_segment
from voltlane.billing.pricing import SCOPES, tariff_of
from voltlane.billing.repository import BillingRepository
from voltlane.station.opening_hours import zone_of
from voltlane.station.published import EvseView
from voltlane.tariff import (
    Segment,
    SegmentKind,
    Tariff,
    TariffError,
    TariffSet,
    select_tariff,
)
from voltlane.tariff.words import tariff_in_words


@dataclass(frozen=True, slots=True)
class PriceWords:
    """The price sentence's parts, the VAT note and the segment they are for."""

    parts: tuple[str, ...]
    vat: str | None
    segment: str


async def driver_segment(
    db_session: AsyncSession, account_id: uuid.UUID | None, timezone: str, now: datetime
) -> Segment:
    """PUBLIC for a guest; for a signed-in driver what billing makes of their account on
    this day: a subscription plan, a fleet contract, or a member (the charge page's rule)."""
    return await start_segment(db_session, account_id, zone_of(timezone), now)


async def _tariff_set(
    repo: BillingRepository,
    location_id: uuid.UUID,
    evse_pk: uuid.UUID,
    connector_pk: uuid.UUID | None,
) -> TariffSet:
    assigned = await repo.assigned_codes(
        location_id=location_id, evse_pk=evse_pk, connector_pk=connector_pk
    )
    codes = next((assigned[scope] for scope in SCOPES if scope in assigned), [])
    versions: dict[Segment, tuple[Tariff, ...]] = {}
    for version in await repo.versions_of(codes):
        segment = Segment(SegmentKind(version.segment), version.segment_ref)
        versions[segment] = (*versions.get(segment, ()), tariff_of(version))
    return TariffSet(versions)


async def evse_prices(
    db_session: AsyncSession,
    location_id: uuid.UUID,
    evse: EvseView,
    segment: Segment,
    *,
    locale: str,
    now: datetime,
) -> PriceWords | None:
    """The prices of a session starting now at ``evse`` for ``segment``, in ``locale``'s
    words, VAT included; None when no tariff is in force there. An EVSE with one connector
    takes that connector's own tariff when it has one."""
    connector_pk = evse.connector_pks[0] if len(evse.connector_pks) == 1 else None
    tariffs = await _tariff_set(BillingRepository(db_session), location_id, evse.pk, connector_pk)
    try:
        tariff = select_tariff(tariffs, segment, at=now)
    except TariffError:
        return None
    words = tariff_in_words(tariff, locale)
    return PriceWords(words.parts, words.vat, str(segment))
