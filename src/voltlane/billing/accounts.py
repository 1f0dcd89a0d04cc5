"""Customer accounts: who pays for a card's sessions and what their documents print."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError
from msgspec import UNSET, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.account_repository import AccountRepository, AccountRow
from voltlane.billing.errors import AccountNotFoundError
from voltlane.billing.invoice_repository import InvoiceRepository
from voltlane.core.errors import ValidationError
from voltlane.models.tenant import AccountKind, CustomerAccount, Invoicing, TariffVersion
from voltlane.station.schemas import changes


class InvalidAccountError(ValidationError):
    title = "Invalid customer account"


@dataclass(frozen=True, slots=True)
class AccountCreate:
    kind: AccountKind
    name: str
    locale: str
    country: str
    invoicing: Invoicing
    email: str | None = None
    street: str | None = None
    street2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    vat_id: str | None = None
    buyer_reference: str | None = None
    payment_terms_days: int = 14
    redeem_points: bool = False
    contract: str | None = None


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """A field left UNSET keeps its value; None clears a nullable one."""

    name: str | UnsetType = UNSET
    locale: str | UnsetType = UNSET
    country: str | UnsetType = UNSET
    invoicing: Invoicing | UnsetType = UNSET
    email: str | UnsetType | None = UNSET
    street: str | UnsetType | None = UNSET
    street2: str | UnsetType | None = UNSET
    postal_code: str | UnsetType | None = UNSET
    city: str | UnsetType | None = UNSET
    vat_id: str | UnsetType | None = UNSET
    buyer_reference: str | UnsetType | None = UNSET
    payment_terms_days: int | UnsetType = UNSET
    redeem_points: bool | UnsetType = UNSET
    contract: str | UnsetType | None = UNSET


def _check_locale(value: object) -> None:
    if not isinstance(value, str):
        return
    try:
        Locale.parse(value)
    except (UnknownLocaleError, ValueError) as exc:
        raise InvalidAccountError(f"locale {value!r} is unknown", field="locale") from exc


async def create_account(db_session: AsyncSession, data: AccountCreate) -> CustomerAccount:
    """Add a driver or fleet account; its cards' sessions are billed to it."""
    _check_locale(data.locale)
    account = CustomerAccount(
        kind=data.kind,
        name=data.name,
        locale=data.locale,
        country=data.country,
        invoicing=data.invoicing,
        email=data.email,
        street=data.street,
        street2=data.street2,
        postal_code=data.postal_code,
        city=data.city,
        vat_id=data.vat_id,
        buyer_reference=data.buyer_reference,
        payment_terms_days=data.payment_terms_days,
        redeem_points=data.redeem_points,
        contract=data.contract,
    )
    InvoiceRepository(db_session).add(account)
    await db_session.flush()
    await db_session.refresh(account)
    return account


async def get_account(db_session: AsyncSession, account_id: uuid.UUID) -> CustomerAccount:
    account = await InvoiceRepository(db_session).account(account_id)
    if account is None:
        raise AccountNotFoundError(f"no customer account {account_id}", field="account_id")
    return account


async def list_accounts(
    db_session: AsyncSession, *, kind: AccountKind | None, limit: int, offset: int
) -> tuple[list[CustomerAccount], int]:
    return await InvoiceRepository(db_session).accounts(kind=kind, limit=limit, offset=offset)


async def update_account(
    db_session: AsyncSession, account_id: uuid.UUID, update: AccountUpdate
) -> CustomerAccount:
    """Change billing details; documents issued before keep what they printed."""
    account = await get_account(db_session, account_id)
    values = changes(update)
    _check_locale(values.get("locale"))
    for field, value in values.items():
        setattr(account, field, value)
    await db_session.flush()
    await db_session.refresh(account)
    return account


async def ensure_account(db_session: AsyncSession, data: AccountCreate) -> CustomerAccount:
    """The account named ``data.name``, created unless it exists (seeding)."""
    existing = await InvoiceRepository(db_session).account_named(data.name)
    return existing if existing is not None else await create_account(db_session, data)


async def search_accounts(
    db_session: AsyncSession, *, kind: AccountKind, text: str | None, limit: int, offset: int
) -> list[AccountRow]:
    """Driver or fleet accounts whose name or e-mail contains ``text`` (any case), by name,
    each with the number of cards billed to it."""
    return await AccountRepository(db_session).search(
        kind=kind, text=text, limit=limit, offset=offset
    )


async def get_account_of_kind(
    db_session: AsyncSession, account_id: uuid.UUID, kind: AccountKind
) -> CustomerAccount:
    """The account ``account_id`` if it is a ``kind`` account (else AccountNotFoundError)."""
    account = await InvoiceRepository(db_session).account(account_id)
    if account is None or account.kind is not kind:
        raise AccountNotFoundError(f"no {kind.value} account {account_id}", field="account_id")
    return account


async def known_contracts(db_session: AsyncSession) -> list[str]:
    """The fleet contracts the brand has tariffs for (segment FLEET:<contract>)."""
    return await AccountRepository(db_session).contracts()


async def contract_tariffs(db_session: AsyncSession, contract: str) -> list[TariffVersion]:
    """The tariff versions that price a contract's sessions (segment FLEET:<contract>)."""
    return await AccountRepository(db_session).contract_tariffs(contract)
