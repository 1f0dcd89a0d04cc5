"""Every query of payments: payments, their PSP operations, webhook events."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    Cdr,
    CdrKind,
    ChargingSession,
    OperationKind,
    OperationState,
    Payment,
    PaymentOperation,
    PaymentStatus,
    WebhookEvent,
)


class PaymentRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    def add(self, row: Payment | PaymentOperation) -> None:
        self.db_session.add(row)

    async def session_exists(self, session_id: uuid.UUID) -> bool:
        found = await self.db_session.scalar(
            select(ChargingSession.id).where(ChargingSession.id == session_id)
        )
        return found is not None

    async def cdr(self, cdr_id: uuid.UUID) -> Cdr | None:
        return await self.db_session.scalar(
            select(Cdr).where(Cdr.id == cdr_id, Cdr.kind == CdrKind.CDR)
        )

    async def payment(self, payment_id: uuid.UUID, *, for_update: bool = False) -> Payment | None:
        stmt = select(Payment).where(Payment.id == payment_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt)

    async def payments(
        self, *, status: PaymentStatus | None, limit: int, offset: int
    ) -> tuple[list[Payment], int]:
        stmt = select(Payment)
        if status is not None:
            stmt = stmt.where(Payment.status == status)
        total = await self.db_session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.db_session.scalars(
            stmt.order_by(Payment.created_at, Payment.id).limit(limit).offset(offset)
        )
        return list(rows), int(total or 0)

    async def capturable(self, limit: int) -> list[uuid.UUID]:
        """CDR ids whose session's payment is authorized or outstanding: what is owed."""
        rows = await self.db_session.scalars(
            select(Cdr.id)
            .join(Payment, Payment.session_id == Cdr.session_id)
            .where(
                Cdr.kind == CdrKind.CDR,
                Payment.status.in_([PaymentStatus.AUTHORIZED, PaymentStatus.OUTSTANDING]),
            )
            .order_by(Cdr.number)
            .limit(limit)
        )
        return list(rows)

    async def payment_of_session(
        self, session_id: uuid.UUID, *, for_update: bool = False
    ) -> Payment | None:
        stmt = select(Payment).where(Payment.session_id == session_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt)

    async def payment_by_reference(
        self, provider: str, psp_reference: str, *, for_update: bool = False
    ) -> Payment | None:
        stmt = select(Payment).where(
            Payment.provider == provider, Payment.psp_reference == psp_reference
        )
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt)

    async def open_operation(
        self, payment_id: uuid.UUID, kind: OperationKind, amount: int | None
    ) -> PaymentOperation | None:
        """The latest call of ``kind`` whose outcome is unknown: a retry must reuse its key."""
        return await self.db_session.scalar(
            select(PaymentOperation)
            .where(
                PaymentOperation.payment_id == payment_id,
                PaymentOperation.kind == kind,
                PaymentOperation.amount.is_not_distinct_from(amount),
                PaymentOperation.state.in_([OperationState.PENDING, OperationState.UNKNOWN]),
            )
            .order_by(PaymentOperation.created_at.desc())
            .limit(1)
        )

    async def operation(self, operation_id: uuid.UUID) -> PaymentOperation | None:
        return await self.db_session.get(PaymentOperation, operation_id)

    async def operation_count(self, payment_id: uuid.UUID, kind: OperationKind) -> int:
        found = await self.db_session.scalar(
            select(func.count()).where(
                PaymentOperation.payment_id == payment_id, PaymentOperation.kind == kind
            )
        )
        return int(found or 0)

    async def insert_webhook_event(self, values: dict[str, Any]) -> uuid.UUID | None:
        """Store an event unless the provider sent it before (then None)."""
        return await self.db_session.scalar(
            insert(WebhookEvent)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["provider", "event_id"])
            .returning(WebhookEvent.id)
        )

    async def webhook_event(
        self, event_row_id: uuid.UUID, *, for_update: bool = False
    ) -> WebhookEvent | None:
        stmt = select(WebhookEvent).where(WebhookEvent.id == event_row_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt)
