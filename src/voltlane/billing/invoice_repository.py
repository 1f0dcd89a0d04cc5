"""Every query of invoicing: customer accounts, billed CDRs, documents and their numbers."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    Cdr,
    CdrKind,
    ChargingSession,
    CustomerAccount,
    Evse,
    IdToken,
    Invoice,
    InvoiceCdr,
    InvoiceCounter,
    InvoiceKind,
    Invoicing,
    Location,
    OcpiPartner,
    OcpiToken,
    Payment,
)
from voltlane.station.published import evse_roams


@dataclass(frozen=True, slots=True)
class BilledCdr:
    """A CDR with who pays for it: the card's account and what a fleet invoice prints."""

    cdr: Cdr
    account_id: uuid.UUID | None
    invoicing: Invoicing | None
    card_label: str | None
    driver: str | None
    vehicle: str | None
    cost_centre: str | None
    location: str | None


_TOKEN_JOIN = and_(IdToken.id_token == Cdr.id_token, IdToken.type == Cdr.id_token_type)
# Who pays for a CDR: for a session authorized with a roaming partner's token, the partner's
# settlement account once the CDR is reported to the partner (it names a location and an
# EVSE partners are told of, as the OCPI cdrs module lists it), else no one yet (it waits,
# whatever card of the brand shares its uid); for any other session, the card's account.
_PAYER = case(
    (ChargingSession.roaming_token_id.is_(None), IdToken.account_id),
    (and_(Cdr.location_id.is_not(None), evse_roams()), OcpiPartner.account_id),
    else_=None,
)


def _with_payer(stmt: Any) -> Any:
    """``stmt`` (over Cdr) joined to the CDR's card, roaming partner and paying account."""
    return (
        stmt.outerjoin(IdToken, _TOKEN_JOIN)
        .outerjoin(ChargingSession, ChargingSession.id == Cdr.session_id)
        .outerjoin(Evse, Evse.id == ChargingSession.evse_pk)
        .outerjoin(OcpiToken, OcpiToken.id == ChargingSession.roaming_token_id)
        .outerjoin(OcpiPartner, OcpiPartner.id == OcpiToken.partner_id)
        .outerjoin(CustomerAccount, CustomerAccount.id == _PAYER)
    )


class InvoiceRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    # -- accounts --------------------------------------------------------------------------
    def add(self, row: CustomerAccount | Invoice) -> None:
        self.db_session.add(row)

    async def account(
        self, account_id: uuid.UUID, *, for_update: bool = False
    ) -> CustomerAccount | None:
        """The account; locked with ``for_update`` so that one invoice run at a time bills it."""
        return await self.db_session.get(CustomerAccount, account_id, with_for_update=for_update)

    async def account_named(self, name: str) -> CustomerAccount | None:
        return await self.db_session.scalar(
            select(CustomerAccount).where(CustomerAccount.name == name).limit(1)
        )

    async def accounts(
        self, *, kind: str | None, limit: int, offset: int
    ) -> tuple[list[CustomerAccount], int]:
        stmt = select(CustomerAccount)
        if kind is not None:
            stmt = stmt.where(CustomerAccount.kind == kind)
        total = await self.db_session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.db_session.scalars(
            stmt.order_by(CustomerAccount.name, CustomerAccount.id).limit(limit).offset(offset)
        )
        return list(rows), int(total or 0)

    async def monthly_accounts_with_unbilled(self, before: datetime) -> list[uuid.UUID]:
        """Monthly-invoiced accounts that have CDRs ended before ``before`` not billed yet."""
        rows = await self.db_session.scalars(
            _with_payer(select(_PAYER).distinct().select_from(Cdr))
            .outerjoin(InvoiceCdr, InvoiceCdr.cdr_id == Cdr.id)
            .where(
                InvoiceCdr.cdr_id.is_(None),
                CustomerAccount.invoicing == Invoicing.MONTHLY,
                Cdr.end_date_time < before,
            )
        )
        return [account_id for account_id in rows if account_id is not None]

    # -- CDRs to bill ----------------------------------------------------------------------
    def _billed_cdrs(self) -> Any:
        return (
            _with_payer(
                select(
                    Cdr,
                    _PAYER,
                    CustomerAccount.invoicing,
                    IdToken.label,
                    IdToken.driver_name,
                    IdToken.vehicle,
                    IdToken.cost_centre,
                    Location.name,
                )
            )
            .outerjoin(Location, Location.id == Cdr.location_id)
            .outerjoin(InvoiceCdr, InvoiceCdr.cdr_id == Cdr.id)
            .where(InvoiceCdr.cdr_id.is_(None))
        )

    @staticmethod
    def _rows(result: Any) -> list[BilledCdr]:
        return [BilledCdr(*row) for row in result]

    async def unbilled(
        self, *, kind: CdrKind, limit: int, per_session: bool = False
    ) -> list[BilledCdr]:
        """CDRs not on any document yet, oldest first, locked so parallel runs skip them;
        with ``per_session`` only those no monthly invoice waits for."""
        stmt = self._billed_cdrs().where(Cdr.kind == kind)
        if per_session:
            stmt = stmt.where(
                or_(
                    CustomerAccount.invoicing.is_(None),
                    CustomerAccount.invoicing != Invoicing.MONTHLY,
                ),
                # A roaming driver's session is settled with the partner, never the driver:
                # it waits for the partner's settlement account.
                ChargingSession.roaming_token_id.is_(None),
            )
        stmt = stmt.order_by(Cdr.number).limit(limit).with_for_update(of=Cdr, skip_locked=True)
        return self._rows(await self.db_session.execute(stmt))

    async def unbilled_by_id(self, cdr_ids: Sequence[uuid.UUID]) -> list[BilledCdr]:
        if not cdr_ids:
            return []
        stmt = self._billed_cdrs().where(Cdr.id.in_(cdr_ids)).order_by(Cdr.number)
        return self._rows(await self.db_session.execute(stmt.with_for_update(of=Cdr)))

    async def unbilled_of_account(self, account_id: uuid.UUID, before: datetime) -> list[BilledCdr]:
        """The account's unbilled CDRs ended before ``before`` (late ones of earlier months
        included: nothing is left behind), locked for this invoice."""
        stmt = (
            self._billed_cdrs()
            .where(account_id == _PAYER, Cdr.end_date_time < before)
            .order_by(Cdr.start_date_time, Cdr.number)
            .with_for_update(of=Cdr)
        )
        return self._rows(await self.db_session.execute(stmt))

    async def cdrs_by_id(self, cdr_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Cdr]:
        if not cdr_ids:
            return {}
        rows = await self.db_session.scalars(select(Cdr).where(Cdr.id.in_(cdr_ids)))
        return {cdr.id: cdr for cdr in rows}

    async def credit_of(self, cdr_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these CDRs have a credit CDR."""
        if not cdr_ids:
            return set()
        rows = await self.db_session.scalars(
            select(Cdr.credit_of).where(Cdr.kind == CdrKind.CREDIT, Cdr.credit_of.in_(cdr_ids))
        )
        return {cdr_id for cdr_id in rows if cdr_id is not None}

    async def documents_of(self, cdr_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID | None]:
        """For each billed CDR, the document it is on (None: settled with no document)."""
        if not cdr_ids:
            return {}
        rows = await self.db_session.execute(
            select(InvoiceCdr.cdr_id, InvoiceCdr.invoice_id).where(InvoiceCdr.cdr_id.in_(cdr_ids))
        )
        return {row[0]: row[1] for row in rows.all()}

    async def cdrs_on(self, invoice_id: uuid.UUID) -> list[Cdr]:
        rows = await self.db_session.scalars(
            select(Cdr)
            .join(InvoiceCdr, InvoiceCdr.cdr_id == Cdr.id)
            .where(InvoiceCdr.invoice_id == invoice_id)
            .order_by(Cdr.number)
        )
        return list(rows)

    async def payments_of(self, session_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Payment]:
        if not session_ids:
            return {}
        rows = await self.db_session.scalars(
            select(Payment).where(Payment.session_id.in_(session_ids))
        )
        return {p.session_id: p for p in rows if p.session_id is not None}

    async def mark_billed(self, cdr_ids: Sequence[uuid.UUID], invoice_id: uuid.UUID | None) -> int:
        """Record the CDRs as billed on ``invoice_id``; how many were not billed before."""
        if not cdr_ids:
            return 0
        result = await self.db_session.execute(
            insert(InvoiceCdr)
            .values([{"cdr_id": cdr_id, "invoice_id": invoice_id} for cdr_id in cdr_ids])
            .on_conflict_do_nothing(index_elements=["cdr_id"])
            .returning(InvoiceCdr.cdr_id)
        )
        return len(result.all())

    # -- documents -------------------------------------------------------------------------
    async def next_number(self, series: str, year: int) -> int:
        """The next number of a series: the counter row stays locked until the transaction
        ends, so numbers are handed out in commit order and a rollback returns its number."""
        result = await self.db_session.execute(
            insert(InvoiceCounter)
            .values(series=series, year=year, last_number=1)
            .on_conflict_do_update(
                index_elements=["series", "year"],
                set_={"last_number": InvoiceCounter.last_number + 1},
            )
            .returning(InvoiceCounter.last_number)
        )
        return int(result.scalar_one())

    async def invoice(self, invoice_id: uuid.UUID) -> Invoice | None:
        return await self.db_session.get(Invoice, invoice_id)

    async def receipt_of_session(self, session_id: uuid.UUID) -> Invoice | None:
        return await self.db_session.scalar(
            select(Invoice).where(
                Invoice.kind == InvoiceKind.RECEIPT, Invoice.session_id == session_id
            )
        )

    async def invoice_of_period(self, account_id: uuid.UUID, period_start: date) -> Invoice | None:
        return await self.db_session.scalar(
            select(Invoice).where(
                Invoice.kind == InvoiceKind.INVOICE,
                Invoice.account_id == account_id,
                Invoice.period_start == period_start,
            )
        )

    async def invoices(
        self,
        *,
        kind: str | None,
        account_id: uuid.UUID | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Invoice], int]:
        stmt = select(Invoice)
        if kind is not None:
            stmt = stmt.where(Invoice.kind == kind)
        if account_id is not None:
            stmt = stmt.where(Invoice.account_id == account_id)
        total = await self.db_session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = await self.db_session.scalars(
            stmt.order_by(Invoice.issued_at.desc(), Invoice.number.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(rows), int(total or 0)

    async def documents_matching(
        self,
        *,
        kind: InvoiceKind | None,
        number: str | None,
        customer: str | None,
        issued_from: date | None,
        issued_to: date | None,
        paid: bool | None,
        overdue_on: date | None = None,
        limit: int,
        offset: int,
    ) -> list[tuple[Invoice, str]]:
        """Documents newest first with the name of their customer (the account's, else the
        buyer printed on the document). ``number`` and ``customer`` match part of the number
        and of that name, case-insensitively; the issue dates are inclusive; ``paid`` False
        keeps receipts and invoices with something left to pay (credit notes pay nothing);
        ``overdue_on`` keeps those whose due date is before that day and are not paid."""
        buyer = Invoice.document["buyer"]["name"].astext
        customer_name = func.coalesce(CustomerAccount.name, buyer)
        stmt = select(Invoice, customer_name).outerjoin(
            CustomerAccount, CustomerAccount.id == Invoice.account_id
        )
        if kind is not None:
            stmt = stmt.where(Invoice.kind == kind)
        if number:
            stmt = stmt.where(Invoice.number.icontains(number, autoescape=True))
        if customer:
            stmt = stmt.where(customer_name.icontains(customer, autoescape=True))
        if issued_from is not None:
            stmt = stmt.where(Invoice.issue_date >= issued_from)
        if issued_to is not None:
            stmt = stmt.where(Invoice.issue_date <= issued_to)
        if paid is True:
            stmt = stmt.where(
                Invoice.kind != InvoiceKind.CREDIT_NOTE, Invoice.paid >= Invoice.total_gross
            )
        elif paid is False:
            stmt = stmt.where(
                Invoice.kind != InvoiceKind.CREDIT_NOTE, Invoice.paid < Invoice.total_gross
            )
        if overdue_on is not None:
            stmt = stmt.where(
                Invoice.kind != InvoiceKind.CREDIT_NOTE,
                Invoice.paid < Invoice.total_gross,
                Invoice.due_date < overdue_on,
            )
        rows = await self.db_session.execute(
            stmt.order_by(Invoice.issued_at.desc(), Invoice.number.desc())
            .limit(limit)
            .offset(offset)
        )
        return [(invoice, name or "") for invoice, name in rows.all()]

    async def credit_notes_of(self, invoice_id: uuid.UUID) -> list[Invoice]:
        """The credit notes that correct a document, oldest first."""
        rows = await self.db_session.scalars(
            select(Invoice)
            .where(Invoice.corrects_id == invoice_id)
            .order_by(Invoice.issued_at, Invoice.number)
        )
        return list(rows)

    async def invoice_periods(self, *, limit: int, offset: int) -> list[tuple[Any, ...]]:
        """The months monthly invoices were issued for, the latest first: per month and
        currency, how many invoices, their total incl. VAT and what has been paid."""
        rows = await self.db_session.execute(
            select(
                Invoice.period_start,
                Invoice.currency,
                func.count(),
                func.sum(Invoice.total_gross),
                func.sum(Invoice.paid),
            )
            .where(Invoice.kind == InvoiceKind.INVOICE)
            .group_by(Invoice.period_start, Invoice.currency)
            .order_by(Invoice.period_start.desc(), Invoice.currency)
            .limit(limit)
            .offset(offset)
        )
        return [tuple(row) for row in rows.all()]
