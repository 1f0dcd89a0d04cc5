"""An issued document as JSON (stored with the invoice row) and back, without loss: decimals
as strings, dates as ISO strings, so the PDF and UBL of an invoice render the same forever."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from voltlane.billing.documents.model import (
    Address,
    DocumentKind,
    DocumentLine,
    InvoiceDocument,
    Party,
    VatCategory,
    VatSubtotal,
)


def _party_json(party: Party) -> dict[str, Any]:
    return {
        "name": party.name,
        "address": {
            "lines": list(party.address.lines),
            "city": party.address.city,
            "postal_code": party.address.postal_code,
            "country": party.address.country,
        },
        "vat_id": party.vat_id,
        "registration": party.registration,
        "email": party.email,
    }


def _party(data: dict[str, Any]) -> Party:
    address = data["address"]
    return Party(
        name=data["name"],
        address=Address(
            tuple(address["lines"]), address["city"], address["postal_code"], address["country"]
        ),
        vat_id=data["vat_id"],
        registration=data["registration"],
        email=data["email"],
    )


def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _line_json(line: DocumentLine) -> dict[str, Any]:
    return {
        "description": line.description,
        "quantity": str(line.quantity),
        "unit": line.unit,
        "unit_price": str(line.unit_price),
        "net": line.net,
        "vat_category": line.vat_category.value,
        "vat_rate": str(line.vat_rate),
        "reference": line.reference,
        "period_start": _moment(line.period_start),
        "period_end": _moment(line.period_end),
        "card": line.card,
        "driver": line.driver,
        "vehicle": line.vehicle,
        "cost_centre": line.cost_centre,
        "details": list(line.details),
    }


def _line(data: dict[str, Any]) -> DocumentLine:
    return DocumentLine(
        description=data["description"],
        quantity=Decimal(data["quantity"]),
        unit=data["unit"],
        unit_price=Decimal(data["unit_price"]),
        net=data["net"],
        vat_category=VatCategory(data["vat_category"]),
        vat_rate=Decimal(data["vat_rate"]),
        reference=data["reference"],
        period_start=_parse_moment(data["period_start"]),
        period_end=_parse_moment(data["period_end"]),
        card=data["card"],
        driver=data["driver"],
        vehicle=data["vehicle"],
        cost_centre=data["cost_centre"],
        details=tuple(data["details"]),
    )


def _parse_moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _parse_day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value is not None else None


def document_to_json(document: InvoiceDocument) -> dict[str, Any]:
    """The document as JSON-safe builtins."""
    return {
        "kind": document.kind.value,
        "number": document.number,
        "issue_date": document.issue_date.isoformat(),
        "currency": document.currency,
        "locale": document.locale,
        "seller": _party_json(document.seller),
        "buyer": _party_json(document.buyer),
        "lines": [_line_json(line) for line in document.lines],
        "vat": [
            {
                "category": v.category.value,
                "rate": str(v.rate),
                "taxable": v.taxable,
                "vat": v.vat,
                "exemption_reason": v.exemption_reason,
            }
            for v in document.vat
        ],
        "total_net": document.total_net,
        "total_vat": document.total_vat,
        "total_gross": document.total_gross,
        "paid": document.paid,
        "due_date": _day(document.due_date),
        "period_start": _day(document.period_start),
        "period_end": _day(document.period_end),
        "timezone": document.timezone,
        "corrects": document.corrects,
        "corrects_issue_date": _day(document.corrects_issue_date),
        "buyer_reference": document.buyer_reference,
        "payment_terms": document.payment_terms,
        "payment_iban": document.payment_iban,
        "payment_bic": document.payment_bic,
        "notes": list(document.notes),
        "brand_color": document.brand_color,
        "brand_name": document.brand_name,
    }


def document_from_json(data: dict[str, Any]) -> InvoiceDocument:
    """The document stored by :func:`document_to_json`."""
    return InvoiceDocument(
        kind=DocumentKind(data["kind"]),
        number=data["number"],
        issue_date=date.fromisoformat(data["issue_date"]),
        currency=data["currency"],
        locale=data["locale"],
        seller=_party(data["seller"]),
        buyer=_party(data["buyer"]),
        lines=tuple(_line(line) for line in data["lines"]),
        vat=tuple(
            VatSubtotal(
                VatCategory(v["category"]),
                Decimal(v["rate"]),
                v["taxable"],
                v["vat"],
                v["exemption_reason"],
            )
            for v in data["vat"]
        ),
        total_net=data["total_net"],
        total_vat=data["total_vat"],
        total_gross=data["total_gross"],
        paid=data["paid"],
        due_date=_parse_day(data["due_date"]),
        period_start=_parse_day(data["period_start"]),
        period_end=_parse_day(data["period_end"]),
        timezone=data["timezone"],
        corrects=data["corrects"],
        corrects_issue_date=_parse_day(data["corrects_issue_date"]),
        buyer_reference=data["buyer_reference"],
        payment_terms=data["payment_terms"],
        payment_iban=data["payment_iban"],
        payment_bic=data["payment_bic"],
        notes=tuple(data["notes"]),
        brand_color=data["brand_color"],
        brand_name=data["brand_name"],
    )
