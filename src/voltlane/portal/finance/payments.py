"""Finance: payments (with their PSP calls and refunds) and failed payments in dunning."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import dunning, payments
from voltlane.billing.invoicing.access import receipt_of_session
from voltlane.billing.payments.sessions import (
    PaymentFilter,
    PaymentRow,
    find_payments,
    payment_details,
)
from voltlane.billing.providers import (
    PaymentsNotConfiguredError,
    ProviderDeclinedError,
    ProviderUnavailableError,
    provider_for,
)
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.core.errors import ValidationError
from voltlane.identity.roles import Permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import DunningState, PaymentPurpose, PaymentStatus
from voltlane.portal.finance.forms import (
    Filters,
    instants,
    list_page,
    parse_amount,
)
from voltlane.portal.pages import Format, PageNumber, audit, read_form, render
from voltlane.web.auth import requires
from voltlane.web.context import current_tenant
from voltlane.web.i18n import N_

FILTERS = ("status", "purpose", "provider", "created_from", "created_to")
PROVIDERS = ("stripe", "adyen")
WRITE = {"writer": Provide(requires(Permission.FINANCE_WRITE))}

COLUMNS = (
    ("id", lambda r: r.payment.id),
    ("created_at", lambda r: r.payment.created_at),
    ("purpose", lambda r: r.payment.purpose),
    ("status", lambda r: r.payment.status),
    ("provider", lambda r: r.payment.provider),
    ("psp_reference", lambda r: r.payment.psp_reference),
    ("customer", lambda r: r.customer),
    ("currency", lambda r: r.payment.currency),
    ("amount_authorized", lambda r: r.payment.amount_authorized),
    ("amount_captured", lambda r: r.payment.amount_captured),
    ("amount_refunded", lambda r: r.payment.amount_refunded),
    ("dunning_state", lambda r: r.payment.dunning_state),
    ("last_error", lambda r: r.payment.last_error),
)
DUNNING_COLUMNS = (
    ("payment_id", lambda r: r.payment.id),
    ("customer", lambda r: r.customer),
    ("card", lambda r: r.card.id_token if r.card else None),
    ("card_blocked", lambda r: "yes" if r.card_blocked else "no"),
    ("status", lambda r: r.payment.status),
    ("dunning_state", lambda r: r.payment.dunning_state),
    ("dunning_attempts", lambda r: r.payment.dunning_attempts),
    ("next_retry_at", lambda r: r.payment.next_dunning_at),
    ("owed", lambda r: r.owed),
    ("currency", lambda r: r.payment.currency),
    ("last_error", lambda r: r.payment.last_error),
)
# What the PSP or the payment's state answers a refund, as a person reads it.
REFUND_REFUSED = {
    ProviderUnavailableError: N_(
        "The payment provider could not be reached. Try again: the refund is sent only once."
    ),
    ProviderDeclinedError: N_("The payment provider declined the refund."),
    PaymentsNotConfiguredError: N_("No payment provider is configured for this brand."),
    payments.PaymentStateError: N_("Only a captured payment can be refunded."),
    # Another refund of the same payment got there first.
    ValidationError: N_("That is more than can be refunded."),
}


def refusal(exc: Exception) -> str:
    return next(message for kind, message in REFUND_REFUSED.items() if isinstance(exc, kind))


class PaymentController(Controller):
    path = "/payments"
    include_in_schema = False
    dependencies = {"reader": Provide(requires(Permission.FINANCE_READ))}

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        filters = Filters.of(request, FILTERS)
        created_from, created_before = instants(
            *filters.days("created_from", "created_to"), current_tenant(request)
        )
        provider = filters.text("provider")
        if provider is not None and provider not in PROVIDERS:
            filters.errors["provider"] = N_("Choose one of the options.")
        where = PaymentFilter(
            status=filters.choice("status", PaymentStatus),
            purpose=filters.choice("purpose", PaymentPurpose),
            provider=provider,
            created_from=created_from,
            created_before=created_before,
        )

        async def fetch(limit: int, offset: int) -> list[PaymentRow]:
            return await find_payments(db_session, where, limit=limit, offset=offset)

        return await list_page(
            request,
            reader,
            tab="payments",
            fetch=fetch,
            columns=COLUMNS,
            page=page,
            fmt=format,
            filters=filters,
            context={
                "statuses": list(PaymentStatus),
                "purposes": list(PaymentPurpose),
                "providers": PROVIDERS,
            },
        )

    @get("/{payment_id:uuid}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        payment_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        return await self._page(request, db_session, reader, payment_id)

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        staff: StaffIdentity,
        payment_id: uuid.UUID,
        *,
        form: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        row, operations = await payment_details(db_session, payment_id)
        session_id = row.payment.session_id
        receipt = await receipt_of_session(db_session, session_id) if session_id else None
        return render(
            request,
            staff,
            "portal/finance/payments/show.html",
            {
                "tab": "payments",
                "row": row,
                "payment": row.payment,
                "operations": operations,
                "receipt": receipt,
                "form": form or {"values": {"amount": ""}, "errors": {}, "error": None},
            },
            status_code=status_code,
        )

    @post("/{payment_id:uuid}/refund", dependencies=WRITE, status_code=303)
    async def refund(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        payment_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        data = await read_form(request)
        raw = data.get("amount", "")
        row, _ = await payment_details(db_session, payment_id)
        errors: dict[str, str] = {}
        amount: int | None = row.refundable
        if raw:
            amount, message = parse_amount(raw, row.payment.currency)
            if message is not None:
                errors["amount"] = message
            elif amount is not None and amount > row.refundable:
                errors["amount"] = N_("That is more than can be refunded.")
        error = None
        if not errors and not row.refundable:
            error = N_("Nothing of this payment is left to refund.")
        if not errors and error is None and amount:
            brand = current_tenant(request)
            database: Database = db_session.info["database"]
            try:
                # Its own transactions: the idempotency key is committed before the PSP call.
                await payments.refund_payment(
                    database, brand.key, payment_id, amount=amount, provider=provider_for(brand)
                )
            except tuple(REFUND_REFUSED) as exc:
                error = refusal(exc)
            else:
                await audit(
                    db_session,
                    request,
                    writer,
                    action="portal.payment.refund",
                    entity="payment",
                    entity_id=payment_id,
                    detail={"amount": amount, "currency": row.payment.currency},
                )
                return Redirect(f"/portal/finance/payments/{payment_id}", status_code=303)
        # Read what the refund's own transactions committed, if anything.
        db_session.expire_all()
        return await self._page(
            request,
            db_session,
            writer,
            payment_id,
            form={"values": {"amount": raw}, "errors": errors, "error": error},
            status_code=502 if error in _PSP_ERRORS else 409 if error else 400,
        )


_PSP_ERRORS = {
    REFUND_REFUSED[ProviderUnavailableError],
    REFUND_REFUSED[ProviderDeclinedError],
}


class DunningController(Controller):
    path = "/dunning"
    include_in_schema = False
    dependencies = {"reader": Provide(requires(Permission.FINANCE_READ))}

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        reader: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        filters = Filters.of(request, ("state",))
        state = filters.choice("state", DunningState)

        async def fetch(limit: int, offset: int) -> list[dunning.DunningRow]:
            return await dunning.find_dunning(db_session, state=state, limit=limit, offset=offset)

        return await list_page(
            request,
            reader,
            tab="dunning",
            fetch=fetch,
            columns=DUNNING_COLUMNS,
            page=page,
            fmt=format,
            filters=filters,
            context={"states": list(DunningState), "queued": request.query_params.get("queued")},
        )

    @post("/{payment_id:uuid}/retry", dependencies=WRITE, status_code=303)
    async def retry(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        writer: NamedDependency[StaffIdentity],
        payment_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        await dunning.retry_now(db_session, current_tenant(request).key, payment_id, now=utcnow())
        await audit(
            db_session,
            request,
            writer,
            action="portal.payment.retry",
            entity="payment",
            entity_id=payment_id,
        )
        return Redirect(f"/portal/finance/dunning?queued={payment_id}", status_code=303)
