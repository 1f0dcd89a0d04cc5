"""Every query of shortfalls: what a CDR cost above its session's hold, and the stored card
it is charged to."""

from __future__ import annotations

import uuid

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    Cdr,
    ChargeRequest,
    Payment,
    PaymentPurpose,
    PaymentStatus,
    StoredPaymentMethod,
)


class ShortfallRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    def add(self, row: Payment) -> None:
        self.db_session.add(row)

    async def shortfall_of(self, cdr_id: uuid.UUID) -> Payment | None:
        return await self.db_session.scalar(
            select(Payment).where(
                Payment.purpose == PaymentPurpose.SHORTFALL, Payment.cdr_id == cdr_id
            )
        )

    async def is_credited(self, cdr_id: uuid.UUID) -> bool:
        found = await self.db_session.scalar(select(Cdr.id).where(Cdr.credit_of == cdr_id))
        return found is not None

    async def shortfalls_of(self, cdr_ids: list[uuid.UUID]) -> dict[uuid.UUID, Payment]:
        """The shortfall payments of these CDRs, by CDR id."""
        if not cdr_ids:
            return {}
        rows = await self.db_session.scalars(
            select(Payment).where(
                Payment.purpose == PaymentPurpose.SHORTFALL, Payment.cdr_id.in_(cdr_ids)
            )
        )
        return {row.cdr_id: row for row in rows if row.cdr_id is not None}

    async def to_charge(self, limit: int) -> list[uuid.UUID]:
        """Shortfalls with a stored card whose charge has no answer yet (its job gave up)."""
        rows = await self.db_session.scalars(
            select(Payment.id)
            .where(
                Payment.purpose == PaymentPurpose.SHORTFALL,
                Payment.status == PaymentStatus.PENDING,
                Payment.payment_method_ref.is_not(None),
            )
            .order_by(Payment.created_at)
            .limit(limit)
        )
        return list(rows)

    async def account_of_charge(self, charge_request_id: uuid.UUID) -> uuid.UUID | None:
        """The account that started a charge from the app (None: a guest)."""
        return await self.db_session.scalar(
            select(ChargeRequest.account_id).where(ChargeRequest.id == charge_request_id)
        )

    async def stored_method(
        self, account_id: uuid.UUID, provider: str, reference: str | None
    ) -> StoredPaymentMethod | None:
        """The account's stored card ``reference`` at ``provider``, else its default card
        there (None: the account stores no card at that PSP)."""
        mine = and_(
            StoredPaymentMethod.account_id == account_id,
            StoredPaymentMethod.provider == provider,
        )
        if reference is not None:
            found = await self.db_session.scalar(
                select(StoredPaymentMethod).where(
                    mine, StoredPaymentMethod.payment_method_ref == reference
                )
            )
            if found is not None:
                return found
        return await self.db_session.scalar(
            select(StoredPaymentMethod).where(mine, StoredPaymentMethod.is_default.is_(True))
        )
