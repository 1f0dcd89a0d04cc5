"""The hold guard: a charge paid from a hold on the driver's card ends before it costs more
than the card holds.

A PSP captures at most what it holds, so a charge that ran on past its hold would leave the
difference unpaid. Every sweep (in the job ``billing.check_charge_requests``, every 30 s
per brand) prices each running charge on a hold with the engine, exactly as its CDR would
be priced if it ended now, and once the cost so far reaches ``HOLD_STOP_SHARE`` of the
hold asks the charger to stop: a RemoteStop through the command path, as the driver's own
stop button sends. The request keeps ``failure = "hold_reached"`` so that the live screen and the
receipt say why charging ended. A stop the charger did not carry out is asked again after
``RESEND_AFTER``. What the margin cannot cover (energy in the seconds until the charger
stops, an idle fee after it) stays visible on the payment as not captured.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from voltlane.billing.cdrs import live_cost
from voltlane.billing.charge_requests.repository import ChargeRequestRepository
from voltlane.billing.charge_requests.sessions import stop
from voltlane.core.db import Database
from voltlane.core.errors import VoltlaneError
from voltlane.models.tenant import ChargeRequestStatus
from voltlane.station.ports import StationCommands

log = logging.getLogger(__name__)

HOLD_STOP_SHARE = Decimal("0.95")
RESEND_AFTER = timedelta(minutes=2)
HOLD_REACHED = "hold_reached"
REQUESTER = "hold guard"


def stop_at(held: int) -> int:
    """The cost (minor units, VAT included) at which a charge on a hold of ``held`` stops."""
    return int((Decimal(held) * HOLD_STOP_SHARE).to_integral_value(ROUND_FLOOR))


async def charges_past_their_hold(
    database: Database, tenant_key: str, now: datetime
) -> list[uuid.UUID]:
    """The running charges whose cost so far has reached their stop point."""
    due: list[uuid.UUID] = []
    async with database.tenant_transaction(tenant_key) as db_session:
        repo = ChargeRequestRepository(db_session)
        for request_id, session_id, held in await repo.charging_on_holds():
            try:
                priced = await live_cost(db_session, session_id, now=now)
            except VoltlaneError as exc:
                # No tariff, or a session the engine cannot price yet: its CDR waits too.
                log.info(
                    "hold guard: charge not priced",
                    extra={"charge_request": str(request_id), "detail": exc.detail},
                )
                continue
            if priced.total_incl_vat >= stop_at(held):
                due.append(request_id)
    return due


async def guard_holds(
    database: Database,
    tenant_key: str,
    due: list[uuid.UUID],
    *,
    commands: StationCommands,
    now: datetime,
) -> list[uuid.UUID]:
    """Ask the chargers of the ``due`` charges to stop (once per ``RESEND_AFTER``); the
    requests a stop was sent for."""
    stopped: list[uuid.UUID] = []
    for request_id in due:
        requester = f"{REQUESTER} {request_id}"
        async with database.tenant_transaction(tenant_key) as db_session:
            repo = ChargeRequestRepository(db_session)
            if await repo.stop_asked_since(requester, now - RESEND_AFTER):
                continue
            request = await repo.request(request_id, for_update=True)
            if request is None or request.status is not ChargeRequestStatus.CHARGING:
                continue
            request.failure = HOLD_REACHED
        result = await stop(
            database, tenant_key, request_id, commands=commands, requested_by=requester
        )
        if result is not None:
            stopped.append(request_id)
            log.info(
                "hold guard: charge stopped at its hold",
                extra={"charge_request": str(request_id), "result": result.status.value},
            )
    return stopped
