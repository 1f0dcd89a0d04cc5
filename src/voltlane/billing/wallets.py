"""Staff adjustments of a prepaid wallet: a goodwill credit, or a correction either way.

An adjustment is a wallet entry like a top-up or a session paid (the balance stays the sum
of the entries) that also says why, in words, and which staff member made it. A debit never
takes the balance below zero: the account row is locked first, the same lock a session's
settlement takes before it pays from the wallet, so the two cannot spend one balance twice.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing.errors import AccountNotFoundError
from voltlane.billing.settlement_repository import SettlementRepository
from voltlane.core.errors import ConflictError, ValidationError
from voltlane.models.tenant import WalletEntry, WalletKind, WalletReason
from voltlane.tariff.rounding import minor_unit_exponent

MAX_NOTE = 200
# The largest single adjustment, in minor units (a wallet is no bank account).
MAX_ADJUSTMENT = 100_000_000
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


class InvalidAdjustmentError(ValidationError):
    title = "Invalid wallet adjustment"


class WalletBalanceError(ValidationError):
    """A debit larger than the balance."""

    title = "Wallet balance too low"


@dataclass(frozen=True, slots=True)
class WalletAdjustment:
    """A staff member's credit (``amount`` > 0) or debit (< 0), in minor units."""

    amount: int
    currency: str
    reason: WalletReason
    note: str
    staff_user_id: uuid.UUID
    staff_email: str
    # The key of the request that asked for it: asked twice, it is booked once.
    reference: uuid.UUID


def check_adjustment(adjustment: WalletAdjustment) -> None:
    """Refuse an adjustment that is not one (InvalidAdjustmentError, by field)."""
    if not CURRENCY_RE.match(adjustment.currency):
        raise InvalidAdjustmentError("currency must be an ISO 4217 code", field="currency")
    minor_unit_exponent(adjustment.currency)  # an unknown currency is refused here
    if adjustment.amount == 0 or abs(adjustment.amount) > MAX_ADJUSTMENT:
        raise InvalidAdjustmentError(
            f"amount must be non-zero and at most {MAX_ADJUSTMENT} minor units either way",
            field="amount",
        )
    if adjustment.reason is WalletReason.GOODWILL and adjustment.amount < 0:
        raise InvalidAdjustmentError("a goodwill adjustment only credits", field="reason")
    note = adjustment.note.strip()
    if not note or len(note) > MAX_NOTE:
        raise InvalidAdjustmentError(f"note must have 1 to {MAX_NOTE} characters", field="note")


async def adjust_wallet(
    db_session: AsyncSession, account_id: uuid.UUID, adjustment: WalletAdjustment
) -> tuple[WalletEntry, bool]:
    """Credit or debit an account's wallet in the request's transaction: the entry, and
    True when it was booked now (False: this reference was booked before, nothing moved).

    A debit beyond the balance raises WalletBalanceError and writes nothing.
    """
    check_adjustment(adjustment)
    repo = SettlementRepository(db_session)
    if await repo.lock_account(account_id) is None:
        raise AccountNotFoundError(f"no customer account {account_id}", field="account_id")
    booked_before = await repo.wallet_entry(WalletKind.ADJUSTMENT, adjustment.reference)
    if booked_before is None:
        balance = await repo.wallet_balance(account_id, adjustment.currency)
        if balance + adjustment.amount < 0:
            raise WalletBalanceError(
                f"the balance is {balance} minor units; a debit of {-adjustment.amount}"
                " would take it below zero",
                field="amount",
            )
        entry_id = await repo.book_adjustment(
            {
                "account_id": account_id,
                "amount": adjustment.amount,
                "currency": adjustment.currency,
                "reference": adjustment.reference,
                "reason": adjustment.reason,
                "note": adjustment.note.strip(),
                "staff_user_id": adjustment.staff_user_id,
                "staff_email": adjustment.staff_email,
            }
        )
        if entry_id is not None:
            entry = await repo.wallet_entry(WalletKind.ADJUSTMENT, adjustment.reference)
            assert entry is not None
            return entry, True
        # Another account's adjustment took the reference between the two statements.
        booked_before = await repo.wallet_entry(WalletKind.ADJUSTMENT, adjustment.reference)
    assert booked_before is not None
    if booked_before.account_id != account_id:
        raise ConflictError("this adjustment was booked for another account", field="reference")
    return booked_before, False
