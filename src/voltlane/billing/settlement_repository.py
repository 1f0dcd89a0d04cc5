"""Every query of settlements, loyalty points and prepaid wallets."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    Cdr,
    CdrKind,
    CustomerAccount,
    IdToken,
    LoyaltyEntry,
    LoyaltyKind,
    SessionSettlement,
    WalletEntry,
    WalletKind,
)


class SettlementRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    def add(self, row: SessionSettlement) -> None:
        self.db_session.add(row)

    async def cdr(self, cdr_id: uuid.UUID) -> Cdr | None:
        return await self.db_session.scalar(
            select(Cdr).where(Cdr.id == cdr_id, Cdr.kind == CdrKind.CDR)
        )

    async def settlement(self, cdr_id: uuid.UUID) -> SessionSettlement | None:
        return await self.db_session.get(SessionSettlement, cdr_id, populate_existing=True)

    async def account_of(self, cdr: Cdr, *, for_update: bool) -> CustomerAccount | None:
        """The account of the CDR's card; locked, its points are spent one session at a
        time."""
        stmt = (
            select(CustomerAccount)
            .join(IdToken, IdToken.account_id == CustomerAccount.id)
            .where(and_(IdToken.id_token == cdr.id_token, IdToken.type == cdr.id_token_type))
        )
        if for_update:
            stmt = stmt.with_for_update(of=CustomerAccount)
        return await self.db_session.scalar(stmt)

    async def points(self, account_id: uuid.UUID) -> int:
        total = await self.db_session.scalar(
            select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
                LoyaltyEntry.account_id == account_id
            )
        )
        return int(total or 0)

    async def points_of(self, account_id: uuid.UUID, kind: LoyaltyKind, cdr_id: uuid.UUID) -> int:
        found = await self.db_session.scalar(
            select(LoyaltyEntry.points).where(
                LoyaltyEntry.account_id == account_id,
                LoyaltyEntry.kind == kind,
                LoyaltyEntry.cdr_id == cdr_id,
            )
        )
        return int(found or 0)

    async def book_points(
        self, account_id: uuid.UUID, kind: LoyaltyKind, points: int, cdr_id: uuid.UUID
    ) -> None:
        await self.db_session.execute(
            insert(LoyaltyEntry)
            .values(id=uuid.uuid4(), account_id=account_id, kind=kind, points=points, cdr_id=cdr_id)
            .on_conflict_do_nothing(index_elements=["kind", "cdr_id"])
        )

    async def entries(self, account_id: uuid.UUID, limit: int) -> list[LoyaltyEntry]:
        return list(
            await self.db_session.scalars(
                select(LoyaltyEntry)
                .where(LoyaltyEntry.account_id == account_id)
                .order_by(LoyaltyEntry.created_at.desc(), LoyaltyEntry.id)
                .limit(limit)
            )
        )

    # -- wallet ----------------------------------------------------------------------------
    async def wallet_balance(self, account_id: uuid.UUID, currency: str) -> int:
        total = await self.db_session.scalar(
            select(func.coalesce(func.sum(WalletEntry.amount), 0)).where(
                WalletEntry.account_id == account_id, WalletEntry.currency == currency
            )
        )
        return int(total or 0)

    async def book_wallet(
        self,
        account_id: uuid.UUID,
        kind: WalletKind,
        amount: int,
        currency: str,
        reference: uuid.UUID,
    ) -> bool:
        """Move the wallet once per (kind, reference); False when it was moved before."""
        moved = await self.db_session.scalar(
            insert(WalletEntry)
            .values(
                id=uuid.uuid4(),
                account_id=account_id,
                kind=kind,
                amount=amount,
                currency=currency,
                reference=reference,
            )
            .on_conflict_do_nothing(index_elements=["kind", "reference"])
            .returning(WalletEntry.id)
        )
        return moved is not None

    async def wallet_entries(self, account_id: uuid.UUID, limit: int) -> list[WalletEntry]:
        return list(
            await self.db_session.scalars(
                select(WalletEntry)
                .where(WalletEntry.account_id == account_id)
                .order_by(WalletEntry.created_at.desc(), WalletEntry.id)
                .limit(limit)
            )
        )
