"""Customer accounts: billing details, prepaid wallets, loyalty points."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import UNSET, Meta, UnsetType
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.api.auth import ApiCaller
from voltlane.api.common import DEFAULT_LIMIT, Limit, Offset, audit, given
from voltlane.api.payments import PaymentRead
from voltlane.billing import accounts, payments, settlement
from voltlane.billing.providers import provider_for
from voltlane.core.db import Database
from voltlane.models.tenant import AccountKind, CustomerAccount, Invoicing
from voltlane.web.context import current_tenant

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]
LocaleTag = Annotated[str, Meta(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$", max_length=16)]
Country = Annotated[str, Meta(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Street = Annotated[str, Meta(min_length=1, max_length=200)]
PostalCode = Annotated[str, Meta(min_length=1, max_length=20)]
City = Annotated[str, Meta(min_length=1, max_length=100)]
VatId = Annotated[str, Meta(pattern=r"^[A-Z]{2}[A-Za-z0-9+*.]{2,30}$")]
Reference = Annotated[str, Meta(min_length=1, max_length=100)]
Contract = Annotated[
    str, Meta(min_length=1, max_length=64, description="Tariffs of segment FLEET with this ref")
]
Terms = Annotated[int, Meta(ge=0, le=120, description="Days from the invoice date")]


class AccountCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    kind: AccountKind
    name: Name
    locale: LocaleTag
    country: Country
    invoicing: Invoicing = Invoicing.PER_SESSION
    email: Email | None = None
    street: Street | None = None
    street2: Street | None = None
    postal_code: PostalCode | None = None
    city: City | None = None
    vat_id: VatId | None = None
    buyer_reference: Reference | None = None
    payment_terms_days: Terms = 14
    redeem_points: bool = False
    contract: Contract | None = None


class AccountUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Fields left out keep their value; documents issued before keep what they print."""

    name: Name | UnsetType = UNSET
    locale: LocaleTag | UnsetType = UNSET
    country: Country | UnsetType = UNSET
    invoicing: Invoicing | UnsetType = UNSET
    email: Email | UnsetType | None = UNSET
    street: Street | UnsetType | None = UNSET
    street2: Street | UnsetType | None = UNSET
    postal_code: PostalCode | UnsetType | None = UNSET
    city: City | UnsetType | None = UNSET
    vat_id: VatId | UnsetType | None = UNSET
    buyer_reference: Reference | UnsetType | None = UNSET
    payment_terms_days: Terms | UnsetType = UNSET
    redeem_points: bool | UnsetType = UNSET
    contract: Contract | UnsetType | None = UNSET


class AccountRead(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    kind: AccountKind
    name: str
    locale: str
    country: str
    invoicing: Invoicing
    email: str | None
    street: str | None
    street2: str | None
    postal_code: str | None
    city: str | None
    vat_id: str | None
    buyer_reference: str | None
    payment_terms_days: int
    redeem_points: bool
    contract: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, a: CustomerAccount) -> AccountRead:
        return cls(
            id=a.id,
            kind=a.kind,
            name=a.name,
            locale=a.locale,
            country=a.country,
            invoicing=a.invoicing,
            email=a.email,
            street=a.street,
            street2=a.street2,
            postal_code=a.postal_code,
            city=a.city,
            vat_id=a.vat_id,
            buyer_reference=a.buyer_reference,
            payment_terms_days=a.payment_terms_days,
            redeem_points=a.redeem_points,
            contract=a.contract,
            created_at=a.created_at,
            updated_at=a.updated_at,
        )


class AccountPage(msgspec.Struct):
    items: list[AccountRead]
    total: int


class WalletEntryRead(msgspec.Struct, kw_only=True):
    kind: str
    amount: int  # minor units: + top-up, - a session paid
    reference: uuid.UUID  # the top-up payment or the CDR
    created_at: datetime


class WalletRead(msgspec.Struct, kw_only=True):
    currency: str
    balance: int
    entries: list[WalletEntryRead]  # newest first


class TopUpCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    amount: Annotated[int, Meta(gt=0, le=1_000_000, description="Minor units")]
    payment_method: Annotated[str, Meta(min_length=1, max_length=255)]
    customer: Annotated[str, Meta(min_length=1, max_length=255)] | None = None


class LoyaltyEntryRead(msgspec.Struct, kw_only=True):
    kind: str
    points: int
    cdr_id: uuid.UUID | None
    created_at: datetime


class LoyaltyRead(msgspec.Struct, kw_only=True):
    balance: int
    entries: list[LoyaltyEntryRead]  # newest first


class CustomerAccountController(Controller):
    path = "/customer-accounts"
    tags = ["Invoicing"]

    @post("/", summary="Add a driver or fleet account that cards are billed to")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        data: JSONBody[AccountCreate],
    ) -> AccountRead:
        account = await accounts.create_account(
            db_session, accounts.AccountCreate(**msgspec.structs.asdict(data))
        )
        await audit(
            db_session,
            request,
            caller,
            action="api.customer_account.create",
            entity="customer_account",
            entity_id=account.id,
            detail={"kind": account.kind.value, "invoicing": account.invoicing.value},
        )
        return AccountRead.of(account)

    @get("/", summary="List customer accounts")
    async def list_(
        self,
        db_session: NamedDependency[AsyncSession],
        kind: FromQuery[AccountKind | None] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> AccountPage:
        rows, total = await accounts.list_accounts(
            db_session, kind=kind, limit=limit, offset=offset
        )
        return AccountPage([AccountRead.of(a) for a in rows], total)

    @get("/{account_id:uuid}", summary="Get a customer account")
    async def get_one(
        self, db_session: NamedDependency[AsyncSession], account_id: FromPath[uuid.UUID]
    ) -> AccountRead:
        return AccountRead.of(await accounts.get_account(db_session, account_id))

    @patch("/{account_id:uuid}", summary="Change an account's billing details")
    async def update(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        account_id: FromPath[uuid.UUID],
        data: JSONBody[AccountUpdate],
    ) -> AccountRead:
        account = await accounts.update_account(
            db_session, account_id, accounts.AccountUpdate(**given(data))
        )
        await audit(
            db_session,
            request,
            caller,
            action="api.customer_account.update",
            entity="customer_account",
            entity_id=account.id,
            detail={"changes": sorted(given(data))},
        )
        return AccountRead.of(account)

    @get("/{account_id:uuid}/loyalty", summary="An account's loyalty points and latest moves")
    async def loyalty(
        self,
        db_session: NamedDependency[AsyncSession],
        account_id: FromPath[uuid.UUID],
        limit: Limit = DEFAULT_LIMIT,
    ) -> LoyaltyRead:
        await accounts.get_account(db_session, account_id)
        balance, entries = await settlement.loyalty_of(db_session, account_id, limit=limit)
        return LoyaltyRead(
            balance=balance,
            entries=[
                LoyaltyEntryRead(
                    kind=e.kind.value, points=e.points, cdr_id=e.cdr_id, created_at=e.created_at
                )
                for e in entries
            ],
        )

    @get("/{account_id:uuid}/wallet", summary="An account's prepaid balance and latest moves")
    async def wallet(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        account_id: FromPath[uuid.UUID],
        limit: Limit = DEFAULT_LIMIT,
    ) -> WalletRead:
        await accounts.get_account(db_session, account_id)
        currency = current_tenant(request).currency
        balance, entries = await settlement.wallet_of(db_session, account_id, currency, limit=limit)
        return WalletRead(
            currency=currency,
            balance=balance,
            entries=[
                WalletEntryRead(
                    kind=e.kind.value,
                    amount=e.amount,
                    reference=e.reference,
                    created_at=e.created_at,
                )
                for e in entries
            ],
        )

    @post(
        "/{account_id:uuid}/wallet/top-ups",
        summary="Top up the prepaid wallet through the brand's PSP",
    )
    async def top_up(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        caller: NamedDependency[ApiCaller],
        account_id: FromPath[uuid.UUID],
        data: JSONBody[TopUpCreate],
    ) -> PaymentRead:
        brand = current_tenant(request)
        await accounts.get_account(db_session, account_id)
        database: Database = db_session.info["database"]
        # Its own transactions: the idempotency key is committed before the PSP call.
        payment = await payments.top_up_wallet(
            database,
            brand.key,
            account_id,
            provider=provider_for(brand),
            amount=data.amount,
            currency=brand.currency,
            payment_method=data.payment_method,
            customer=data.customer,
        )
        # Read back what the top-up's own transactions committed.
        db_session.expire_all()
        topped_up = await payments.get_payment(db_session, payment.id)
        await audit(
            db_session,
            request,
            caller,
            action="api.wallet.top_up",
            entity="payment",
            entity_id=topped_up.id,
            detail={"amount": data.amount, "status": topped_up.status.value},
        )
        return PaymentRead.of(topped_up)
