"""The remote start: the request's token (billed to the driver's account, or to a guest
account made for the guest's receipt), RemoteStart through the command path, and the
charger's definite answer."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from babel import Locale, UnknownLocaleError
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.accounts import AccountCreate, create_account
from voltlane.billing.charge_requests.repository import ChargeRequestRepository
from voltlane.billing.charge_requests.service import load_request
from voltlane.billing.charge_requests.sessions import fail
from voltlane.billing.providers import PaymentProvider
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AccountKind,
    ChargeRequest,
    ChargeRequestStatus,
    CommandStatus,
    IdToken,
    IdTokenStatus,
    IdTokenType,
    Invoicing,
    PaymentStatus,
)
from voltlane.station import typed_commands as tc
from voltlane.station.ports import StationCommands, UnsupportedCommandError, get_translator
from voltlane.tenancy import TenantInfo

log = logging.getLogger(__name__)

# How long a remote start waits for the charger's answer.
START_DEADLINE_SECONDS = 20.0
# Beyond the deadline: the command path's own grace, and a margin.
_START_SLACK = timedelta(seconds=START_DEADLINE_SECONDS + 10)
# How long the driver has to plug in once the charger accepted the start (chargers give up
# on a remote start after a minute or two of their own). The sweep runs well inside it and
# the app tells the driver in these words (``plug_in_minutes``).
PLUG_IN_TIMEOUT = timedelta(minutes=2)
GUEST_NAME = "Guest"
REQUESTED_BY = "driver app"


def plug_in_minutes() -> int:
    """The time the driver has to plug in, in whole minutes, as the app tells it."""
    return max(1, int(PLUG_IN_TIMEOUT.total_seconds()) // 60)


def _guest_country(tenant: TenantInfo) -> str:
    legal = tenant.profile.get("legal")
    country = legal.get("country") if isinstance(legal, dict) else None
    if isinstance(country, str) and len(country) == 2:
        return country.upper()
    try:
        territory = Locale.parse(tenant.locale).territory
    except (ValueError, UnknownLocaleError):
        territory = None
    return territory or "ZZ"


async def _payer(db_session: AsyncSession, tenant: TenantInfo, request: ChargeRequest) -> uuid.UUID:
    """The account the session is billed to: the driver's, or for a guest a driver account
    of their own, so the receipt machinery e-mails them the receipt."""
    if request.account_id is not None:
        return request.account_id
    assert request.guest_email is not None
    account = await create_account(
        db_session,
        AccountCreate(
            kind=AccountKind.DRIVER,
            name=GUEST_NAME,
            locale=request.locale or tenant.locale,
            country=_guest_country(tenant),
            invoicing=Invoicing.PER_SESSION,
            email=request.guest_email,
        ),
    )
    return account.id


def token_type_for(protocol: str | None) -> IdTokenType:
    """The type the session will record for the request's token: OCPP 1.6 knows no types
    and the gateway records every 1.6 idTag as ISO14443; billing finds a session's account
    by token value and type, so the token is stored as that type on a 1.6 charger."""
    return IdTokenType.ISO14443 if protocol == "ocpp1.6" else IdTokenType.CENTRAL


async def start(
    database: Database,
    tenant: TenantInfo,
    request_id: uuid.UUID,
    commands: StationCommands,
    *,
    provider: PaymentProvider | None,
) -> ChargeRequest:
    """The remote start of a request whose hold is authorized (or that the wallet pays):
    its token, then RemoteStart through the command path, waiting for the charger's
    definite answer. Accepted: the request waits for the driver to plug in. Rejected,
    timeout or offline: the request fails and its hold is released."""
    async with database.tenant_transaction(tenant.key) as db_session:
        repo = ChargeRequestRepository(db_session)
        request = await load_request(repo, request_id, for_update=True)
        if request.status is not ChargeRequestStatus.AUTHORIZING:
            return request
        payment = await repo.payment_of(request_id)
        if not request.wallet and (
            payment is None or payment.status is not PaymentStatus.AUTHORIZED
        ):
            return request
        evse = await repo.evse_info(request.evse_id)
        assert evse is not None
        request.account_id = await _payer(db_session, tenant, request)
        kind = token_type_for(evse.protocol)
        repo.add(
            IdToken(
                id_token=request.id_token,
                type=kind,
                status=IdTokenStatus.ACCEPTED,
                account_id=request.account_id,
                label=f"App charge {request.id}"[:120],
            )
        )
        request.status = ChargeRequestStatus.STARTING
        # Should this process die while waiting, the sweep still ends the request.
        request.plug_in_by = utcnow() + _START_SLACK + PLUG_IN_TIMEOUT
        command = tc.RemoteStart(
            id_token=request.id_token,
            id_token_type=kind.value,
            evse_id=evse.evse_id,
            remote_start_id=request.id.int % 2**31,
        )
    try:
        action, payload = get_translator().translate(evse.protocol or "", command)
    except UnsupportedCommandError:
        # A charger that never connected has no protocol yet: it is offline.
        return await fail(database, tenant.key, request_id, "offline", provider=provider)
    result = await commands.send(
        tenant.key,
        evse.station_id,
        action,
        payload,
        deadline_seconds=START_DEADLINE_SECONDS,
        requested_by=REQUESTED_BY,
    )
    async with database.tenant_transaction(tenant.key) as db_session:
        request = await load_request(
            ChargeRequestRepository(db_session), request_id, for_update=True
        )
        request.command_id = result.command_id
        if result.status is CommandStatus.ACCEPTED:
            if request.status is ChargeRequestStatus.STARTING:
                request.plug_in_by = utcnow() + PLUG_IN_TIMEOUT
            return request
    log.info(
        "remote start not accepted",
        extra={"charge_request": str(request_id), "status": result.status.value},
    )
    return await fail(database, tenant.key, request_id, result.status.value, provider=provider)
