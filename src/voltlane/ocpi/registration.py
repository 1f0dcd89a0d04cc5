"""Registering partners, both ways, and ending connections.

A partner registers with us (POST/PUT/DELETE on our credentials module: ``accept`` and
``close``), or staff register the brand with a partner (``register_with_partner``), rotate
the token we handed out (``rotate_our_token``) and end a connection
(``unregister_partner``). The partner's API is called outside any transaction; rows are
written tenant first, then the platform token index (see ``partners``).
"""

from __future__ import annotations

import contextlib
import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.platform import CredentialKind, OcpiCredential
from voltlane.models.tenant import (
    OcpiPartner,
    OcpiPush,
    PartnerInitiator,
    PartnerState,
    PushState,
)
from voltlane.ocpi.auth import new_token, token_digest
from voltlane.ocpi.client import OcpiClient, PartnerError
from voltlane.ocpi.handshake import (
    Credentials,
    CredentialsError,
    PartnerApi,
    discover,
    our_credentials,
    parse_credentials,
)
from voltlane.ocpi.location_tasks import RESYNC_PARTNER
from voltlane.ocpi.partners import (
    add_credential,
    partner_token,
    revoke_credentials,
    seal_partner_token,
)
from voltlane.ocpi.protocol import InterfaceRole, Module, Status
from voltlane.ocpi.pushes import endpoint_url
from voltlane.tenancy import TenantInfo
from voltlane.web.i18n import N_
from voltlane.worker import enqueue

LIVE = (PartnerState.REGISTERED, PartnerState.SUSPENDED)


class RegistrationError(Exception):
    """A registration staff started that did not go through: ``field`` is the form field
    the sentence belongs beside."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def not_allowed(message: str) -> CredentialsError:
    return CredentialsError(Status.CLIENT_ERROR, message, http_status=405)


async def _party_taken(
    db_session: AsyncSession, partner_id: uuid.UUID, party: tuple[str, str]
) -> bool:
    other = await db_session.scalar(
        select(OcpiPartner.id).where(
            OcpiPartner.id != partner_id,
            OcpiPartner.country_code == party[0],
            OcpiPartner.party_id == party[1],
            OcpiPartner.state.in_(LIVE),
        )
    )
    return other is not None


async def _store(
    db_session: AsyncSession,
    partner: OcpiPartner,
    credentials: Credentials,
    api: PartnerApi | None,
    secret_key: str,
) -> None:
    """Their roles, party, endpoints and token on ``partner`` (2000 when the party already
    has a live connection with this brand)."""
    party = credentials.party
    if await _party_taken(db_session, partner.id, party):
        raise CredentialsError(
            Status.CLIENT_ERROR,
            f"The party {party[0]}*{party[1]} already has a connection with this CPO.",
        )
    partner.country_code, partner.party_id = party
    partner.roles = credentials.roles
    partner.versions_url = credentials.url
    if api is not None:
        partner.version = api.version
        partner.endpoints = api.endpoints
    partner.token_sealed = seal_partner_token(secret_key, credentials.token)
    partner.last_error = None
    if partner.state == PartnerState.PENDING:
        partner.state = PartnerState.REGISTERED
        partner.registered_at = utcnow()
        partner.unregistered_at = None
        if endpoint_url(partner, Module.LOCATIONS.value, InterfaceRole.RECEIVER) is not None:
            # A new partner that takes location pushes gets the whole network once; from
            # then on, pushes keep it current.
            enqueue(
                db_session,
                RESYNC_PARTNER,
                tenant=db_session.info["tenant_key"],
                partner_id=str(partner.id),
            )
    try:
        await db_session.flush()
    except IntegrityError:
        raise CredentialsError(
            Status.CLIENT_ERROR,
            f"The party {party[0]}*{party[1]} already has a connection with this CPO.",
        ) from None


async def _replace_tokens(
    database: Database, tenant_key: str, partner_id: uuid.UUID, keep: str | None = None
) -> None:
    """Every token the partner presents stops working but ``keep``."""
    async with database.platform_transaction() as platform:
        statement = delete(OcpiCredential).where(
            OcpiCredential.tenant_key == tenant_key, OcpiCredential.partner_id == partner_id
        )
        if keep is not None:
            statement = statement.where(OcpiCredential.token_sha256 != token_digest(keep))
        await platform.execute(statement)


async def _mint(
    database: Database, tenant_key: str, partner_id: uuid.UUID, *, only: bool = False
) -> str:
    """A new token for the partner to present to us; ``only``: its other tokens die in the
    same transaction."""
    token = new_token()
    async with database.platform_transaction() as platform:
        if only:
            await revoke_credentials(platform, tenant_key=tenant_key, partner_id=partner_id)
        await add_credential(
            platform,
            tenant_key=tenant_key,
            partner_id=partner_id,
            token=token,
            kind=CredentialKind.ACCESS,
        )
    return token


async def accept(
    database: Database,
    brand: TenantInfo,
    secret_key: str,
    partner_id: uuid.UUID,
    credentials: Credentials,
    *,
    update_only: bool,
) -> str:
    """A partner's POST (``update_only`` False: it must be pending) or PUT (it must be
    registered): read its endpoints with its new token, store everything, and return the
    new CREDENTIALS_TOKEN_C; every token it used before dies."""
    api = await discover(OcpiClient(token=credentials.token), credentials.url)
    async with database.tenant_transaction(brand.key) as db_session:
        partner = await db_session.scalar(
            select(OcpiPartner).where(OcpiPartner.id == partner_id).with_for_update()
        )
        if partner is None or partner.state == PartnerState.UNREGISTERED:
            raise not_allowed("This connection has ended; ask the CPO for a new token.")
        if update_only and partner.state not in LIVE:
            raise not_allowed("Not registered yet: register with POST first.")
        if not update_only and partner.state != PartnerState.PENDING:
            raise not_allowed("Already registered: use PUT to update the credentials.")
        await _store(db_session, partner, credentials, api, secret_key)
    return await _mint(database, brand.key, partner_id, only=True)


async def close(database: Database, tenant_key: str, partner_id: uuid.UUID, reason: str) -> None:
    """End the connection here: tokens revoked, our token for them forgotten, pushes still
    owed given up with ``reason``."""
    async with database.tenant_transaction(tenant_key) as db_session:
        partner = await db_session.scalar(
            select(OcpiPartner).where(OcpiPartner.id == partner_id).with_for_update()
        )
        if partner is None:
            return
        partner.state = PartnerState.UNREGISTERED
        partner.unregistered_at = utcnow()
        partner.token_sealed = None
        await db_session.execute(
            update(OcpiPush)
            .where(OcpiPush.partner_id == partner_id, OcpiPush.state == PushState.PENDING)
            .values(state=PushState.FAILED, last_error=reason)
        )
    await _replace_tokens(database, tenant_key, partner_id)


def _check_form(name: str, versions_url: str, token_a: str) -> None:
    if not name.strip() or len(name) > 100:
        raise RegistrationError("name", N_("Give the partner a name of at most 100 characters."))
    if not versions_url.startswith(("https://", "http://")) or len(versions_url) > 255:
        raise RegistrationError(
            "versions_url", N_("Enter the partner's versions URL (https://...).")
        )
    if not token_a or len(token_a) > 64 or not all("!" <= ch <= "~" for ch in token_a):
        raise RegistrationError(
            "token_a", N_("The token is at most 64 printable characters without spaces.")
        )


async def _forget(database: Database, tenant_key: str, partner_id: uuid.UUID) -> None:
    """Undo a registration that never went through (the partner row and our token)."""
    await _replace_tokens(database, tenant_key, partner_id)
    async with database.tenant_transaction(tenant_key) as db_session:
        await db_session.execute(delete(OcpiPartner).where(OcpiPartner.id == partner_id))


async def register_with_partner(
    database: Database,
    brand: TenantInfo,
    secret_key: str,
    *,
    name: str,
    versions_url: str,
    token_a: str,
    our_versions_url: str,
) -> uuid.UUID:
    """Register the brand with a partner that handed us its versions URL and a
    CREDENTIALS_TOKEN_A: read its 2.2.1 endpoints, give it our token B, keep its token C.
    RegistrationError says what went wrong beside which form field."""
    name, versions_url, token_a = name.strip(), versions_url.strip(), token_a.strip()
    _check_form(name, versions_url, token_a)
    if brand.ocpi_party is None:
        raise RegistrationError(
            "partner", N_("This brand has no OCPI party (country code and party ID) yet.")
        )
    client = OcpiClient(token=token_a)
    try:
        api = await discover(client, versions_url)
    except CredentialsError as fault:
        cause = fault.__cause__
        refused = isinstance(cause, PartnerError) and cause.http_status == 401
        raise RegistrationError("token_a" if refused else "versions_url", fault.message) from None
    credentials_url = api.url_of(Module.CREDENTIALS)
    if credentials_url is None:
        raise RegistrationError("versions_url", N_("The partner lists no credentials endpoint."))
    async with database.tenant_transaction(brand.key) as db_session:
        partner = OcpiPartner(
            name=name,
            state=PartnerState.PENDING,
            initiated_by=PartnerInitiator.US,
            versions_url=versions_url,
        )
        db_session.add(partner)
        await db_session.flush()
        partner_id = partner.id
    # Token B must work before the POST: the partner reads our versions with it.
    token_b = await _mint(database, brand.key, partner_id)
    try:
        reply = await client.request(
            "POST",
            credentials_url,
            json=our_credentials(brand, token_b, our_versions_url),
            routed=False,
        )
        theirs = parse_credentials(reply.data)
    except PartnerError as exc:
        await _forget(database, brand.key, partner_id)
        field = "token_a" if exc.http_status == 401 else "versions_url"
        raise RegistrationError(field, exc.message) from None
    except CredentialsError as fault:
        await _forget(database, brand.key, partner_id)
        raise RegistrationError("versions_url", f"The partner's answer: {fault.message}") from None
    try:
        async with database.tenant_transaction(brand.key) as db_session:
            row = await db_session.get(OcpiPartner, partner_id, with_for_update=True)
            assert row is not None  # created above; nobody else knows it yet
            await _store(db_session, row, theirs, api, secret_key)
    except CredentialsError as fault:
        # The partner registered us already: tell it the connection is off again.
        with contextlib.suppress(PartnerError):
            await OcpiClient(token=theirs.token).request("DELETE", credentials_url, routed=False)
        await _forget(database, brand.key, partner_id)
        raise RegistrationError("versions_url", fault.message) from None
    return partner_id


def _credentials_url(partner: OcpiPartner) -> str | None:
    for endpoint in partner.endpoints:
        if isinstance(endpoint, dict) and endpoint.get("identifier") == Module.CREDENTIALS:
            url = endpoint.get("url")
            return url if isinstance(url, str) else None
    return None


async def _live_partner(
    database: Database, brand: TenantInfo, secret_key: str, partner_id: uuid.UUID
) -> tuple[OcpiPartner, OcpiClient, str]:
    async with database.tenant_transaction(brand.key) as db_session:
        partner = await db_session.get(OcpiPartner, partner_id)
    token = None if partner is None else partner_token(secret_key, partner)
    url = None if partner is None else _credentials_url(partner)
    if partner is None or partner.state not in LIVE or token is None or url is None:
        raise RegistrationError("partner", N_("This partner has no live connection."))
    # Credentials calls carry no routing headers: the token says who we are.
    return partner, OcpiClient(token=token), url


async def rotate_our_token(
    database: Database,
    brand: TenantInfo,
    secret_key: str,
    partner_id: uuid.UUID,
    *,
    our_versions_url: str,
) -> None:
    """Give the partner a new token for us (PUT on its credentials module); it answers with
    a new token for it, and its endpoints are read again. The old token dies."""
    _, client, url = await _live_partner(database, brand, secret_key, partner_id)
    token = await _mint(database, brand.key, partner_id)
    try:
        reply = await client.request(
            "PUT", url, json=our_credentials(brand, token, our_versions_url), routed=False
        )
        theirs = parse_credentials(reply.data)
    except (PartnerError, CredentialsError) as exc:
        await _drop_token(database, token)
        raise RegistrationError("partner", getattr(exc, "message", str(exc))) from None
    try:
        api: PartnerApi | None = await discover(OcpiClient(token=theirs.token), theirs.url)
        problem = None
    except CredentialsError as fault:
        api, problem = None, fault.message
    async with database.tenant_transaction(brand.key) as db_session:
        row = await db_session.get(OcpiPartner, partner_id, with_for_update=True)
        if row is not None:
            try:
                await _store(db_session, row, theirs, api, secret_key)
            except CredentialsError as fault:
                problem = fault.message
                row.token_sealed = seal_partner_token(secret_key, theirs.token)
            row.last_error = problem
    await _replace_tokens(database, brand.key, partner_id, keep=token)


async def _drop_token(database: Database, token: str) -> None:
    async with database.platform_transaction() as platform:
        await platform.execute(
            delete(OcpiCredential).where(OcpiCredential.token_sha256 == token_digest(token))
        )


async def unregister_partner(
    database: Database, brand: TenantInfo, secret_key: str, partner_id: uuid.UUID
) -> str | None:
    """End the connection: DELETE on the partner's credentials module when it is live,
    then everything here (``close``). Returns the partner's refusal, if any: the
    connection ends here all the same."""
    problem: str | None = None
    try:
        _, client, url = await _live_partner(database, brand, secret_key, partner_id)
        await client.request("DELETE", url, routed=False)
    except RegistrationError:
        pass  # nothing to tell a partner that never registered
    except PartnerError as exc:
        problem = exc.message
    await close(database, brand.key, partner_id, "the connection was ended")
    return problem


async def set_suspended(db_session: AsyncSession, partner_id: uuid.UUID, suspended: bool) -> bool:
    """Staff pause (or resume) a live connection: pushes wait, the partner's requests are
    refused with 403 (credentials excepted). False when the partner is not in the state
    to change."""
    partner = await db_session.get(OcpiPartner, partner_id, with_for_update=True)
    wanted_from = PartnerState.REGISTERED if suspended else PartnerState.SUSPENDED
    if partner is None or partner.state != wanted_from:
        return False
    partner.state = PartnerState.SUSPENDED if suspended else PartnerState.REGISTERED
    return True
