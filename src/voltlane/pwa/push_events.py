"""The notifications of a charge started from the app, and when they are due.

- ``charging_finished``: the charging session of a charge request has ended;
- ``idle_fee_soon``: the car stopped taking energy (suspended by the EV, or finished) while
  still plugged in, and the grace of the tariff's idle fee ends within five minutes.

Whether and when an idle fee starts is read from the one pricing engine (the same periods
and idle fee that the CDR bills), so the warning never disagrees with the receipt. Each
event is sent at most once per session: the ``push_deliveries`` row is written in the
transaction that sends it, and a second job for the same event finds it and stops.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from babel.numbers import format_decimal
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement, Exists

from voltlane.billing.errors import NoTariffError
from voltlane.billing.pricing import idle_fee_from_json, price_stored_session
from voltlane.billing.repository import BillingRepository
from voltlane.core.ids import new_id
from voltlane.models.tenant import (
    ChargeRequest,
    ChargingSession,
    ChargingStation,
    CustomerAccount,
    Location,
    PushSubscription,
    SessionStatus,
)
from voltlane.models.tenant.driver import PushDelivery
from voltlane.pwa import push
from voltlane.pwa.push_keys import VapidKeys
from voltlane.pwa.push_send import PushMessage, send_to
from voltlane.tariff import PeriodKind, TariffError
from voltlane.tenancy import TenantInfo
from voltlane.web.i18n import N_, translations

CHARGING_FINISHED = "charging_finished"
IDLE_FEE_SOON = "idle_fee_soon"
EVENTS = (CHARGING_FINISHED, IDLE_FEE_SOON)
IDLE_NOTICE = timedelta(minutes=5)
# A session that ended longer ago is not announced any more (a worker was down meanwhile).
FINISHED_WINDOW = timedelta(hours=6)
FINISHED_TTL = 12 * 3600  # seconds a push service may hold the message for an offline phone
LIVE_PATH = "/charge/live/{id}"

FINISHED_TITLE = N_("Charging finished")
FINISHED_BODY = N_("%(energy)s kWh charged at %(location)s. Please unplug and free the charger.")
FINISHED_BODY_NO_ENERGY = N_(
    "Your charge at %(location)s has ended. Please unplug and free the charger."
)
IDLE_TITLE = N_("Idle fee soon")
IDLE_BODY = (
    N_(
        "Your car stopped charging at %(location)s. Unplug within %(num)d minute to avoid"
        " an idle fee."
    ),
    N_(
        "Your car stopped charging at %(location)s. Unplug within %(num)d minutes to avoid"
        " an idle fee."
    ),
)


@dataclass(frozen=True, slots=True)
class ChargeContext:
    """What a notification about one charge needs to know."""

    request: ChargeRequest
    session: ChargingSession
    location: str
    locale: str


def _has_subscription() -> Exists:
    return exists().where(
        or_(
            PushSubscription.charge_request_id == ChargeRequest.id,
            and_(
                ChargeRequest.account_id.is_not(None),
                PushSubscription.account_id == ChargeRequest.account_id,
            ),
        )
    )


def _not_sent(event: str) -> ColumnElement[bool]:
    return ~exists().where(
        PushDelivery.session_id == ChargeRequest.session_id, PushDelivery.event == event
    )


async def idle_fee_starts_in(
    db_session: AsyncSession, session: ChargingSession, now: datetime
) -> timedelta | None:
    """How long until the idle fee of a running session starts, priced as its CDR will be;
    None when none is coming (charging, no idle fee, not charged yet, or already running)."""
    try:
        priced = await price_stored_session(BillingRepository(db_session), session, end=now)
    except (NoTariffError, TariffError):
        return None
    fee = idle_fee_from_json(priced.version.idle_fee)
    periods = priced.priced.periods
    if fee is None or not periods or periods[-1].kind is not PeriodKind.PARKING:
        return None
    stretch = len(periods)
    while stretch > 0 and periods[stretch - 1].kind is PeriodKind.PARKING:
        stretch -= 1
    # The fee counts only parking that follows charging.
    if not any(p.kind is PeriodKind.CHARGING for p in periods[:stretch]):
        return None
    left = periods[stretch].start_date_time + timedelta(seconds=fee.grace) - now
    return left if left > timedelta(0) else None


async def due_events(db_session: AsyncSession, now: datetime) -> list[tuple[uuid.UUID, str]]:
    """The (session, event) pairs to announce now: only charges someone subscribed to, and
    events not sent yet."""
    finished = await db_session.scalars(
        select(ChargingSession.id)
        .join(ChargeRequest, ChargeRequest.session_id == ChargingSession.id)
        .where(
            ChargingSession.status == SessionStatus.FINISHED,
            ChargingSession.stopped_at >= now - FINISHED_WINDOW,
            _has_subscription(),
            _not_sent(CHARGING_FINISHED),
        )
        .order_by(ChargingSession.stopped_at)
    )
    due = [(session_id, CHARGING_FINISHED) for session_id in finished]
    running = await db_session.scalars(
        select(ChargingSession)
        .join(ChargeRequest, ChargeRequest.session_id == ChargingSession.id)
        .where(
            ChargingSession.status == SessionStatus.ACTIVE,
            _has_subscription(),
            _not_sent(IDLE_FEE_SOON),
        )
        .order_by(ChargingSession.started_at)
    )
    for session in list(running):
        left = await idle_fee_starts_in(db_session, session, now)
        if left is not None and left <= IDLE_NOTICE:
            due.append((session.id, IDLE_FEE_SOON))
    return due


async def charge_context(
    db_session: AsyncSession, brand: TenantInfo, session_id: uuid.UUID
) -> ChargeContext | None:
    """The charge request of a session with its place and the driver's language."""
    row = (
        await db_session.execute(
            select(ChargeRequest, ChargingSession, Location.name, CustomerAccount.locale)
            .join(ChargingSession, ChargeRequest.session_id == ChargingSession.id)
            .join(ChargingStation, ChargingStation.id == ChargingSession.charging_station_id)
            .outerjoin(Location, Location.id == ChargingStation.location_id)
            .outerjoin(CustomerAccount, CustomerAccount.id == ChargeRequest.account_id)
            .where(ChargeRequest.session_id == session_id)
        )
    ).first()
    if row is None:
        return None
    request, session, location, account_locale = row
    locale = request.locale or account_locale or brand.locale
    return ChargeContext(request, session, location or session.transaction_id, locale)


def finished_message(context: ChargeContext) -> PushMessage:
    """ "Charging finished", in the driver's language."""
    catalog = translations(context.locale)
    energy = context.session.energy_wh
    if energy is None:
        body = catalog.gettext(FINISHED_BODY_NO_ENERGY) % {"location": context.location}
    else:
        kwh = format_decimal(energy / 1000, format="#,##0.00", locale=context.locale)
        body = catalog.gettext(FINISHED_BODY) % {"energy": kwh, "location": context.location}
    return PushMessage(
        title=catalog.gettext(FINISHED_TITLE),
        body=body,
        url=LIVE_PATH.format(id=context.request.id),
        tag=f"{CHARGING_FINISHED}-{context.session.id}",
        lang=context.locale.replace("_", "-"),
        ttl=FINISHED_TTL,
    )


def idle_message(context: ChargeContext, left: timedelta) -> PushMessage:
    """ "Idle fee soon": how many minutes (rounded up) the driver has to unplug."""
    catalog = translations(context.locale)
    minutes = max(1, math.ceil(left.total_seconds() / 60))
    body = catalog.ngettext(*IDLE_BODY, minutes) % {"location": context.location, "num": minutes}
    return PushMessage(
        title=catalog.gettext(IDLE_TITLE),
        body=body,
        url=LIVE_PATH.format(id=context.request.id),
        tag=f"{IDLE_FEE_SOON}-{context.session.id}",
        lang=context.locale.replace("_", "-"),
        # Worthless once the fee runs.
        ttl=max(60, int(left.total_seconds())),
        urgency="high",
    )


async def _message(
    db_session: AsyncSession, context: ChargeContext, event: str, now: datetime
) -> PushMessage | None:
    session = context.session
    if event == CHARGING_FINISHED:
        return finished_message(context) if session.status is SessionStatus.FINISHED else None
    if session.status is not SessionStatus.ACTIVE:
        return None
    left = await idle_fee_starts_in(db_session, session, now)
    return idle_message(context, left) if left is not None and left <= IDLE_NOTICE else None


async def send_event(
    db_session: AsyncSession,
    brand: TenantInfo,
    session_id: uuid.UUID,
    event: str,
    keys: VapidKeys,
    *,
    now: datetime,
    private_endpoints: bool = False,
) -> int | None:
    """Send ``event`` of a session to every browser subscribed to its charge request or its
    driver's account. None when there was nothing to send (not due any more, no charge
    request, or sent before); else how many browsers took it."""
    if event not in EVENTS:
        raise ValueError(f"unknown push event {event!r}")
    context = await charge_context(db_session, brand, session_id)
    if context is None:
        return None
    message = await _message(db_session, context, event, now)
    if message is None:
        return None
    # The claim: a concurrent job for the same event waits on this row and then stops.
    claimed = await db_session.scalar(
        insert(PushDelivery)
        .values(id=new_id(), session_id=session_id, event=event, recipients=0)
        .on_conflict_do_nothing(index_elements=["session_id", "event"])
        .returning(PushDelivery.id)
    )
    if claimed is None:
        return None
    subscriptions = await push.subscriptions_for(
        db_session, context.request.id, context.request.account_id
    )
    sent = await send_to(
        db_session, subscriptions, message, keys, private_endpoints=private_endpoints
    )
    delivery = await db_session.get(PushDelivery, claimed)
    if delivery is not None:
        delivery.recipients = sent
    return sent
