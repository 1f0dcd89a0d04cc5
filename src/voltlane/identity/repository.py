"""Every query of the identity domain."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.platform import PlatformAdmin
from voltlane.models.tenant import (
    AccountKind,
    AuditEntry,
    CustomerAccount,
    LoginAttempt,
    OperatorUser,
    Role,
    StaffSession,
)


class IdentityRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def user_by_email(self, email: str) -> OperatorUser | None:
        return await self.db_session.scalar(select(OperatorUser).where(OperatorUser.email == email))

    async def is_fleet_account(self, account_id: uuid.UUID) -> bool:
        kind = await self.db_session.scalar(
            select(CustomerAccount.kind).where(CustomerAccount.id == account_id)
        )
        return kind is AccountKind.FLEET

    async def user(self, user_id: uuid.UUID) -> OperatorUser | None:
        return await self.db_session.get(OperatorUser, user_id)

    async def users(self) -> list[OperatorUser]:
        rows = await self.db_session.scalars(select(OperatorUser).order_by(OperatorUser.email))
        return list(rows)

    async def users_with_fleet(
        self, *, limit: int, offset: int
    ) -> list[tuple[OperatorUser, str | None]]:
        """Users by e-mail with the name of the fleet account a fleet manager belongs to."""
        rows = await self.db_session.execute(
            select(OperatorUser, CustomerAccount.name)
            .outerjoin(CustomerAccount, CustomerAccount.id == OperatorUser.fleet_account_id)
            .order_by(OperatorUser.email)
            .limit(limit)
            .offset(offset)
        )
        return [(user, name) for user, name in rows]

    async def active_owners(self) -> int:
        return int(
            await self.db_session.scalar(
                select(func.count())
                .select_from(OperatorUser)
                .where(OperatorUser.role == Role.OWNER, OperatorUser.is_active.is_(True))
            )
            or 0
        )

    async def delete_sessions_of(self, user_id: uuid.UUID) -> None:
        await self.db_session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))

    async def audit_entries(
        self,
        *,
        actor: str | None,
        action: str | None,
        entity: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> list[AuditEntry]:
        """Audit entries newest first: by actor e-mail (substring), action (prefix), entity
        (exact, or its id when it holds one) and time [since, until)."""
        stmt = select(AuditEntry)
        if actor:
            stmt = stmt.where(AuditEntry.actor_email.icontains(actor, autoescape=True))
        if action:
            stmt = stmt.where(AuditEntry.action.startswith(action, autoescape=True))
        if entity:
            stmt = stmt.where(or_(AuditEntry.entity == entity, AuditEntry.entity_id == entity))
        if since is not None:
            stmt = stmt.where(AuditEntry.at >= since)
        if until is not None:
            stmt = stmt.where(AuditEntry.at < until)
        rows = await self.db_session.scalars(
            stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
        )
        return list(rows)

    async def recent_failures(self, *, email: str | None, ip: str | None, since: datetime) -> int:
        stmt = (
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))
        )
        if email is not None:
            stmt = stmt.where(LoginAttempt.email == email)
        if ip is not None:
            stmt = stmt.where(LoginAttempt.ip == ip)
        return int(await self.db_session.scalar(stmt) or 0)

    async def oldest_failure(self, *, email: str, since: datetime) -> datetime | None:
        return await self.db_session.scalar(
            select(func.min(LoginAttempt.at)).where(
                LoginAttempt.email == email,
                LoginAttempt.at >= since,
                LoginAttempt.succeeded.is_(False),
            )
        )

    def add_attempt(self, *, email: str, ip: str | None, succeeded: bool) -> None:
        self.db_session.add(LoginAttempt(email=email, ip=ip, succeeded=succeeded))

    async def session_with_user(
        self, token_hash: str, now: datetime
    ) -> tuple[StaffSession, OperatorUser] | None:
        row = (
            await self.db_session.execute(
                select(StaffSession, OperatorUser)
                .join(OperatorUser, OperatorUser.id == StaffSession.user_id)
                .where(
                    StaffSession.token_hash == token_hash,
                    StaffSession.expires_at > now,
                    OperatorUser.is_active.is_(True),
                )
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    async def delete_session(self, token_hash: str) -> None:
        await self.db_session.execute(
            delete(StaffSession).where(StaffSession.token_hash == token_hash)
        )

    async def delete_expired_sessions(self, now: datetime) -> int:
        result = await self.db_session.execute(
            delete(StaffSession).where(StaffSession.expires_at <= now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def add_audit(self, entry: AuditEntry) -> None:
        self.db_session.add(entry)

    async def admin_by_email(self, email: str) -> PlatformAdmin | None:
        return await self.db_session.scalar(
            select(PlatformAdmin).where(PlatformAdmin.email == email)
        )
