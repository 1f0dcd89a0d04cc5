"""Every query of payments: payments, their PSP operations, webhook events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from voltlane.models.tenant import (
    Cdr,
    CdrKind,
    ChargeRequest,
    ChargingSession,
    CustomerAccount,
    DunningState,
    IdToken,
    Invoice,
    InvoiceKind,
    OperationKind,
    OperationState,
    Payment,
    PaymentOperation,
    PaymentPurpose,
    PaymentStatus,
    SessionSettlement,
    WalletEntry,
    WalletKind,
    WebhookEvent,
)


def _cdr_paid_by(cdr: Any) -> Any:
    """The CDR a payment pays: its session's, or the one a shortfall completes."""
    return and_(
        cdr.kind == CdrKind.CDR,
        or_(
            cdr.session_id == Payment.session_id,
            and_(Payment.purpose == PaymentPurpose.SHORTFALL, cdr.id == Payment.cdr_id),
        ),
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

    async def account_exists(self, account_id: uuid.UUID) -> bool:
        found = await self.db_session.scalar(
            select(CustomerAccount.id).where(CustomerAccount.id == account_id)
        )
        return found is not None

    async def top_ups_to_capture(self, limit: int) -> list[uuid.UUID]:
        """Top-ups authorized (e.g. after 3-D Secure) but not captured, or captured but not
        on the wallet yet (a crash between the two)."""
        credited = exists().where(
            WalletEntry.kind == WalletKind.TOPUP, WalletEntry.reference == Payment.id
        )
        rows = await self.db_session.scalars(
            select(Payment.id)
            .where(
                Payment.purpose == PaymentPurpose.WALLET_TOPUP,
                or_(
                    Payment.status.in_([PaymentStatus.AUTHORIZED, PaymentStatus.OUTSTANDING]),
                    and_(Payment.status == PaymentStatus.CAPTURED, ~credited),
                ),
            )
            .order_by(Payment.created_at)
            .limit(limit)
        )
        return list(rows)

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

    async def charge_request(
        self, charge_request_id: uuid.UUID, *, for_update: bool = False
    ) -> ChargeRequest | None:
        stmt = select(ChargeRequest).where(ChargeRequest.id == charge_request_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.db_session.scalar(stmt)

    async def payment_of_charge_request(
        self, charge_request_id: uuid.UUID, *, for_update: bool = False
    ) -> Payment | None:
        stmt = select(Payment).where(Payment.charge_request_id == charge_request_id)
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

    # -- dunning ---------------------------------------------------------------------------
    async def failed_without_dunning(self, limit: int) -> list[tuple[Payment, Cdr]]:
        """Failed payments (of sessions, or shortfalls) of rated, uncredited sessions that
        still owe money, with a stored card, and that no dunning follows yet, with their
        CDR; locked so that parallel runs skip them."""
        credit = aliased(Cdr)
        rows = await self.db_session.execute(
            select(Payment, Cdr)
            .join(Cdr, _cdr_paid_by(Cdr))
            .where(
                Payment.status == PaymentStatus.FAILED,
                Payment.dunning_state.is_(None),
                Payment.payment_method_ref.is_not(None),
                Cdr.total_incl_vat > Payment.amount_captured,
                ~exists().where(credit.credit_of == Cdr.id),
            )
            .order_by(Payment.created_at)
            .limit(limit)
            .with_for_update(of=Payment, skip_locked=True)
        )
        return [(payment, cdr) for payment, cdr in rows]

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> list[uuid.UUID]:
        """Scheduled retries that are due, claimed by moving them to ``lease_until``: another
        run does not take them, and a run that dies leaves them due again after the lease."""
        due = (
            select(Payment.id)
            .where(Payment.dunning_state == DunningState.SCHEDULED, Payment.next_dunning_at <= now)
            .order_by(Payment.next_dunning_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        rows = await self.db_session.scalars(
            update(Payment)
            .where(Payment.id.in_(due))
            .values(next_dunning_at=lease_until)
            .returning(Payment.id)
        )
        return list(rows)

    async def session_cdr(self, session_id: uuid.UUID) -> Cdr | None:
        return await self.db_session.scalar(
            select(Cdr).where(Cdr.session_id == session_id, Cdr.kind == CdrKind.CDR)
        )

    async def driver_of(
        self, session_id: uuid.UUID
    ) -> tuple[IdToken | None, CustomerAccount | None]:
        """The card a session was started with and the account it is billed to."""
        row = (
            await self.db_session.execute(
                select(IdToken, CustomerAccount)
                .select_from(ChargingSession)
                .join(
                    IdToken,
                    and_(
                        IdToken.id_token == ChargingSession.id_token,
                        IdToken.type == ChargingSession.id_token_type,
                    ),
                )
                .outerjoin(CustomerAccount, CustomerAccount.id == IdToken.account_id)
                .where(ChargingSession.id == session_id)
            )
        ).first()
        return (row[0], row[1]) if row is not None else (None, None)

    async def mark_receipt_paid(self, session_id: uuid.UUID, paid: int) -> None:
        """What has now been paid for a session's receipt (the document itself stays)."""
        await self.db_session.execute(
            update(Invoice)
            .where(Invoice.kind == InvoiceKind.RECEIPT, Invoice.session_id == session_id)
            .values(paid=func.least(Invoice.total_gross, paid))
        )

    # -- the finance back office -----------------------------------------------------------
    def _with_customer(self, *columns: Any) -> Any:
        """Payments with the name of who pays: the account of the session's card (a
        shortfall's: of its CDR's session), or the account a top-up credits, or the account
        that started the charge from the app (None: an ad-hoc driver or a guest)."""
        card_account = aliased(CustomerAccount)
        top_up_account = aliased(CustomerAccount)
        app_account = aliased(CustomerAccount)
        completed = aliased(Cdr)
        name = func.coalesce(top_up_account.name, card_account.name, app_account.name)
        return (
            select(Payment, name, *columns)
            .outerjoin(
                completed,
                and_(Payment.purpose == PaymentPurpose.SHORTFALL, completed.id == Payment.cdr_id),
            )
            .outerjoin(
                ChargingSession,
                ChargingSession.id == func.coalesce(Payment.session_id, completed.session_id),
            )
            .outerjoin(
                IdToken,
                and_(
                    IdToken.id_token == ChargingSession.id_token,
                    IdToken.type == ChargingSession.id_token_type,
                ),
            )
            .outerjoin(card_account, card_account.id == IdToken.account_id)
            .outerjoin(top_up_account, top_up_account.id == Payment.account_id)
            .outerjoin(ChargeRequest, ChargeRequest.id == Payment.charge_request_id)
            .outerjoin(app_account, app_account.id == ChargeRequest.account_id)
        )

    async def payments_matching(
        self,
        *,
        status: PaymentStatus | None,
        purpose: PaymentPurpose | None,
        provider: str | None,
        created_from: datetime | None,
        created_before: datetime | None,
        limit: int,
        offset: int,
    ) -> list[tuple[Payment, str | None]]:
        """Payments newest first with the name of who pays, by status, purpose, provider and
        the time they were made (``created_before`` excluded)."""
        stmt = self._with_customer()
        if status is not None:
            stmt = stmt.where(Payment.status == status)
        if purpose is not None:
            stmt = stmt.where(Payment.purpose == purpose)
        if provider is not None:
            stmt = stmt.where(Payment.provider == provider)
        if created_from is not None:
            stmt = stmt.where(Payment.created_at >= created_from)
        if created_before is not None:
            stmt = stmt.where(Payment.created_at < created_before)
        rows = await self.db_session.execute(
            stmt.order_by(Payment.created_at.desc(), Payment.id).limit(limit).offset(offset)
        )
        return [(payment, name) for payment, name in rows.all()]

    async def payment_with_customer(self, payment_id: uuid.UUID) -> tuple[Payment, str | None]:
        """A payment and the name of who pays (a missing payment raises NoResultFound)."""
        row = (
            await self.db_session.execute(self._with_customer().where(Payment.id == payment_id))
        ).one()
        return row[0], row[1]

    async def operations_of(self, payment_id: uuid.UUID) -> list[PaymentOperation]:
        """Every PSP call of a payment with its idempotency key, in the order they were made."""
        rows = await self.db_session.scalars(
            select(PaymentOperation)
            .where(PaymentOperation.payment_id == payment_id)
            .order_by(PaymentOperation.created_at, PaymentOperation.id)
        )
        return list(rows)

    async def dunning_matching(
        self, *, state: DunningState | None, limit: int, offset: int
    ) -> list[tuple[Payment, str | None, IdToken | None, int]]:
        """Failed session payments and shortfalls and those dunning follows (by
        ``state``), the next retry first: who pays, the card the session was started with,
        and what is still owed (the settlement's amount due, else the CDR's total, less what
        was captured; a shortfall: itself less what was captured)."""
        shortfall = Payment.purpose == PaymentPurpose.SHORTFALL
        owed = (
            case(
                (shortfall, Payment.amount_authorized),
                else_=func.coalesce(SessionSettlement.amount_due, Cdr.total_incl_vat, 0),
            )
            - Payment.amount_captured
        )
        stmt = (
            self._with_customer(IdToken, owed)
            .outerjoin(Cdr, _cdr_paid_by(Cdr))
            .outerjoin(SessionSettlement, SessionSettlement.cdr_id == Cdr.id)
            # A hold declined before its session existed (an app charge that never
            # started) owes nothing: only payments of sessions are followed.
            .where(
                or_(
                    and_(
                        Payment.purpose == PaymentPurpose.SESSION,
                        Payment.session_id.is_not(None),
                    ),
                    shortfall,
                )
            )
        )
        if state is None:
            stmt = stmt.where(
                or_(Payment.dunning_state.is_not(None), Payment.status == PaymentStatus.FAILED)
            )
        else:
            stmt = stmt.where(Payment.dunning_state == state)
        rows = await self.db_session.execute(
            stmt.order_by(
                Payment.next_dunning_at.asc().nulls_last(), Payment.updated_at.desc(), Payment.id
            )
            .limit(limit)
            .offset(offset)
        )
        return [(payment, name, card, int(due)) for payment, name, card, due in rows.all()]

    async def schedule_retry_now(self, payment_id: uuid.UUID, now: datetime) -> bool:
        """Make a scheduled retry due now; False when the payment has none (recovered or
        exhausted). A run that claimed it already sends the same idempotency keys."""
        moved = await self.db_session.scalar(
            update(Payment)
            .where(Payment.id == payment_id, Payment.dunning_state == DunningState.SCHEDULED)
            .values(next_dunning_at=now)
            .returning(Payment.id)
        )
        return moved is not None
