"""What every resource of the operator API shares: paging, audit, secrets in responses."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.params import QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.identity import service as identity
from voltlane.web.context import client_ip

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size (1-200).")]
Offset = Annotated[int, QueryParameter(ge=0, description="Rows to skip.")]
DEFAULT_LIMIT = 50
# Responses that carry a password once must never be cached on the way.
NO_STORE = {"Cache-Control": "no-store"}


async def audit(
    db_session: AsyncSession,
    request: Request[Any, Any, Any],
    caller: ApiCaller,
    *,
    action: str,
    entity: str,
    entity_id: uuid.UUID | str | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record an API write in the brand's audit log, in the request's transaction."""
    await identity.audit(
        db_session,
        action=action,
        actor_email=caller.actor,
        entity=entity,
        entity_id=entity_id,
        # JSON-safe: decimals, times, ids and enums as their JSON spelling.
        detail=msgspec.to_builtins(detail) if detail else None,
        ip=client_ip(request),
    )


def given(data: msgspec.Struct) -> dict[str, Any]:
    """The fields a PATCH body sets (left-out ones are UNSET)."""
    return {
        field: value
        for field in data.__struct_fields__
        if (value := getattr(data, field)) is not msgspec.UNSET
    }
