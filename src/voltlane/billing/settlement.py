"""Settling a session with its driver: loyalty points redeemed as a discount (and earned),
then the prepaid wallet, then the card.

A CDR is what the session cost at the brand's prices; what the driver pays can be less. The
settlement of a CDR is decided once, before anything is captured or receipted, and stored
(``session_settlements``): the PSP capture, the receipt and dunning all read the same amount.

Loyalty (``[loyalty]`` in the tenant file): a driver account earns ``points_per_kwh`` points
per kWh of each session; a driver who chose to redeem points has, once the balance reaches
``min_redeem``, as many points as the session's net amount allows turned into a discount of
``point_value`` each (excl. VAT). The discount is split over the session's VAT rates in
proportion to their net amounts (the engine's ``allocate``) and VAT is computed again on
what remains, by the engine's one VAT rule.

Wallet: what is left is paid from the account's prepaid wallet as far as its balance goes
(``wallet_entries``); ``amount_due`` is the rest, for the card (or a transfer).
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.settlement_repository import SettlementRepository
from voltlane.models.tenant import (
    AccountKind,
    Cdr,
    CdrKind,
    CustomerAccount,
    Invoicing,
    LoyaltyEntry,
    LoyaltyKind,
    Payment,
    SessionSettlement,
    WalletEntry,
    WalletKind,
)
from voltlane.tariff.rounding import allocate, minor_unit_exponent, vat_amount
from voltlane.tenancy import TenantInfo


@dataclass(frozen=True, slots=True)
class LoyaltyPolicy:
    points_per_kwh: int
    point_value: Decimal  # excl. VAT, major units of the brand's currency
    min_redeem: int

    @classmethod
    def of(cls, brand: TenantInfo) -> LoyaltyPolicy | None:
        loyalty = brand.profile.get("loyalty")
        if not isinstance(loyalty, dict):
            return None
        return cls(
            int(loyalty["points_per_kwh"]),
            Decimal(str(loyalty["point_value"])),
            int(loyalty.get("min_redeem") or 1),
        )

    def earned(self, energy_kwh: Decimal) -> int:
        return math.floor(max(energy_kwh, Decimal(0)) * self.points_per_kwh)


@dataclass(frozen=True, slots=True)
class Discount:
    points: int
    net: int
    vat: int
    by_rate: tuple[tuple[str | None, int], ...]  # (VAT rate as on the CDR, net discount)


NO_DISCOUNT = Discount(0, 0, 0, ())


def loyalty_discount(cdr: Cdr, balance: int, policy: LoyaltyPolicy) -> Discount:
    """The discount ``balance`` points buy on ``cdr``: whole points, never more than the
    session's net amount."""
    if balance < policy.min_redeem or cdr.total_excl_vat <= 0 or policy.point_value <= 0:
        return NO_DISCOUNT
    per_point = policy.point_value.scaleb(minor_unit_exponent(cdr.currency))
    points = min(balance, math.floor(Decimal(cdr.total_excl_vat) / per_point))
    net = math.floor(points * per_point)
    if points <= 0 or net <= 0:
        return NO_DISCOUNT
    breakdown = cdr.priced["vat_breakdown"]
    parts = allocate(net, [v["taxable"] for v in breakdown])
    vat = 0
    for v, part in zip(breakdown, parts, strict=True):
        rate = Decimal(v["rate"]) if v["rate"] is not None else None
        vat += v["vat"] - vat_amount(v["taxable"] - part, rate)
    by_rate = tuple((v["rate"], part) for v, part in zip(breakdown, parts, strict=True) if part)
    return Discount(points, net, vat, by_rate)


async def settle(db_session: AsyncSession, brand: TenantInfo, cdr: Cdr) -> SessionSettlement:
    """The CDR's settlement, decided on the first call and returned unchanged after: the
    loyalty discount (points redeemed), what the wallet pays and the amount left due, with
    the ledgers written; the session's points earned are booked with it."""
    repo = SettlementRepository(db_session)
    existing = await repo.settlement(cdr.id)
    if existing is not None:
        return existing
    account = await repo.account_of(cdr, for_update=True)
    existing = await repo.settlement(cdr.id)  # settled while we waited for the account
    if existing is not None:
        return existing
    policy = LoyaltyPolicy.of(brand)
    discount = NO_DISCOUNT
    if policy is not None and _takes_part(account, cdr):
        assert account is not None
        if account.redeem_points:
            discount = loyalty_discount(cdr, await repo.points(account.id), policy)
        if discount.points:
            await repo.book_points(account.id, LoyaltyKind.REDEEM, -discount.points, cdr.id)
        earned = policy.earned(Decimal(cdr.total_energy_kwh))
        if earned:
            await repo.book_points(account.id, LoyaltyKind.EARN, earned, cdr.id)
    to_pay = cdr.total_incl_vat - discount.net - discount.vat
    wallet_paid = 0
    if _takes_part(account, cdr) and to_pay > 0:
        assert account is not None
        balance = await repo.wallet_balance(account.id, cdr.currency)
        wallet_paid = min(max(balance, 0), to_pay)
        if wallet_paid:
            await repo.book_wallet(
                account.id, WalletKind.SESSION, -wallet_paid, cdr.currency, cdr.id
            )
    settlement = SessionSettlement(
        cdr_id=cdr.id,
        account_id=account.id if account is not None else None,
        points_redeemed=discount.points,
        discount_net=discount.net,
        discount_vat=discount.vat,
        wallet_paid=wallet_paid,
        amount_due=to_pay - wallet_paid,
    )
    repo.add(settlement)
    await db_session.flush()
    return settlement


def _takes_part(account: CustomerAccount | None, cdr: Cdr) -> bool:
    """Loyalty and the wallet are for drivers who pay per session (a fleet's invoice has
    neither)."""
    return (
        account is not None
        and account.kind is AccountKind.DRIVER
        and account.invoicing is Invoicing.PER_SESSION
        and cdr.kind is CdrKind.CDR
    )


def discount_of(settlement: SessionSettlement, cdr: Cdr) -> Discount:
    """The settlement's discount per VAT rate (split again the way ``settle`` split it)."""
    if not settlement.discount_net:
        return NO_DISCOUNT
    breakdown = cdr.priced["vat_breakdown"]
    parts = allocate(settlement.discount_net, [v["taxable"] for v in breakdown])
    by_rate = tuple((v["rate"], part) for v, part in zip(breakdown, parts, strict=True) if part)
    return Discount(
        settlement.points_redeemed, settlement.discount_net, settlement.discount_vat, by_rate
    )


async def loyalty_of(
    db_session: AsyncSession, account_id: uuid.UUID, *, limit: int
) -> tuple[int, list[LoyaltyEntry]]:
    """An account's loyalty points (earned minus redeemed) and its latest movements."""
    repo = SettlementRepository(db_session)
    return await repo.points(account_id), await repo.entries(account_id, limit)


async def amount_due(db_session: AsyncSession, brand: TenantInfo, cdr_id: uuid.UUID) -> int | None:
    """What the driver pays for the CDR, settling it if that has not happened yet (None:
    no such CDR)."""
    cdr = await SettlementRepository(db_session).cdr(cdr_id)
    return (await settle(db_session, brand, cdr)).amount_due if cdr is not None else None


async def wallet_of(
    db_session: AsyncSession, account_id: uuid.UUID, currency: str, *, limit: int
) -> tuple[int, list[WalletEntry]]:
    """An account's prepaid balance in ``currency`` and its latest movements."""
    repo = SettlementRepository(db_session)
    return await repo.wallet_balance(account_id, currency), await repo.wallet_entries(
        account_id, limit
    )


async def credit_top_up(db_session: AsyncSession, payment: Payment) -> bool:
    """Put a captured top-up on the wallet, once per payment; True when it was put now."""
    assert payment.account_id is not None
    return await SettlementRepository(db_session).book_wallet(
        payment.account_id, WalletKind.TOPUP, payment.amount_captured, payment.currency, payment.id
    )


async def reverse_settlement(db_session: AsyncSession, credit: Cdr) -> None:
    """A credited session gives back what its settlement took: redeemed points come back,
    earned points go, wallet money returns to the wallet. Once per credit CDR."""
    if credit.credit_of is None:
        return
    repo = SettlementRepository(db_session)
    settlement = await repo.settlement(credit.credit_of)
    if settlement is None or settlement.account_id is None:
        return
    account_id = settlement.account_id
    if settlement.points_redeemed:
        await repo.book_points(
            account_id, LoyaltyKind.RESTORE, settlement.points_redeemed, credit.id
        )
    earned = await repo.points_of(account_id, LoyaltyKind.EARN, credit.credit_of)
    if earned:
        await repo.book_points(account_id, LoyaltyKind.REVOKE, -earned, credit.id)
    if settlement.wallet_paid:
        await repo.book_wallet(
            account_id, WalletKind.REFUND, settlement.wallet_paid, credit.currency, credit.id
        )


@dataclass(frozen=True, slots=True)
class OutstandingCustomer:
    """What one customer account (None: ad-hoc drivers) still owes for settled sessions,
    in minor units of ``currency``."""

    account_id: uuid.UUID | None
    name: str | None
    email: str | None
    currency: str
    sessions: int
    owed: int
    at_psp: int  # a capture still to come, or retried after a PSP outage
    failed: int  # a declined payment (followed by dunning)
    to_transfer: int  # nothing to capture: the receipt asks for a transfer
    oldest_session: datetime


async def outstanding_by_customer(
    db_session: AsyncSession, *, limit: int, offset: int
) -> list[OutstandingCustomer]:
    """Sessions settled but not paid in full (nor credited), summed per customer, the
    largest debt first."""
    rows = await SettlementRepository(db_session).outstanding_by_customer(
        limit=limit, offset=offset
    )
    return [
        OutstandingCustomer(
            account_id=row[0],
            name=row[1],
            email=row[2],
            currency=row[3],
            sessions=int(row[4]),
            owed=int(row[5]),
            at_psp=int(row[6]),
            failed=int(row[7]),
            to_transfer=int(row[8]),
            oldest_session=row[9],
        )
        for row in rows
    ]
