"""Credentials module (credentials.asciidoc), served to partners at
``/ocpi/2.2.1/credentials``. Open to CREDENTIALS_TOKEN_A (GET and POST mean something with
it) and to the token of a registered partner.

GET answers with the token the caller presented: we keep only hashes, and the token a
caller presents is by definition the one valid for it.
"""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, delete, get, post, put

from voltlane.models.platform import CredentialKind, OcpiCredential
from voltlane.ocpi.auth import (
    ACCEPTS_TOKEN_A,
    OcpiCaller,
    header_candidates,
    provide_ocpi_caller,
    token_digest,
)
from voltlane.ocpi.envelope import OcpiError, ocpi_response
from voltlane.ocpi.handshake import CredentialsError, our_credentials, parse_credentials
from voltlane.ocpi.protocol import VERSION_PATH, Status
from voltlane.ocpi.registration import accept, close, not_allowed
from voltlane.ocpi.urls import versions_url
from voltlane.web.context import current_tenant, web_state

PATH = f"{VERSION_PATH}/credentials"
ROUTE: dict[str, Any] = {
    "path": PATH,
    "opt": {ACCEPTS_TOKEN_A: True},
    "include_in_schema": False,
}


async def _presented_token(request: Request[Any, Any, Any]) -> str:
    """The candidate of the Authorization header that is a live token (the guard has
    already found one)."""
    database = web_state(request).database
    tenant_key = current_tenant(request).key
    async with database.platform_transaction() as platform:
        for candidate in header_candidates(request.headers.get("authorization")):
            row = await platform.get(OcpiCredential, token_digest(candidate))
            if row is not None and row.tenant_key == tenant_key:
                return candidate
    raise OcpiError(Status.CLIENT_ERROR, "The credentials token is not valid.", http_status=401)


def _fault(fault: CredentialsError) -> OcpiError:
    return OcpiError(fault.status, fault.message, http_status=fault.http_status)


def _ours(request: Request[Any, Any, Any], token: str) -> dict[str, Any]:
    try:
        return our_credentials(current_tenant(request), token, versions_url(request))
    except CredentialsError as fault:
        raise _fault(fault) from None


async def _body(request: Request[Any, Any, Any]) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        raise OcpiError(
            Status.CLIENT_ERROR, "The body is not valid JSON.", http_status=400
        ) from None


async def _register(
    request: Request[Any, Any, Any], caller: OcpiCaller, *, update_only: bool
) -> Response[Any]:
    try:
        credentials = parse_credentials(await _body(request))
        state = web_state(request)
        token = await accept(
            state.database,
            current_tenant(request),
            state.settings.secret_key,
            caller.partner_id,
            credentials,
            update_only=update_only,
        )
    except CredentialsError as fault:
        raise _fault(fault) from None
    return ocpi_response(_ours(request, token))


@get(**ROUTE)
async def get_credentials(request: Request[Any, Any, Any]) -> Response[Any]:
    # The guard let it in: any live token of this brand may read.
    return ocpi_response(_ours(request, await _presented_token(request)))


@post(**ROUTE, status_code=200)
async def post_credentials(request: Request[Any, Any, Any]) -> Response[Any]:
    """A partner registers with the CREDENTIALS_TOKEN_A we gave it."""
    caller = provide_ocpi_caller(request)
    if caller.kind != CredentialKind.REGISTRATION:
        raise _fault(not_allowed("Already registered: use PUT to update the credentials."))
    return await _register(request, caller, update_only=False)


@put(**ROUTE)
async def put_credentials(request: Request[Any, Any, Any]) -> Response[Any]:
    """A registered partner gives a new token or has its endpoints read again."""
    caller = provide_ocpi_caller(request)
    if caller.kind != CredentialKind.ACCESS:
        raise _fault(not_allowed("Not registered yet: register with POST first."))
    return await _register(request, caller, update_only=True)


@delete(**ROUTE, status_code=200)
async def delete_credentials(request: Request[Any, Any, Any]) -> Response[Any]:
    """A partner unregisters: its tokens die, nothing more is pushed to it."""
    caller = provide_ocpi_caller(request)
    if caller.kind != CredentialKind.ACCESS:
        raise _fault(not_allowed("Not registered: there is nothing to unregister."))
    await close(
        web_state(request).database,
        current_tenant(request).key,
        caller.partner_id,
        "the partner unregistered",
    )
    return ocpi_response()


HANDLERS = [get_credentials, post_credentials, put_credentials, delete_credentials]
