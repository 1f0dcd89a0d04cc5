"""Credentials tokens: made, hashed, presented and checked.

A token is 43 URL-safe characters from 32 random bytes (the spec allows 64 printable
characters). Tokens partners present to us are stored as SHA-256 in
``platform.ocpi_credentials``; a request's token is looked up by its hash, must belong to
the brand of the host, and opens only what its kind allows: a CREDENTIALS_TOKEN_A opens
``versions`` and ``credentials`` and nothing else (transport_and_format: 401 otherwise).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from sqlalchemy import select

from voltlane.identity import throttle
from voltlane.models.platform import CredentialKind, OcpiCredential
from voltlane.models.tenant import OcpiPartner, PartnerState
from voltlane.ocpi.envelope import OcpiError, unauthorized
from voltlane.ocpi.protocol import Status
from voltlane.ocpi.routing import Routing, request_routing, routed_path
from voltlane.web.context import current_tenant, web_state

log = logging.getLogger(__name__)

CALLER_STATE_KEY = "voltlane_ocpi_caller"
# Route option: the route also accepts a CREDENTIALS_TOKEN_A (versions, credentials).
ACCEPTS_TOKEN_A = "ocpi_accepts_token_a"  # noqa: S105 - a route option name
# Failed token checks from one address before it has to wait (tokens cannot be guessed;
# this keeps a misconfigured peer from hammering the database).
MAX_FAILURES = 30
FAILURE_WINDOW = timedelta(minutes=10)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def authorization_header(token: str) -> str:
    """``Token <base64(token)>`` as OCPI 2.2.1 writes it."""
    return "Token " + base64.b64encode(token.encode()).decode()


def _printable(value: str) -> bool:
    return 0 < len(value) <= 64 and all("!" <= ch <= "~" for ch in value)


def header_candidates(header: str | None) -> list[str]:
    """The tokens an Authorization header may carry: the Base64-decoded value first, then
    the raw value (OCPI 2.1.1/2.2 peers that do not encode)."""
    if not header:
        return []
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value:
        return []
    candidates: list[str] = []
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    decoded = decoded.strip()
    if _printable(decoded):
        candidates.append(decoded)
    if _printable(value) and value not in candidates:
        candidates.append(value)
    return candidates


@dataclass(frozen=True, slots=True)
class OcpiCaller:
    """The partner a request authenticated as (no ORM state)."""

    partner_id: uuid.UUID
    kind: CredentialKind
    state: PartnerState
    country_code: str | None
    party_id: str | None
    # The parties a functional module's request acts for, and the one its OCPI-from
    # headers named (routing.py); empty and None for the configuration modules.
    parties: frozenset[tuple[str, str]] = frozenset()
    sender: tuple[str, str] | None = None


async def require_ocpi_token(
    connection: ASGIConnection[Any, Any, Any, Any], route: BaseRouteHandler
) -> None:
    """Refuse the request (HTTP 401) unless it carries a live token of this brand that
    opens this route."""
    tenant = current_tenant(connection)
    database = web_state(connection).database
    ip = connection.client.host if connection.client is not None else None
    credential: OcpiCredential | None = None
    async with database.platform_transaction() as platform:
        for candidate in header_candidates(connection.headers.get("authorization")):
            digest = token_digest(candidate)
            row = await platform.get(OcpiCredential, digest)
            if (
                row is not None
                and hmac.compare_digest(row.token_sha256, digest)
                and row.tenant_key == tenant.key
            ):
                credential = row
                break
    partner: OcpiPartner | None = None
    wait: int | None = None
    routing = Routing(frozenset(), None)
    async with database.tenant_transaction(tenant.key) as db_session:
        if credential is None:
            wait = await throttle.retry_after(
                db_session,
                key=f"ocpi:{ip}",
                ip=ip,
                max_failures=MAX_FAILURES,
                window=FAILURE_WINDOW,
            )
            throttle.record_attempt(db_session, key=f"ocpi:{ip}", ip=ip, succeeded=False)
        else:
            partner = await db_session.scalar(
                select(OcpiPartner).where(OcpiPartner.id == credential.partner_id)
            )
            # Refusals of the token itself (below) come first.
            if (
                partner is not None
                and partner.state == PartnerState.REGISTERED
                and credential.kind != CredentialKind.REGISTRATION
                and routed_path(connection.url.path)
            ):
                routing = await request_routing(
                    db_session, partner, connection.headers, tenant.ocpi_party
                )
    if credential is None:
        log.warning(
            "ocpi credentials token refused",
            extra={"tenant": tenant.key, "address": ip, "path": connection.url.path},
        )
        if wait is not None:
            raise OcpiError(
                Status.CLIENT_ERROR,
                f"Too many refused tokens from this address; retry in {wait} s.",
                http_status=429,
            )
        raise unauthorized("The credentials token is not valid for this CPO.")
    if partner is None or partner.state == PartnerState.UNREGISTERED:
        raise unauthorized("The credentials token is not valid for this CPO.")
    if credential.kind == CredentialKind.REGISTRATION and not route.opt.get(ACCEPTS_TOKEN_A):
        raise unauthorized("A CREDENTIALS_TOKEN_A opens only versions and credentials.")
    if partner.state == PartnerState.SUSPENDED and not route.opt.get(ACCEPTS_TOKEN_A):
        raise OcpiError(
            Status.CLIENT_ERROR,
            "The CPO has suspended this connection; contact its operations team.",
            http_status=403,
        )
    connection.scope.setdefault("state", {})[CALLER_STATE_KEY] = OcpiCaller(
        partner_id=partner.id,
        kind=credential.kind,
        state=partner.state,
        country_code=partner.country_code,
        party_id=partner.party_id,
        parties=routing.parties,
        sender=routing.sender,
    )


def provide_ocpi_caller(request: Request[Any, Any, Any]) -> OcpiCaller:
    caller = request.scope.get("state", {}).get(CALLER_STATE_KEY)
    if not isinstance(caller, OcpiCaller):
        raise unauthorized("Send Authorization: Token <base64 credentials token>.")
    return caller
