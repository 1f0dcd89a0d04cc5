"""Reading the brand's audit log (written by ``service.audit`` and ``service.audit_staff``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.identity.repository import IdentityRepository
from voltlane.models.tenant import AuditEntry


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Entries by actor e-mail (part of it), action (its start, e.g. ``fleet.card``),
    entity (its kind or its id) and time [since, until); None matches all."""

    actor: str | None = None
    action: str | None = None
    entity: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def list_audit(
    db_session: AsyncSession, filters: AuditFilter, *, limit: int, offset: int
) -> list[AuditEntry]:
    """The brand's audit entries matching ``filters``, newest first."""
    return await IdentityRepository(db_session).audit_entries(
        actor=filters.actor,
        action=filters.action,
        entity=filters.entity,
        since=filters.since,
        until=filters.until,
        limit=limit,
        offset=offset,
    )
