"""Document lines from CDRs: itemised for receipts, one per session and rate for fleets."""

from __future__ import annotations

from decimal import Decimal

from voltlane.billing.documents.model import DocumentLine, VatCategory
from voltlane.billing.documents.text import DocumentText
from voltlane.billing.invoice_repository import BilledCdr
from voltlane.tariff.rounding import from_minor

_HOUR = Decimal(3600)
_MINUTE = Decimal(60)
_KWH = Decimal(1000)
_UNITS = {  # OCPI line kind -> (UN/ECE Rec 20 unit, divisor of the engine's step units)
    "ENERGY": ("KWH", _KWH),
    "TIME": ("HUR", _HOUR),
    "PARKING_TIME": ("HUR", _HOUR),
    "RESERVATION_TIME": ("HUR", _HOUR),
    "IDLE_FEE": ("MIN", _MINUTE),
}


def vat_category(rate: str | None) -> tuple[VatCategory, Decimal]:
    if rate is None:
        return VatCategory.NOT_SUBJECT, Decimal(0)
    value = Decimal(rate)
    return (VatCategory.STANDARD if value else VatCategory.ZERO), value


def _session_details(item: BilledCdr, text: DocumentText) -> tuple[str, ...]:
    """What a line says about its session beyond its period (printed from the line)."""
    cdr = item.cdr
    energy = abs(Decimal(cdr.total_energy_kwh))
    details = [text.label("energy_detail", energy=text.number(energy))]
    if cdr.included_energy_wh:
        # Why the energy cost nothing (or less): the plan's allowance covered it.
        included = Decimal(abs(cdr.included_energy_wh)) / _KWH
        details.append(text.label("included_detail", energy=text.number(included)))
    return (*details, text.label("cdr_detail", number=cdr.number))


def charge_lines(item: BilledCdr, text: DocumentText) -> list[DocumentLine]:
    """A CDR's charge lines as document lines: a receipt itemises what the tariff billed."""
    cdr = item.cdr
    lines: list[DocumentLine] = []
    for index, line in enumerate(cdr.priced["lines"]):
        kind = line["kind"]
        unit, divisor = _UNITS.get(kind, ("C62", Decimal(1)))
        price = Decimal(line["unit_price"])
        if kind in ("MIN_PRICE", "MAX_PRICE"):
            # A cap is an amount, not a price: a negative adjustment is a quantity of -1
            # at a positive price (EN 16931 BR-27: no negative item price).
            quantity = Decimal(1 if price >= 0 else -1)
            price = abs(price)
        else:
            quantity = (Decimal(line["billed_quantity"]) / divisor).quantize(Decimal("0.0001"))
        category, rate = vat_category(line["vat_rate"])
        lines.append(
            DocumentLine(
                description=text.label(f"line.{kind}"),
                quantity=quantity,
                unit=unit,
                unit_price=price,
                net=line["excl_vat"],
                vat_category=category,
                vat_rate=rate,
                reference=str(cdr.number),
                period_start=cdr.start_date_time,
                period_end=cdr.end_date_time,
                details=_session_details(item, text) if index == 0 else (),
            )
        )
    return lines


def session_lines(item: BilledCdr, text: DocumentText) -> list[DocumentLine]:
    """A CDR as fleet invoice lines: one per VAT rate, with the card, driver, vehicle and
    cost centre it is billed to."""
    cdr = item.cdr
    description = (
        text.label("session_at", location=item.location) if item.location else text.label("session")
    )
    lines = []
    for vat in cdr.priced["vat_breakdown"]:
        category, rate = vat_category(vat["rate"])
        lines.append(
            DocumentLine(
                description=description,
                quantity=Decimal(1),
                unit="C62",
                unit_price=from_minor(vat["taxable"], cdr.currency),
                net=vat["taxable"],
                vat_category=category,
                vat_rate=rate,
                reference=str(cdr.number),
                period_start=cdr.start_date_time,
                period_end=cdr.end_date_time,
                card=item.card_label or cdr.id_token,
                driver=item.driver,
                vehicle=item.vehicle,
                cost_centre=item.cost_centre,
                details=_session_details(item, text),
            )
        )
    return lines
