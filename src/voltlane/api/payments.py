"""Payments of the brand's drivers: what is outstanding, and refunds."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import Meta
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.common import DEFAULT_LIMIT, Limit, Offset, audit
from voltlane.billing import payments
from voltlane.billing.providers import provider_for
from voltlane.core.db import Database
from voltlane.models.tenant import DunningState, Payment, PaymentPurpose, PaymentStatus
from voltlane.web.context import current_tenant


class PaymentRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    purpose: PaymentPurpose
    session_id: uuid.UUID | None  # a session's payment
    account_id: uuid.UUID | None  # a wallet top-up
    cdr_id: uuid.UUID | None
    provider: str
    currency: str
    amount_authorized: int
    amount_captured: int
    amount_refunded: int
    psp_reference: str | None
    status: PaymentStatus
    attempts: int
    last_error: str | None
    # Dunning of a failed payment: scheduled, recovered or exhausted (the card blocked).
    dunning_state: DunningState | None
    dunning_attempts: int
    next_dunning_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Payment) -> PaymentRead:
        return cls(
            id=p.id,
            purpose=p.purpose,
            session_id=p.session_id,
            account_id=p.account_id,
            cdr_id=p.cdr_id,
            provider=p.provider,
            currency=p.currency,
            amount_authorized=p.amount_authorized,
            amount_captured=p.amount_captured,
            amount_refunded=p.amount_refunded,
            psp_reference=p.psp_reference,
            status=p.status,
            attempts=p.attempts,
            last_error=p.last_error,
            dunning_state=p.dunning_state,
            dunning_attempts=p.dunning_attempts,
            next_dunning_at=p.next_dunning_at,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class PaymentPage(msgspec.Struct):
    items: list[PaymentRead]
    total: int


class RefundCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Minor units; left out: everything captured and not refunded yet."""

    amount: Annotated[int, Meta(ge=1)] | None = None


class PaymentController(Controller):
    path = "/payments"
    tags = ["Payments"]

    @get("/", summary="List payments (status=outstanding: captures the PSP still owes)")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        status: FromQuery[PaymentStatus | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> PaymentPage:
        rows, total = await payments.list_payments(
            db_session, status=status, limit=limit, offset=offset
        )
        return PaymentPage([PaymentRead.of(p) for p in rows], total)

    @get("/{payment_id:uuid}", summary="Get a payment")
    async def get_one(
        self, db_session: NamedDependency[AsyncSession], payment_id: FromPath[uuid.UUID]
    ) -> PaymentRead:
        return PaymentRead.of(await payments.get_payment(db_session, payment_id))

    @post("/{payment_id:uuid}/refund", summary="Refund part or all of a captured payment")
    async def refund(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        payment_id: FromPath[uuid.UUID],
        data: JSONBody[RefundCreate],
    ) -> PaymentRead:
        tenant = current_tenant(request)
        payment = await payments.get_payment(db_session, payment_id)
        amount = data.amount or payment.amount_captured - payment.amount_refunded
        database: Database = db_session.info["database"]
        # Its own transactions: the refund's idempotency key is committed before the PSP call.
        await payments.refund_payment(
            database, tenant.key, payment_id, amount=amount, provider=provider_for(tenant)
        )
        # Read back what the refund's own transaction committed.
        db_session.expire_all()
        refunded = await payments.get_payment(db_session, payment_id)
        await audit(
            db_session,
            request,
            caller,
            action="api.payment.refund",
            entity="payment",
            entity_id=payment_id,
            detail={"amount": amount, "currency": refunded.currency},
        )
        return PaymentRead.of(refunded)
