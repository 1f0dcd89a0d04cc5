"""Invoice documents to render in tests: consistent totals, a Munich address."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from voltlane.billing.documents.model import (
    Address,
    DocumentKind,
    DocumentLine,
    InvoiceDocument,
    Party,
    VatCategory,
    vat_subtotals,
)


def party(name: str, country: str = "DE", **extra: Any) -> Party:
    address = Address(("Leopoldstraße 12", "Hinterhaus"), "München", "80802", country)
    return Party(name, extra.pop("address", address), **extra)


def line(
    quantity: str,
    unit_price: str,
    net: int,
    *,
    unit: str = "KWH",
    rate: str = "19",
    category: VatCategory = VatCategory.STANDARD,
    **extra: Any,
) -> DocumentLine:
    return DocumentLine(
        extra.pop("description", "Charging session"),
        Decimal(quantity),
        unit,
        Decimal(unit_price),
        net,
        category,
        Decimal(rate),
        **extra,
    )


def document(*lines: DocumentLine, currency: str = "EUR", **extra: Any) -> InvoiceDocument:
    """A consistent document: totals and VAT breakdown computed from ``lines``."""
    vat = vat_subtotals(lines)
    total_net = sum(item.net for item in lines)
    total_vat = sum(subtotal.vat for subtotal in vat)
    fields: dict[str, Any] = {
        "kind": DocumentKind.INVOICE,
        "number": "INV-2026-000042",
        "issue_date": date(2026, 11, 1),
        "locale": "en_GB",
        "seller": party(
            "Voltlane Charging GmbH",
            vat_id="DE123456789",
            registration="HRB 123456, Amtsgericht München",
            email="billing@voltlane.example",
        ),
        "buyer": party("Fleet Ltd", "GB", email="ap@fleet.example"),
        "brand_name": "Voltaria",
        **extra,
    }
    return InvoiceDocument(
        currency=currency,
        lines=lines,
        vat=vat,
        total_net=total_net,
        total_vat=total_vat,
        total_gross=total_net + total_vat,
        **fields,
    )
