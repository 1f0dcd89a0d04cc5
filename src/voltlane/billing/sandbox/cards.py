"""The sandbox's test cards and the checks a PSP's card form makes (number, expiry, CVC)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from voltlane.billing.sandbox.text import (
    CVC_INCOMPLETE,
    EXPIRY_INCOMPLETE,
    EXPIRY_INVALID,
    EXPIRY_PAST,
    NUMBER_INCOMPLETE,
    NUMBER_INVALID,
    NUMBER_NOT_TEST,
)

Outcome = Literal["approve", "decline", "challenge"]


@dataclass(frozen=True, slots=True)
class TestCard:
    """A card number the sandbox knows: what happens when it is entered on the hosted page
    and what happens when it is charged later (merchant-initiated)."""

    __test__ = False  # not a pytest test class

    number: str
    brand: str  # Stripe's brand name: visa, mastercard
    entry: Outcome
    charge: Outcome

    @property
    def last4(self) -> str:
        return self.number[-4:]


# The numbers Stripe's test mode uses for the same behaviours.
TEST_CARDS = {
    card.number: card
    for card in (
        TestCard("4242424242424242", "visa", "approve", "approve"),
        TestCard("5555555555554444", "mastercard", "approve", "approve"),
        TestCard("4000000000000002", "visa", "decline", "decline"),
        TestCard("4000000000003220", "visa", "challenge", "challenge"),
        TestCard("4000000000000341", "visa", "approve", "decline"),
    )
}


@dataclass(frozen=True, slots=True)
class EnteredCardData:
    """What the form gave, once valid (the CVC is checked, never kept)."""

    card: TestCard
    exp_month: int
    exp_year: int


def luhn_valid(number: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(number)):
        value = int(digit)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _expiry(raw: str, now: datetime) -> tuple[int, int] | str:
    digits = re.sub(r"\D", "", raw)
    if len(digits) not in (4, 6):
        return EXPIRY_INCOMPLETE
    month, year = int(digits[:2]), int(digits[2:])
    if year < 100:
        year += 2000
    if not 1 <= month <= 12 or year > now.year + 50:
        return EXPIRY_INVALID
    if (year, month) < (now.year, now.month):
        return EXPIRY_PAST
    return month, year


def check_card_form(
    number: str, expiry: str, cvc: str, *, now: datetime | None = None
) -> tuple[EnteredCardData | None, dict[str, str]]:
    """The card of a submitted form, or the error of each field (the message id)."""
    errors: dict[str, str] = {}
    digits = re.sub(r"[\s-]", "", number)
    card = None
    if not digits.isdigit() or len(digits) < 13:
        errors["number"] = NUMBER_INCOMPLETE if digits.isdigit() or not digits else NUMBER_INVALID
    elif len(digits) > 19 or not luhn_valid(digits):
        errors["number"] = NUMBER_INVALID
    elif digits not in TEST_CARDS:
        errors["number"] = NUMBER_NOT_TEST
    else:
        card = TEST_CARDS[digits]
    expires = _expiry(expiry, now or datetime.now(UTC))
    if isinstance(expires, str):
        errors["expiry"] = expires
    if not re.fullmatch(r"\d{3,4}", cvc.strip()):
        errors["cvc"] = CVC_INCOMPLETE
    if errors or card is None or isinstance(expires, str):
        return None, errors
    return EnteredCardData(card, expires[0], expires[1]), {}
