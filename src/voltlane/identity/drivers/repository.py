"""Every query of driver identity: logins, sessions, e-mail links, and what a driver's
account pages read of the brand's records (their sessions, receipts and cards)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import (
    AuditEntry,
    Cdr,
    CdrKind,
    ChargeRequest,
    ChargingSession,
    ChargingStation,
    CustomerAccount,
    DriverEmailLink,
    DriverLogin,
    DriverSession,
    DunningState,
    EmailLinkPurpose,
    IdToken,
    IdTokenType,
    Invoice,
    InvoiceKind,
    Location,
    Notification,
    Payment,
    PushSubscription,
    StoredPaymentMethod,
)

RFID_TYPES = (IdTokenType.ISO14443, IdTokenType.ISO15693)


def _token_of(session: Any) -> Any:
    """The id token row a charging session (or CDR) was started with."""
    return and_(IdToken.id_token == session.id_token, IdToken.type == session.id_token_type)


class DriverRepository:
    def __init__(self, db_session: AsyncSession) -> None:
        self.db_session = db_session

    def add(self, row: object) -> None:
        self.db_session.add(row)

    # -- logins and accounts -------------------------------------------------------------
    async def login_by_email(self, email: str) -> DriverLogin | None:
        return await self.db_session.scalar(select(DriverLogin).where(DriverLogin.email == email))

    async def login_by_oidc(self, provider: str, subject: str) -> DriverLogin | None:
        return await self.db_session.scalar(
            select(DriverLogin).where(
                DriverLogin.oidc_provider == provider, DriverLogin.oidc_subject == subject
            )
        )

    async def login(self, login_id: uuid.UUID) -> DriverLogin | None:
        return await self.db_session.get(DriverLogin, login_id)

    async def account(self, account_id: uuid.UUID) -> CustomerAccount | None:
        return await self.db_session.get(CustomerAccount, account_id)

    async def delete_login(self, login: DriverLogin) -> None:
        await self.db_session.delete(login)

    # -- sessions --------------------------------------------------------------------------
    async def session_with_login(
        self, token_hash: str, now: datetime
    ) -> tuple[DriverSession, DriverLogin, CustomerAccount] | None:
        row = (
            await self.db_session.execute(
                select(DriverSession, DriverLogin, CustomerAccount)
                .join(DriverLogin, DriverLogin.id == DriverSession.login_id)
                .join(CustomerAccount, CustomerAccount.id == DriverLogin.account_id)
                .where(DriverSession.token_hash == token_hash, DriverSession.expires_at > now)
            )
        ).first()
        return (row[0], row[1], row[2]) if row is not None else None

    async def delete_session(self, token_hash: str) -> None:
        await self.db_session.execute(
            delete(DriverSession).where(DriverSession.token_hash == token_hash)
        )

    async def delete_sessions_of(self, login_id: uuid.UUID) -> None:
        await self.db_session.execute(
            delete(DriverSession).where(DriverSession.login_id == login_id)
        )

    # -- e-mail links ----------------------------------------------------------------------
    async def link(self, token_hash: str) -> DriverEmailLink | None:
        return await self.db_session.get(DriverEmailLink, token_hash)

    async def link_for_update(self, token_hash: str) -> DriverEmailLink | None:
        return await self.db_session.get(DriverEmailLink, token_hash, with_for_update=True)

    async def open_links(
        self, login_id: uuid.UUID, purpose: EmailLinkPurpose, now: datetime
    ) -> list[DriverEmailLink]:
        rows = await self.db_session.scalars(
            select(DriverEmailLink)
            .where(
                DriverEmailLink.login_id == login_id,
                DriverEmailLink.purpose == purpose,
                DriverEmailLink.used_at.is_(None),
                DriverEmailLink.expires_at > now,
            )
            .with_for_update()
        )
        return list(rows)

    async def links_of(self, login_id: uuid.UUID) -> list[DriverEmailLink]:
        rows = await self.db_session.scalars(
            select(DriverEmailLink).where(DriverEmailLink.login_id == login_id)
        )
        return list(rows)

    async def latest_link_at(
        self, login_id: uuid.UUID, purpose: EmailLinkPurpose
    ) -> datetime | None:
        return await self.db_session.scalar(
            select(func.max(DriverEmailLink.created_at)).where(
                DriverEmailLink.login_id == login_id, DriverEmailLink.purpose == purpose
            )
        )

    async def redact_emails(self, kind_references: Sequence[tuple[str, str]], body: str) -> None:
        """Replace the stored body of the outbox e-mails (kind, reference)."""
        if not kind_references:
            return
        await self.db_session.execute(
            update(Notification)
            .where(tuple_(Notification.kind, Notification.reference).in_(kind_references))
            .values(body=body)
        )

    # -- cards -----------------------------------------------------------------------------
    async def cards_of(self, account_id: uuid.UUID) -> list[IdToken]:
        rows = await self.db_session.scalars(
            select(IdToken)
            .where(IdToken.account_id == account_id)
            .order_by(IdToken.created_at, IdToken.id_token)
        )
        return list(rows)

    async def card_of(self, account_id: uuid.UUID, card_id: uuid.UUID) -> IdToken | None:
        return await self.db_session.scalar(
            select(IdToken)
            .where(IdToken.id == card_id, IdToken.account_id == account_id)
            .with_for_update()
        )

    async def rfid_card(self, number: str) -> IdToken | None:
        """The brand's RFID card with this printed number, locked for a claim."""
        return await self.db_session.scalar(
            select(IdToken)
            .where(IdToken.id_token == number, IdToken.type.in_(RFID_TYPES))
            .order_by(IdToken.type)
            .limit(1)
            .with_for_update()
        )

    async def latest_card_action(self, card_id: uuid.UUID) -> str | None:
        return await self.db_session.scalar(
            select(AuditEntry.action)
            .where(AuditEntry.entity == "id_token", AuditEntry.entity_id == str(card_id))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(1)
        )

    async def has_exhausted_dunning(self, card: IdToken) -> bool:
        """A session of the card has a payment whose every retry failed."""
        found = await self.db_session.scalar(
            select(
                exists()
                .where(Payment.session_id == ChargingSession.id)
                .where(Payment.dunning_state == DunningState.EXHAUSTED)
                .where(
                    ChargingSession.id_token == card.id_token,
                    ChargingSession.id_token_type == card.type.value,
                )
            )
        )
        return bool(found)

    async def payment_methods_of(self, account_id: uuid.UUID) -> list[StoredPaymentMethod]:
        rows = await self.db_session.scalars(
            select(StoredPaymentMethod).where(StoredPaymentMethod.account_id == account_id)
        )
        return list(rows)

    async def delete_payment_methods(self, account_id: uuid.UUID) -> None:
        await self.db_session.execute(
            delete(StoredPaymentMethod).where(StoredPaymentMethod.account_id == account_id)
        )

    async def delete_push_subscriptions(self, account_id: uuid.UUID) -> None:
        await self.db_session.execute(
            delete(PushSubscription).where(PushSubscription.account_id == account_id)
        )

    # -- history and receipts ----------------------------------------------------------------
    def _sessions_of(self, account_id: uuid.UUID) -> Any:
        """Sessions billed to the account: by its card, by its app charge, or by a receipt
        issued to it (the receipt stays theirs even if the card moved on)."""
        receipt = and_(
            Invoice.session_id == ChargingSession.id, Invoice.kind == InvoiceKind.RECEIPT
        )
        return (
            select(
                ChargingSession,
                ChargingStation.station_id,
                Location.name,
                Cdr.total_incl_vat,
                Cdr.currency,
                Invoice.id,
                Invoice.total_gross,
                Invoice.paid,
                Invoice.currency,
            )
            .join(ChargingStation, ChargingStation.id == ChargingSession.charging_station_id)
            .outerjoin(Location, Location.id == ChargingStation.location_id)
            .outerjoin(Cdr, and_(Cdr.session_id == ChargingSession.id, Cdr.kind == CdrKind.CDR))
            .outerjoin(Invoice, receipt)
            .where(
                or_(
                    Invoice.account_id == account_id,
                    exists().where(_token_of(ChargingSession), IdToken.account_id == account_id),
                    exists().where(
                        ChargeRequest.session_id == ChargingSession.id,
                        ChargeRequest.account_id == account_id,
                    ),
                )
            )
        )

    async def history(
        self, account_id: uuid.UUID, *, limit: int, offset: int
    ) -> list[tuple[Any, ...]]:
        started = func.coalesce(ChargingSession.started_at, ChargingSession.created_at)
        rows = await self.db_session.execute(
            self._sessions_of(account_id)
            .order_by(started.desc(), ChargingSession.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [tuple(row) for row in rows]

    async def receipt_of(self, account_id: uuid.UUID, invoice_id: uuid.UUID) -> Invoice | None:
        return await self.db_session.scalar(
            select(Invoice).where(
                Invoice.id == invoice_id,
                Invoice.account_id == account_id,
                Invoice.kind.in_((InvoiceKind.RECEIPT, InvoiceKind.CREDIT_NOTE)),
            )
        )

    async def credit_notes_of(self, account_id: uuid.UUID, invoice_id: uuid.UUID) -> list[Invoice]:
        rows = await self.db_session.scalars(
            select(Invoice)
            .where(Invoice.corrects_id == invoice_id, Invoice.account_id == account_id)
            .order_by(Invoice.issued_at)
        )
        return list(rows)
