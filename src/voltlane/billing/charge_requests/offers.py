"""A charging point found by its printed code, and what charging there costs the driver who
asks: the tariff the one engine would select for a session starting now, in their segment."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.charge_requests.codes import evse_code, read_code
from voltlane.billing.charge_requests.repository import ChargeRequestRepository
from voltlane.billing.charge_requests.schemas import (
    Availability,
    EvseInfo,
    EvseOffer,
    PriceSummary,
)
from voltlane.billing.pricing import SCOPES, segment_of, tariff_of
from voltlane.billing.repository import BillingRepository, Customer, PlanPeriod
from voltlane.core.errors import NotFoundError
from voltlane.models.tenant import ChargingSession, IdTokenType
from voltlane.tariff import (
    Segment,
    SegmentKind,
    Tariff,
    TariffError,
    TariffSet,
    select_tariff,
)
from voltlane.tariff.words import tariff_in_words
from voltlane.tenancy import TenantInfo

# Connector statuses in which no start is asked for (OCPP 1.6 and 2.x words).
OUT_OF_ORDER = frozenset({"Faulted", "Unavailable"})
APP_TOKEN = "app"  # noqa: S105 - an identifier, not a secret


class UnknownEvseCodeError(NotFoundError):
    title = "Unknown charging point"


def hold_amount(tenant: TenantInfo) -> int:
    """What is reserved on the driver's card before a start (minor units of the brand's
    currency): the tenant file's ``[app] pre_authorization``."""
    value = tenant.app.get("pre_authorization")
    return int(value) if isinstance(value, int) and value > 0 else 5000


async def find_evse(db_session: AsyncSession, text: str) -> tuple[str, EvseInfo]:
    """The charging point a driver named by ``text`` (its printed code in any of the forms
    codes.read_code accepts) and its canonical code; UnknownEvseCodeError otherwise, also
    when a short form fits several charging points."""
    code = read_code(text)
    if code is None:
        raise UnknownEvseCodeError("No charging point has this code.", field="code")
    repo = ChargeRequestRepository(db_session)
    found = await repo.evse_pks_by_code(code)
    exact = [pk for pk, is_exact in found if is_exact]
    candidates = exact or [pk for pk, _ in found]
    if len(candidates) != 1:
        raise UnknownEvseCodeError("No charging point has this code.", field="code")
    evse = await repo.evse_info(candidates[0])
    if evse is None:
        raise UnknownEvseCodeError("No charging point has this code.", field="code")
    return evse_code(evse.emi3_id, evse.station_id, evse.evse_id), evse


async def get_evse(db_session: AsyncSession, evse_pk: uuid.UUID) -> tuple[str, EvseInfo]:
    """A charging point by its primary key, with its canonical code."""
    evse = await ChargeRequestRepository(db_session).evse_info(evse_pk)
    if evse is None:
        raise UnknownEvseCodeError(f"No charging point {evse_pk}.")
    return evse_code(evse.emi3_id, evse.station_id, evse.evse_id), evse


def availability(evse: EvseInfo, online: bool) -> Availability:
    if not online:
        return Availability.OFFLINE
    if evse.status in OUT_OF_ORDER:
        return Availability.OUT_OF_ORDER
    return Availability.AVAILABLE


async def customer_of_account(db_session: AsyncSession, account_id: uuid.UUID) -> Customer:
    """The account as pricing sees it: its plans and whether it is a fleet."""
    repo = ChargeRequestRepository(db_session)
    plans = [
        PlanPeriod(code, starts, ends) for code, starts, ends in await repo.plans_of(account_id)
    ]
    account = await repo.account(account_id)
    contract = account.contract if account is not None else None
    return Customer(await repo.is_fleet(account_id), contract, plans)


async def start_segment(
    db_session: AsyncSession, account_id: uuid.UUID | None, zone: ZoneInfo, now: datetime
) -> Segment:
    """The segment a session started from the app now would be priced in, read by the rule
    that prices its CDR (``segment_of``): a guest's charge (``account_id`` None) as public,
    a signed-in driver's as their account on this day (a plan, a fleet contract, a member).
    Every app start carries a token: only its presence counts, not its value."""
    customer = (
        await customer_of_account(db_session, account_id)
        if account_id is not None
        else Customer(fleet=False, contract=None, plans=[], guest=True)
    )
    probe = ChargingSession(
        id_token=APP_TOKEN, id_token_type=IdTokenType.CENTRAL.value, started_at=now
    )
    return segment_of(probe, customer, zone)


async def price_summary(
    db_session: AsyncSession,
    evse: EvseInfo,
    *,
    account_id: uuid.UUID | None,
    locale: str,
    now: datetime,
) -> PriceSummary | None:
    """The prices a session started now by this driver (``account_id``; None: a guest) would
    pay here, in ``locale``'s words, VAT included; None when no tariff is in force."""
    repo = BillingRepository(db_session)
    connector_pk = evse.connectors[0].pk if len(evse.connectors) == 1 else None
    assigned = await repo.assigned_codes(
        location_id=evse.location_id, evse_pk=evse.pk, connector_pk=connector_pk
    )
    codes = next((assigned[s] for s in SCOPES if s in assigned), [])
    versions: dict[Segment, tuple[Tariff, ...]] = {}
    for version in await repo.versions_of(codes):
        segment = Segment(SegmentKind(version.segment), version.segment_ref)
        versions[segment] = (*versions.get(segment, ()), tariff_of(version))
    segment = await start_segment(db_session, account_id, ZoneInfo(evse.timezone), now)
    try:
        tariff = select_tariff(TariffSet(versions), segment, at=now)
    except TariffError:
        return None
    words = tariff_in_words(tariff, locale)
    return PriceSummary(words.parts, words.vat, str(segment))


async def evse_offer(
    db_session: AsyncSession,
    tenant: TenantInfo,
    code: str,
    evse: EvseInfo,
    *,
    online: bool,
    account_id: uuid.UUID | None,
    locale: str,
    now: datetime,
) -> EvseOffer:
    """What the charging point's page shows: the point, whether a start can be asked for,
    its prices for this driver and the amount held on a card."""
    return EvseOffer(
        code=code,
        evse=evse,
        availability=availability(evse, online),
        prices=await price_summary(db_session, evse, account_id=account_id, locale=locale, now=now),
        hold=hold_amount(tenant),
        currency=tenant.currency,
    )
