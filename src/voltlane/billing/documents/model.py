"""What an invoice says, independent of how it is rendered (PDF, UBL) or stored.

A document is built from stored rows by ``billing.invoices`` and rendered by ``pdf`` and
``ubl``; both renderers read only this model, so the PDF and the e-invoice of one invoice can
never disagree. Amounts are integer minor units of ``currency``; quantities and rates Decimal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from voltlane.tariff.rounding import vat_amount


class DocumentKind(enum.StrEnum):
    RECEIPT = "receipt"  # one charging session, paid (or payable) at once
    INVOICE = "invoice"  # a fleet account's month
    CREDIT_NOTE = "credit_note"  # cancels (part of) an earlier receipt or invoice
    STATEMENT = "statement"  # a roaming partner's settlement period


class VatCategory(enum.StrEnum):
    """UNCL5305 VAT category codes used by EN 16931."""

    STANDARD = "S"
    ZERO = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    NOT_SUBJECT = "O"


@dataclass(frozen=True, slots=True)
class Address:
    lines: tuple[str, ...]  # street lines, as printed
    city: str | None
    postal_code: str | None
    country: str  # ISO 3166-1 alpha-2


@dataclass(frozen=True, slots=True)
class Party:
    name: str
    address: Address
    vat_id: str | None = None
    registration: str | None = None  # company register entry, as printed
    email: str | None = None


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One billed item: a charging session (or part of one), a fee, a discount."""

    description: str
    quantity: Decimal
    unit: str  # UN/ECE Rec 20: KWH, HUR, MIN, C62 (one)
    unit_price: Decimal  # excl. VAT, in major units of the currency
    net: int  # minor units excl. VAT
    vat_category: VatCategory
    vat_rate: Decimal  # percent
    # Where it came from, printed beneath the description and carried into UBL.
    reference: str | None = None  # e.g. the CDR number
    period_start: datetime | None = None
    period_end: datetime | None = None
    # Fleet invoices group lines by driver/card/vehicle and cost centre.
    card: str | None = None
    driver: str | None = None
    vehicle: str | None = None
    cost_centre: str | None = None
    details: tuple[str, ...] = ()  # extra lines printed beneath (energy, duration, location)


@dataclass(frozen=True, slots=True)
class VatSubtotal:
    category: VatCategory
    rate: Decimal  # percent
    taxable: int  # minor units
    vat: int  # minor units
    exemption_reason: str | None = None


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    kind: DocumentKind
    number: str
    issue_date: date
    currency: str
    locale: str  # the customer's locale: labels, numbers, dates
    seller: Party
    buyer: Party
    lines: tuple[DocumentLine, ...]
    vat: tuple[VatSubtotal, ...]
    total_net: int
    total_vat: int
    total_gross: int
    paid: int = 0  # already paid (a captured card payment, a wallet)
    due_date: date | None = None
    period_start: date | None = None
    period_end: date | None = None  # inclusive
    timezone: str = "UTC"  # dates and times printed in the brand's timezone
    # A credit note names the document it corrects.
    corrects: str | None = None
    corrects_issue_date: date | None = None
    buyer_reference: str | None = None  # cost centre / PO number of the customer (BT-10)
    payment_terms: str | None = None
    payment_iban: str | None = None
    payment_bic: str | None = None
    notes: tuple[str, ...] = ()
    brand_color: str = "#1f4fd1"  # the brand's primary colour, for the PDF header rule
    brand_name: str = ""

    @property
    def payable(self) -> int:
        return self.total_gross - self.paid


def vat_subtotals(lines: tuple[DocumentLine, ...] | list[DocumentLine]) -> tuple[VatSubtotal, ...]:
    """VAT once per category and rate on the sum of its lines' net amounts, rounded like the
    pricing engine rounds a session's VAT (EN 16931 BR-CO-17), so a one-session receipt
    shows exactly the VAT of its CDR."""
    sums: dict[tuple[VatCategory, Decimal], int] = {}
    for line in lines:
        key = (line.vat_category, line.vat_rate)
        sums[key] = sums.get(key, 0) + line.net
    return tuple(
        VatSubtotal(
            category,
            rate,
            taxable,
            vat_amount(taxable, rate) if category is VatCategory.STANDARD else 0,
            None if category is VatCategory.STANDARD else _EXEMPTION[category],
        )
        for (category, rate), taxable in sorted(sums.items(), key=lambda kv: (kv[0][0], -kv[0][1]))
    )


_EXEMPTION = {
    VatCategory.ZERO: None,
    VatCategory.EXEMPT: "Exempt from VAT",
    VatCategory.REVERSE_CHARGE: "Reverse charge",
    VatCategory.NOT_SUBJECT: "Not subject to VAT",
}
