"""Every query of settlements, loyalty points and prepaid wallets."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from voltlane.models.tenant import (
    Cdr,
    CdrKind,
    CustomerAccount,
    IdToken,
    LoyaltyEntry,
    LoyaltyKind,
    Payment,
    PaymentPurpose,
    PaymentStatus,
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

    async def lock_account(self, account_id: uuid.UUID) -> CustomerAccount | None:
        """The account, locked until the transaction ends: the lock ``settle`` takes, so a
        debit and a session paid from the wallet never both spend the same balance."""
        return await self.db_session.scalar(
            select(CustomerAccount).where(CustomerAccount.id == account_id).with_for_update()
        )

    async def book_adjustment(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Insert a staff adjustment (the ``wallet_entries`` columns in ``values``) once
        per reference; its id, or None when the reference was booked before."""
        return await self.db_session.scalar(
            insert(WalletEntry)
            .values(id=uuid.uuid4(), kind=WalletKind.ADJUSTMENT, **values)
            .on_conflict_do_nothing(index_elements=["kind", "reference"])
            .returning(WalletEntry.id)
        )

    async def wallet_entry(self, kind: WalletKind, reference: uuid.UUID) -> WalletEntry | None:
        return await self.db_session.scalar(
            select(WalletEntry)
            .where(WalletEntry.kind == kind, WalletEntry.reference == reference)
            .execution_options(populate_existing=True)
        )

    async def wallet_entries(self, account_id: uuid.UUID, limit: int) -> list[WalletEntry]:
        return list(
            await self.db_session.scalars(
                select(WalletEntry)
                .where(WalletEntry.account_id == account_id)
                .order_by(WalletEntry.created_at.desc(), WalletEntry.id)
                .limit(limit)
            )
        )

    # -- what is still owed ----------------------------------------------------------------
    async def outstanding_by_customer(self, *, limit: int, offset: int) -> list[tuple[Any, ...]]:
        """Per customer account (None: ad-hoc drivers) and currency, the settled sessions
        not paid in full and not credited: how many, what they still owe in all, split by
        where the money is (at the PSP: a capture still to come or retried after an outage;
        a failed payment; nothing to capture, so a transfer), and when the oldest started.
        What a CDR cost above its hold is where its shortfall payment is (a guest's, with
        no card to charge: failed). The largest debt first."""
        credit = aliased(Cdr)
        shortfall = aliased(Payment)
        owed = (
            SessionSettlement.amount_due
            - func.coalesce(Payment.amount_captured, 0)
            - func.coalesce(shortfall.amount_captured, 0)
        )
        status = func.coalesce(shortfall.status, Payment.status)

        def part(statuses: list[PaymentStatus] | None) -> Any:
            matches = Payment.id.is_(None) if statuses is None else status.in_(statuses)
            return func.coalesce(func.sum(case((matches, owed), else_=0)), 0)

        at_psp = [
            PaymentStatus.PENDING,
            PaymentStatus.REQUIRES_ACTION,
            PaymentStatus.AUTHORIZED,
            PaymentStatus.OUTSTANDING,
        ]
        total = func.sum(owed)
        rows = await self.db_session.execute(
            select(
                SessionSettlement.account_id,
                CustomerAccount.name,
                CustomerAccount.email,
                Cdr.currency,
                func.count(),
                total,
                part(at_psp),
                part([PaymentStatus.FAILED]),
                total - part(at_psp) - part([PaymentStatus.FAILED]),
                func.min(Cdr.start_date_time),
            )
            .join(Cdr, Cdr.id == SessionSettlement.cdr_id)
            .outerjoin(Payment, Payment.session_id == Cdr.session_id)
            .outerjoin(
                shortfall,
                and_(shortfall.cdr_id == Cdr.id, shortfall.purpose == PaymentPurpose.SHORTFALL),
            )
            .outerjoin(CustomerAccount, CustomerAccount.id == SessionSettlement.account_id)
            .where(
                Cdr.kind == CdrKind.CDR,
                owed > 0,
                ~exists().where(credit.credit_of == Cdr.id),
            )
            .group_by(
                SessionSettlement.account_id,
                CustomerAccount.name,
                CustomerAccount.email,
                Cdr.currency,
            )
            .order_by(total.desc(), CustomerAccount.name.nulls_last(), Cdr.currency)
            .limit(limit)
            .offset(offset)
        )
        return [tuple(row) for row in rows.all()]
