"""API-key authentication of the operator API: a guard, then the caller as a dependency."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler

from voltlane.api.errors import ApiKeyRequiredError
from voltlane.identity import api_keys
from voltlane.web.context import current_tenant, web_state

CALLER_STATE_KEY = "voltlane_api_caller"
SECURITY_SCHEME = "apiKey"


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """The API key a request authenticated with (no ORM state)."""

    key_id: uuid.UUID
    name: str

    @property
    def actor(self) -> str:
        """How the audit log and the command log name this caller."""
        return f"api-key:{self.name}"


async def require_api_key(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Refuse the request unless it carries a live key of the host's brand.

    A guard runs before the body is read, so an anonymous caller learns nothing about
    validation. The key is checked in its own short transaction (which also records its
    use), so a failing request still counts as a use and holds no connection meanwhile.
    """
    header = connection.headers.get("authorization")
    if not header:
        raise ApiKeyRequiredError("Send Authorization: Bearer <API key>.")
    tenant = current_tenant(connection)
    async with web_state(connection).database.tenant_transaction(tenant.key) as db_session:
        key = await api_keys.authenticate_api_key(db_session, header)
        caller = ApiCaller(key.id, key.name) if key is not None else None
    if caller is None:
        raise ApiKeyRequiredError("The API key is not valid for this brand.")
    connection.scope.setdefault("state", {})[CALLER_STATE_KEY] = caller


def provide_caller(request: Request[Any, Any, Any]) -> ApiCaller:
    caller = request.scope.get("state", {}).get(CALLER_STATE_KEY)
    if not isinstance(caller, ApiCaller):
        raise ApiKeyRequiredError("Send Authorization: Bearer <API key>.")
    return caller
