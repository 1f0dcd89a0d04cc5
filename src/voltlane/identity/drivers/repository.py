"""Every query of driver identity."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import CustomerAccount, DriverLogin, DriverSession


class DriverRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def login_by_email(self, email: str) -> DriverLogin | None:
        return await self.db_session.scalar(select(DriverLogin).where(DriverLogin.email == email))

    async def login(self, login_id: uuid.UUID) -> DriverLogin | None:
        return await self.db_session.get(DriverLogin, login_id)

    async def account(self, account_id: uuid.UUID) -> CustomerAccount | None:
        return await self.db_session.get(CustomerAccount, account_id)

    async def session_with_login(
        self, token_hash: str, now: datetime
    ) -> tuple[DriverSession, DriverLogin, CustomerAccount] | None:
        row = (
            await self.db_session.execute(
                select(DriverSession, DriverLogin, CustomerAccount)
                .join(DriverLogin, DriverLogin.id == DriverSession.login_id)
                .join(CustomerAccount, CustomerAccount.id == DriverLogin.account_id)
                .where(DriverSession.token_hash == token_hash, DriverSession.expires_at > now)
            )
        ).first()
        return (row[0], row[1], row[2]) if row is not None else None

    async def delete_session(self, token_hash: str) -> None:
        await self.db_session.execute(
            delete(DriverSession).where(DriverSession.token_hash == token_hash)
        )

    async def delete_sessions_of(self, login_id: uuid.UUID) -> None:
        await self.db_session.execute(
            delete(DriverSession).where(DriverSession.login_id == login_id)
        )
