"""Queries of the back office over customer accounts: searching them, their contract tariffs."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import AccountKind, CustomerAccount, IdToken, TariffVersion
from voltlane.tariff import SegmentKind


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account with the number of cards billed to it."""

    account: CustomerAccount
    cards: int


class AccountRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    async def search(
        self, *, kind: AccountKind, text: str | None, limit: int, offset: int
    ) -> list[AccountRow]:
        """Accounts of ``kind`` whose name or e-mail contains ``text`` (any case), by name,
        each with its number of cards."""
        cards = (
            select(func.count(IdToken.id))
            .where(IdToken.account_id == CustomerAccount.id)
            .scalar_subquery()
        )
        stmt = select(CustomerAccount, cards).where(CustomerAccount.kind == kind)
        if text:
            stmt = stmt.where(
                or_(
                    CustomerAccount.name.icontains(text, autoescape=True),
                    CustomerAccount.email.icontains(text, autoescape=True),
                )
            )
        rows = await self.db_session.execute(
            stmt.order_by(func.lower(CustomerAccount.name), CustomerAccount.id)
            .limit(limit)
            .offset(offset)
        )
        return [AccountRow(account, int(count)) for account, count in rows]

    async def contracts(self) -> list[str]:
        """The fleet contracts that have tariffs of their own (segment FLEET with a ref)."""
        rows = await self.db_session.scalars(
            select(TariffVersion.segment_ref)
            .distinct()
            .where(
                TariffVersion.segment == SegmentKind.FLEET.value,
                TariffVersion.segment_ref.is_not(None),
            )
            .order_by(TariffVersion.segment_ref)
        )
        return [ref for ref in rows if ref is not None]

    async def contract_tariffs(self, contract: str) -> list[TariffVersion]:
        """The tariff versions of segment FLEET:``contract``, by code and age."""
        rows = await self.db_session.scalars(
            select(TariffVersion)
            .where(
                TariffVersion.segment == SegmentKind.FLEET.value,
                TariffVersion.segment_ref == contract,
            )
            .order_by(TariffVersion.code, TariffVersion.created_at)
        )
        return list(rows)
