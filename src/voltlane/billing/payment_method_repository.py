"""Every query of the cards drivers saved through their brand's PSP."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import CustomerAccount, StoredPaymentMethod


class PaymentMethodRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    def add(self, row: StoredPaymentMethod) -> None:
        self.db_session.add(row)

    async def lock_account(self, account_id: uuid.UUID) -> CustomerAccount | None:
        """The account, locked: its cards change one request at a time, so it never has two
        defaults nor none while it has cards."""
        return await self.db_session.get(CustomerAccount, account_id, with_for_update=True)

    async def methods_of(self, account_id: uuid.UUID) -> list[StoredPaymentMethod]:
        """The account's cards: the default first, then the newest."""
        return list(
            await self.db_session.scalars(
                select(StoredPaymentMethod)
                .where(StoredPaymentMethod.account_id == account_id)
                .order_by(
                    StoredPaymentMethod.is_default.desc(),
                    StoredPaymentMethod.created_at.desc(),
                    StoredPaymentMethod.id,
                )
            )
        )

    async def method_of(
        self, account_id: uuid.UUID, method_id: uuid.UUID
    ) -> StoredPaymentMethod | None:
        return await self.db_session.scalar(
            select(StoredPaymentMethod).where(
                StoredPaymentMethod.id == method_id,
                StoredPaymentMethod.account_id == account_id,
            )
        )

    async def by_reference(self, provider: str, reference: str) -> StoredPaymentMethod | None:
        return await self.db_session.scalar(
            select(StoredPaymentMethod).where(
                StoredPaymentMethod.provider == provider,
                StoredPaymentMethod.payment_method_ref == reference,
            )
        )

    async def default_of(self, account_id: uuid.UUID) -> StoredPaymentMethod | None:
        return await self.db_session.scalar(
            select(StoredPaymentMethod).where(
                StoredPaymentMethod.account_id == account_id,
                StoredPaymentMethod.is_default.is_(True),
            )
        )

    async def customer_of(self, account_id: uuid.UUID, provider: str) -> str | None:
        """The PSP customer the account's newest card of ``provider`` belongs to."""
        return await self.db_session.scalar(
            select(StoredPaymentMethod.customer_ref)
            .where(
                StoredPaymentMethod.account_id == account_id,
                StoredPaymentMethod.provider == provider,
                StoredPaymentMethod.customer_ref.is_not(None),
            )
            .order_by(StoredPaymentMethod.created_at.desc())
            .limit(1)
        )

    async def clear_default(self, account_id: uuid.UUID) -> None:
        # Its own statement, flushed before the new default is set: the partial unique
        # index allows one default per account at any moment.
        await self.db_session.execute(
            update(StoredPaymentMethod)
            .where(
                StoredPaymentMethod.account_id == account_id,
                StoredPaymentMethod.is_default.is_(True),
            )
            .values(is_default=False)
            .execution_options(synchronize_session="fetch")
        )

    async def delete(self, method: StoredPaymentMethod) -> None:
        await self.db_session.execute(
            delete(StoredPaymentMethod).where(StoredPaymentMethod.id == method.id)
        )
