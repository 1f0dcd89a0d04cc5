"""Settling roaming sessions with the partner: the partner, not its driver, pays for them.

A partner gets its settlement account (a CustomerAccount of kind PARTNER, invoiced monthly)
with its first roaming CDR; billing then bills every CDR of a session authorized with one of
the partner's tokens to that account (``billing.invoice_repository``), on the monthly
statement with the same machinery as fleets. Such sessions never get a driver's receipt or
a card capture. Staff complete the account's address and VAT id in the portal.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.accounts import AccountCreate, create_account
from voltlane.models.tenant import (
    AccountKind,
    Cdr,
    ChargingSession,
    Invoicing,
    OcpiPartner,
    OcpiToken,
)

STATEMENT_LOCALE = "en_GB"


async def open_settlement_accounts(db_session: AsyncSession) -> int:
    """Give every partner with a roaming CDR and no settlement account one; returns how
    many were opened. The partner rows are locked, so two runs open one account."""
    has_cdr = (
        select(Cdr.id)
        .join(ChargingSession, ChargingSession.id == Cdr.session_id)
        .join(OcpiToken, OcpiToken.id == ChargingSession.roaming_token_id)
        .where(OcpiToken.partner_id == OcpiPartner.id)
    )
    partners = await db_session.scalars(
        select(OcpiPartner)
        .where(
            OcpiPartner.account_id.is_(None),
            OcpiPartner.country_code.is_not(None),
            has_cdr.exists(),
        )
        .order_by(OcpiPartner.id)
        .with_for_update()
    )
    opened = 0
    for partner in partners:
        assert partner.country_code is not None
        account = await create_account(
            db_session,
            AccountCreate(
                kind=AccountKind.PARTNER,
                name=partner.name,
                locale=STATEMENT_LOCALE,
                country=partner.country_code,
                invoicing=Invoicing.MONTHLY,
            ),
        )
        partner.account_id = account.id
        opened += 1
    return opened
