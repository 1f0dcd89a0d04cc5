"""Durable pushes to partners: the ``ocpi_pushes`` outbox and its delivery.

``queue_push`` writes what a partner must be told in the transaction of the change that
caused it (a status, a session, a CDR, a command result); nothing else waits for the
partner. ``deliver`` (job ``ocpi.deliver``) sends a partner's due pushes in the order
they were written, one transaction per push, with the partner row locked so that two
workers never send one partner's pushes out of order. An object whose push failed holds
its later pushes back until it goes through (a PATCH never overtakes the PUT it patches);
retries back off exponentially; a push given up stays ``failed`` for the portal, and the
periodic resync repairs the partner's copy. A full PUT of an object supersedes its pushes
that have not gone yet.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import OcpiPartner, OcpiPush, PartnerState, PushState
from voltlane.ocpi.client import OcpiClient, PartnerError, Party
from voltlane.ocpi.partners import partner_token
from voltlane.ocpi.protocol import InterfaceRole
from voltlane.ocpi.routing import role_parties
from voltlane.tenancy import TenantInfo
from voltlane.worker import enqueue

log = logging.getLogger(__name__)

DELIVER = "ocpi.deliver"
MAX_ATTEMPTS = 12  # about 6 hours of back-off
FIRST_RETRY = timedelta(seconds=5)
LONGEST_RETRY = timedelta(hours=1)
BATCH = 200


def retry_delay(attempts: int) -> timedelta:
    """5 s, 10 s, 20 s ... capped at an hour."""
    return min(FIRST_RETRY * (1 << max(attempts - 1, 0)), LONGEST_RETRY)


async def queue_push(
    db_session: AsyncSession,
    tenant_key: str,
    *,
    partner_id: uuid.UUID,
    module: str,
    object_id: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    to_party: tuple[str, str] | None = None,
) -> uuid.UUID:
    """Owe ``partner_id`` one request, sent after the caller's transaction commits.

    ``path`` follows the partner's endpoint URL of ``module`` ("/DE/VLT/LOC1"), or is an
    absolute URL (a command's response_url). ``to_party`` is the party the request is for
    (its OCPI-to headers: a party behind a hub); None: the partner's own party.
    """
    now = utcnow()
    if method == "PUT":
        await db_session.execute(
            update(OcpiPush)
            .where(
                OcpiPush.partner_id == partner_id,
                OcpiPush.module == module,
                OcpiPush.object_id == object_id,
                OcpiPush.state == PushState.PENDING,
                OcpiPush.attempts == 0,
            )
            .values(state=PushState.SUPERSEDED)
        )
    push = OcpiPush(
        partner_id=partner_id,
        module=module,
        object_id=object_id,
        method=method,
        path=path,
        body=body,
        to_country_code=to_party[0] if to_party else None,
        to_party_id=to_party[1] if to_party else None,
        state=PushState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db_session.add(push)
    await db_session.flush()
    # One delivery job per partner and transaction: it sends every push then due.
    transaction = db_session.sync_session.get_transaction()
    queued: set[tuple[int, uuid.UUID]] = db_session.info.setdefault("ocpi_deliveries", set())
    if (id(transaction), partner_id) not in queued:
        queued.add((id(transaction), partner_id))
        enqueue(db_session, DELIVER, tenant=tenant_key, partner_id=str(partner_id))
    return push.id


def endpoint_url(partner: OcpiPartner, module: str, role: InterfaceRole) -> str | None:
    """The partner's URL of ``module`` in ``role`` (as its version details listed it)."""
    for endpoint in partner.endpoints:
        if (
            isinstance(endpoint, dict)
            and endpoint.get("identifier") == module
            and endpoint.get("role") == role.value
        ):
            url = endpoint.get("url")
            return url if isinstance(url, str) else None
    return None


def push_url(partner: OcpiPartner, push: OcpiPush) -> str | None:
    if push.path.startswith(("https://", "http://")):
        return push.path
    base = endpoint_url(partner, push.module, InterfaceRole.RECEIVER)
    return None if base is None else base.rstrip("/") + push.path


def partner_client(
    brand: TenantInfo, partner: OcpiPartner, secret_key: str, *, timeout: float = 10.0
) -> OcpiClient | None:
    """A client that speaks to ``partner`` as the brand (None before the handshake),
    addressed to the partner's party; to a hub itself when it is one (a Broadcast Push),
    even if it listed its parties' roles too."""
    token = partner_token(secret_key, partner)
    if token is None:
        return None
    party = brand.ocpi_party
    hubs = sorted(role_parties(partner, hub=True))
    to = Party(*hubs[0]) if hubs else None
    if to is None and partner.country_code and partner.party_id:
        to = Party(partner.country_code, partner.party_id)
    return OcpiClient(
        token=token, from_party=Party(*party) if party else None, to_party=to, timeout=timeout
    )


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sent: int
    failed: int
    waiting: int


async def _next_due(
    db_session: AsyncSession, partner_id: uuid.UUID, now: datetime, skip: set[uuid.UUID]
) -> OcpiPush | None:
    """The oldest pending push whose object has no earlier push still pending."""
    pending = (
        await db_session.scalars(
            select(OcpiPush)
            .where(OcpiPush.partner_id == partner_id, OcpiPush.state == PushState.PENDING)
            .order_by(OcpiPush.created_at, OcpiPush.id)
            .limit(BATCH)
        )
    ).all()
    held: set[tuple[str, str]] = set()
    for push in pending:
        key = (push.module, push.object_id)
        if key in held or push.id in skip:
            held.add(key)
            continue
        if push.next_attempt_at > now:
            held.add(key)
            continue
        return push
    return None


async def deliver(
    database: Database,
    brand: TenantInfo,
    partner_id: uuid.UUID,
    secret_key: str,
    *,
    transport: Any = None,
) -> DeliveryReport:
    """Send the partner's due pushes; returns what happened (pushes that are not due yet,
    or held behind a failed one, count as waiting)."""
    sent = failed = 0
    tried: set[uuid.UUID] = set()
    while True:
        async with database.tenant_transaction(brand.key) as db_session:
            partner = await db_session.scalar(
                select(OcpiPartner)
                .where(OcpiPartner.id == partner_id)
                .with_for_update(skip_locked=True)
            )
            if partner is None or partner.state != PartnerState.REGISTERED:
                # Locked: another worker is delivering and will see what is due.
                break
            now = utcnow()
            push = await _next_due(db_session, partner_id, now, tried)
            if push is None:
                break
            tried.add(push.id)
            push.attempts += 1
            url = push_url(partner, push)
            client = partner_client(brand, partner, secret_key)
            if url is None or client is None:
                push.state = PushState.FAILED
                push.last_error = f"the partner has no {push.module} receiver endpoint"
                failed += 1
                continue
            if transport is not None:
                client.transport = transport
            if push.to_country_code and push.to_party_id:
                client.to_party = Party(push.to_country_code, push.to_party_id)
            try:
                reply = await client.request(push.method, url, json=push.body)
            except PartnerError as exc:
                push.last_http_status = exc.http_status
                push.last_ocpi_status = exc.ocpi_status
                push.last_error = exc.message[:2000]
                if exc.retryable and push.attempts < MAX_ATTEMPTS:
                    push.next_attempt_at = now + retry_delay(push.attempts)
                else:
                    push.state = PushState.FAILED
                    failed += 1
                log.info(
                    "ocpi push not delivered",
                    extra={
                        "partner": str(partner_id),
                        "ocpi_module": push.module,
                        "error": exc.message,
                    },
                )
                continue
            push.state = PushState.SENT
            push.sent_at = utcnow()
            push.last_http_status = reply.http_status
            push.last_ocpi_status = reply.status_code
            push.last_error = None
            sent += 1
    async with database.tenant_transaction(brand.key) as db_session:
        waiting = len(
            (
                await db_session.scalars(
                    select(OcpiPush.id).where(
                        OcpiPush.partner_id == partner_id, OcpiPush.state == PushState.PENDING
                    )
                )
            ).all()
        )
    return DeliveryReport(sent, failed, waiting)


async def retry_now(db_session: AsyncSession, tenant_key: str, push_id: uuid.UUID) -> bool:
    """Staff's retry button: a failed or waiting push goes out again at once."""
    push = await db_session.get(OcpiPush, push_id, with_for_update=True)
    if push is None or push.state not in (PushState.FAILED, PushState.PENDING):
        return False
    push.state = PushState.PENDING
    push.next_attempt_at = utcnow()
    push.attempts = min(push.attempts, MAX_ATTEMPTS - 1)
    enqueue(db_session, DELIVER, tenant=tenant_key, partner_id=str(push.partner_id))
    return True
