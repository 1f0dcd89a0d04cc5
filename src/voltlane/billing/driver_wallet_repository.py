"""Queries of a driver's own money pages: wallet and loyalty movements a page at a time,
the driver's own top-ups."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import LoyaltyEntry, Payment, PaymentPurpose, WalletEntry


class DriverWalletRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def wallet_entries(
        self, account_id: uuid.UUID, currency: str, *, limit: int, offset: int
    ) -> list[WalletEntry]:
        return list(
            await self.db_session.scalars(
                select(WalletEntry)
                .where(WalletEntry.account_id == account_id, WalletEntry.currency == currency)
                .order_by(WalletEntry.created_at.desc(), WalletEntry.id)
                .limit(limit)
                .offset(offset)
            )
        )

    async def loyalty_entries(
        self, account_id: uuid.UUID, *, limit: int, offset: int
    ) -> list[LoyaltyEntry]:
        return list(
            await self.db_session.scalars(
                select(LoyaltyEntry)
                .where(LoyaltyEntry.account_id == account_id)
                .order_by(LoyaltyEntry.created_at.desc(), LoyaltyEntry.id)
                .limit(limit)
                .offset(offset)
            )
        )

    async def top_up(self, account_id: uuid.UUID, payment_id: uuid.UUID) -> Payment | None:
        """The account's own top-up ``payment_id`` (None for any other payment)."""
        return await self.db_session.scalar(
            select(Payment)
            .where(
                Payment.id == payment_id,
                Payment.account_id == account_id,
                Payment.purpose == PaymentPurpose.WALLET_TOPUP,
            )
            .execution_options(populate_existing=True)
        )
