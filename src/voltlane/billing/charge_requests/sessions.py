"""A charge request meets its charging session: linked when the charger reports a session
with the request's token, finished with it; failed when nobody plugged in; stopped by the
driver. The live screen's poll, the sweep and the rating job all link through
``link_session``, which is idempotent, so whichever comes first links and the others find it
done: charging (a lower layer) never needs to know about requests."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.charge_requests.repository import ChargeRequestRepository
from voltlane.billing.payments import attach_charge_session, release_charge
from voltlane.billing.providers import PaymentProvider, ProviderError
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    ChargeRequest,
    ChargeRequestStatus,
    PaymentStatus,
    SessionStatus,
)
from voltlane.station import typed_commands as tc
from voltlane.station.ports import (
    CommandResult,
    StationCommands,
    UnsupportedCommandError,
    get_translator,
)

log = logging.getLogger(__name__)

# Every token of a remote start from the app begins so (see service.TOKEN_PREFIX).
APP_TOKEN = "VLA"  # noqa: S105 - an identifier, not a secret

# Requests that never got past payment are given up after this long (the hold, if any,
# released): a driver who left the bank's page or the card page does not come back.
ABANDONED_AFTER = timedelta(minutes=30)
STOP_DEADLINE_SECONDS = 15.0
# Before it may end: everything but finished, failed and cancelled.
_LIVE = frozenset(
    {
        ChargeRequestStatus.AWAITING_PAYMENT,
        ChargeRequestStatus.AUTHORIZING,
        ChargeRequestStatus.STARTING,
    }
)
_HELD = frozenset({PaymentStatus.AUTHORIZED, PaymentStatus.REQUIRES_ACTION})


async def link_session(db_session: AsyncSession, request: ChargeRequest) -> bool:
    """Link ``request`` to the session its charger reported with its token, and finish it
    with its session; True when it changed. Lock the request first when others may change
    it at the same time (the callers that move a status do)."""
    repo = ChargeRequestRepository(db_session)
    changed = False
    if request.status is ChargeRequestStatus.STARTING:
        evse = await repo.evse_info(request.evse_id)
        session = await repo.session_of_token(evse.station_pk, request.id_token) if evse else None
        if session is None:
            return False
        request.session_id = session.id
        request.plug_in_by = None
        request.status = ChargeRequestStatus.CHARGING
        if await repo.payment_of(request.id) is not None:
            # In the transaction that links: the CDR's capture finds the hold by session.
            await attach_charge_session(db_session, request.id, session.id)
        changed = True
    if request.status is ChargeRequestStatus.CHARGING and request.session_id is not None:
        session = await repo.session(request.session_id)
        if session is not None and session.status is SessionStatus.FINISHED:
            request.status = ChargeRequestStatus.FINISHED
            changed = True
    if changed:
        await db_session.flush()
    return changed


async def link_charge_session(db_session: AsyncSession, session_id: uuid.UUID) -> None:
    """Before a finished session is rated: if it was started from the app and not linked
    yet (it ended before anyone looked), link it now, so its CDR is captured from the hold
    instead of being receipted as unpaid."""
    repo = ChargeRequestRepository(db_session)
    session = await repo.session(session_id)
    if session is None or session.id_token is None or not session.id_token.startswith(APP_TOKEN):
        return
    request = await repo.starting_request_of_token(session.id_token, for_update=True)
    if request is not None:
        await link_session(db_session, request)


async def fail(
    database: Database,
    tenant_key: str,
    request_id: uuid.UUID,
    failure: str,
    *,
    provider: PaymentProvider | None,
) -> ChargeRequest:
    """End a request that has not started charging with ``failure`` (offline, rejected,
    timeout, not_plugged_in, card_declined, ...): its token is blocked, its hold released.
    A request that has a session meanwhile, or ended already, is returned unchanged."""
    async with database.tenant_transaction(tenant_key) as db_session:
        repo = ChargeRequestRepository(db_session)
        request = await repo.request(request_id, for_update=True)
        assert request is not None
        await link_session(db_session, request)
        if request.status not in _LIVE:
            return request
        request.status = (
            ChargeRequestStatus.CANCELLED
            if failure in ("cancelled", "abandoned")
            else ChargeRequestStatus.FAILED
        )
        request.failure = failure
        request.plug_in_by = None
        # A charger that starts late anyway is refused the token.
        await repo.block_token(request.id_token)
        payment = await repo.payment_of(request_id)
        held = payment is not None and payment.status in _HELD
    if held and provider is not None:
        await _release(database, tenant_key, request_id, provider)
    return request


async def _release(
    database: Database, tenant_key: str, request_id: uuid.UUID, provider: PaymentProvider
) -> None:
    try:
        await release_charge(database, tenant_key, request_id, provider=provider)
    except ProviderError as exc:
        # The sweep releases it later, with the same idempotency key.
        log.warning(
            "hold not released", extra={"charge_request": str(request_id), "error": exc.detail}
        )


async def cancel(
    database: Database, tenant_key: str, request_id: uuid.UUID, *, provider: PaymentProvider | None
) -> ChargeRequest:
    """The driver gave up before the charger started: nothing is charged, a hold is
    released."""
    return await fail(database, tenant_key, request_id, "cancelled", provider=provider)


async def check_requests(
    database: Database,
    tenant_key: str,
    *,
    provider: PaymentProvider | None,
    now: datetime | None = None,
) -> dict[str, int]:
    """The sweep of one brand: link requests whose session has appeared, finish those whose
    session ended, fail those whose plug-in time passed (releasing their holds), give up
    requests abandoned before the start, and release holds a failed release left behind.
    Returns how many requests took each of those turns."""
    moment = now or utcnow()
    counts = {"linked": 0, "not_plugged_in": 0, "abandoned": 0, "released": 0}
    async with database.tenant_transaction(tenant_key) as db_session:
        ids = await ChargeRequestRepository(db_session).requests_to_check(moment - ABANDONED_AFTER)
    for request_id in ids:
        async with database.tenant_transaction(tenant_key) as db_session:
            request = await ChargeRequestRepository(db_session).request(request_id, for_update=True)
            if request is None:
                continue
            before = request.status
            await link_session(db_session, request)
            if before is ChargeRequestStatus.STARTING and request.status is not before:
                counts["linked"] += 1
            status, plug_in_by = request.status, request.plug_in_by
        if status is ChargeRequestStatus.STARTING and plug_in_by and plug_in_by <= moment:
            failed = await fail(
                database, tenant_key, request_id, "not_plugged_in", provider=provider
            )
            counts["not_plugged_in"] += failed.failure == "not_plugged_in"
        elif status is ChargeRequestStatus.AUTHORIZING:
            failed = await fail(database, tenant_key, request_id, "abandoned", provider=provider)
            counts["abandoned"] += failed.failure == "abandoned"
    if provider is not None:
        async with database.tenant_transaction(tenant_key) as db_session:
            left = await ChargeRequestRepository(db_session).holds_left(
                moment - timedelta(minutes=1)
            )
        for request_id in left:
            await _release(database, tenant_key, request_id, provider)
            counts["released"] += 1
    return counts


async def stop(
    database: Database,
    tenant_key: str,
    request_id: uuid.UUID,
    *,
    commands: StationCommands,
    requested_by: str = "driver app",
) -> CommandResult | None:
    """Ask the charger to end the request's session (RemoteStop through the command path);
    its definite answer, or None when the session is not running any more."""
    async with database.tenant_transaction(tenant_key) as db_session:
        repo = ChargeRequestRepository(db_session)
        request = await repo.request(request_id, for_update=True)
        assert request is not None
        await link_session(db_session, request)
        if request.status is not ChargeRequestStatus.CHARGING or request.session_id is None:
            return None
        session = await repo.session(request.session_id)
        evse = await repo.evse_info(request.evse_id)
        if session is None or evse is None or session.status is not SessionStatus.ACTIVE:
            return None
        protocol, transaction_id = session.protocol, session.transaction_id
    try:
        action, payload = get_translator().translate(protocol, tc.RemoteStop(transaction_id))
    except (UnsupportedCommandError, ValueError):
        return None
    return await commands.send(
        tenant_key,
        evse.station_id,
        action,
        payload,
        deadline_seconds=STOP_DEADLINE_SECONDS,
        requested_by=requested_by,
    )
