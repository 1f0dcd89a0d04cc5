"""An invoice document as an EN 16931 e-invoice in UBL 2.1 syntax.

The UBL schemas are sequences, so every element below is written in the order the XSD
declares it; reordering two calls makes the document invalid. The renderer writes the
model's amounts as they are and refuses a document whose totals break an EN 16931
calculation rule, since a receiver would reject that e-invoice anyway.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from decimal import Decimal

from voltlane.billing.documents.model import (
    DocumentKind,
    DocumentLine,
    InvoiceDocument,
    Party,
    VatCategory,
    VatSubtotal,
)
from voltlane.billing.documents.text import DocumentText
from voltlane.tariff.rounding import from_minor

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
_CAC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
_CBC_NS = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

_COMMERCIAL_INVOICE = "380"  # UNCL1001
_CREDIT_NOTE = "381"
_SEPA_CREDIT_TRANSFER = "58"  # UNCL4461
_BANK_CARD = "48"
_INSTRUMENT_NOT_DEFINED = "1"
_LINE_OBJECT = "130"  # UNCL1001 "invoicing data sheet": BT-128, the CDR a line bills

_ITEM_NAME_MAX = 100  # receivers print BT-153 in one table cell; the full text goes to BT-154

# Characters XML 1.0 cannot carry at all, not even escaped (control characters pasted
# into a location name would otherwise make the whole e-invoice unparseable).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_ubl(document: InvoiceDocument) -> bytes:
    """The document as UBL 2.1 XML (UTF-8, with declaration) following EN 16931.

    Receipts, invoices and statements become a UBL ``Invoice`` (type 380), credit notes a
    ``CreditNote`` (type 381) with their amounts positive, as the model stores them.
    Raises ``ValueError`` if the totals or the VAT breakdown disagree with the lines.
    """
    _check_totals(document)
    credit = document.kind is DocumentKind.CREDIT_NOTE
    # Prefixed tag names with the declarations on the root keep the conventional cac/cbc
    # prefixes without ET.register_namespace, which would change a process-wide table.
    root = ET.Element(
        "CreditNote" if credit else "Invoice",
        {
            "xmlns": _CREDIT_NOTE_NS if credit else _INVOICE_NS,
            "xmlns:cac": _CAC_NS,
            "xmlns:cbc": _CBC_NS,
        },
    )
    currency = document.currency
    _text(root, "cbc:CustomizationID", CUSTOMIZATION_ID)
    _text(root, "cbc:ProfileID", PROFILE_ID)
    _text(root, "cbc:ID", document.number)
    _text(root, "cbc:IssueDate", document.issue_date.isoformat())
    if credit:
        _text(root, "cbc:CreditNoteTypeCode", _CREDIT_NOTE)
    else:
        if document.due_date is not None:
            _text(root, "cbc:DueDate", document.due_date.isoformat())
        _text(root, "cbc:InvoiceTypeCode", _COMMERCIAL_INVOICE)
    if document.notes:
        # PEPPOL-EN16931-R002 allows one document note.
        _text(root, "cbc:Note", "\n".join(document.notes))
    _text(root, "cbc:DocumentCurrencyCode", currency)
    # BT-10 or an order reference is mandatory for Peppol (PEPPOL-EN16931-R003).
    _text(root, "cbc:BuyerReference", document.buyer_reference or document.number)
    _period(root, document.period_start, document.period_end)
    if credit and document.corrects:
        reference = ET.SubElement(
            ET.SubElement(root, "cac:BillingReference"), "cac:InvoiceDocumentReference"
        )
        _text(reference, "cbc:ID", document.corrects)
        if document.corrects_issue_date is not None:
            _text(reference, "cbc:IssueDate", document.corrects_issue_date.isoformat())
    _party(ET.SubElement(root, "cac:AccountingSupplierParty"), document.seller)
    _party(ET.SubElement(root, "cac:AccountingCustomerParty"), document.buyer)
    _payment_means(root, document, credit=credit)
    if document.payment_terms:
        _text(ET.SubElement(root, "cac:PaymentTerms"), "cbc:Note", document.payment_terms)
    _tax_total(root, document.total_vat, document.vat, currency)
    totals = ET.SubElement(root, "cac:LegalMonetaryTotal")
    _amount(totals, "cbc:LineExtensionAmount", sum(line.net for line in document.lines), currency)
    _amount(totals, "cbc:TaxExclusiveAmount", document.total_net, currency)
    _amount(totals, "cbc:TaxInclusiveAmount", document.total_gross, currency)
    if document.paid:
        _amount(totals, "cbc:PrepaidAmount", document.paid, currency)
    _amount(totals, "cbc:PayableAmount", document.payable, currency)
    text = DocumentText(document.locale, currency, document.timezone)
    for number, line in enumerate(document.lines, start=1):
        _line(root, number, line, currency, text, credit=credit)
    ET.indent(root)
    xml: bytes = ET.tostring(root, encoding="UTF-8", xml_declaration=True)
    return xml


def _check_totals(document: InvoiceDocument) -> None:
    if not document.vat:
        raise ValueError(f"{document.number}: no VAT breakdown (BR-CO-18)")
    nets = sum(line.net for line in document.lines)
    by_rate: dict[tuple[VatCategory, Decimal], int] = {}
    for line in document.lines:
        key = (line.vat_category, line.vat_rate)
        by_rate[key] = by_rate.get(key, 0) + line.net
    breakdown = {(subtotal.category, subtotal.rate): subtotal.taxable for subtotal in document.vat}
    if breakdown != by_rate:
        raise ValueError(
            f"{document.number}: VAT breakdown {breakdown} does not match the lines {by_rate}"
            " (BR-S-08 and its siblings for each category)"
        )
    if nets != document.total_net:
        raise ValueError(
            f"{document.number}: total net {document.total_net} != sum of lines {nets} (BR-CO-13)"
        )
    vat = sum(subtotal.vat for subtotal in document.vat)
    if vat != document.total_vat:
        raise ValueError(
            f"{document.number}: total VAT {document.total_vat} != sum of breakdown {vat}"
            " (BR-CO-14)"
        )
    if document.total_net + document.total_vat != document.total_gross:
        raise ValueError(
            f"{document.number}: total gross {document.total_gross} != net + VAT (BR-CO-15)"
        )


def _text(parent: ET.Element, tag: str, value: str, **attributes: str) -> None:
    ET.SubElement(parent, tag, attributes).text = _NOT_XML.sub("", value)


def _amount(parent: ET.Element, tag: str, minor: int, currency: str) -> None:
    _text(parent, tag, format(from_minor(minor, currency), "f"), currencyID=currency)


def _period(parent: ET.Element, start: date | None, end: date | None) -> None:
    if start is None and end is None:
        return
    period = ET.SubElement(parent, "cac:InvoicePeriod")
    if start is not None:
        _text(period, "cbc:StartDate", start.isoformat())
    if end is not None:
        _text(period, "cbc:EndDate", end.isoformat())


def _utc_date(moment: datetime | None) -> date | None:
    return None if moment is None else moment.astimezone(UTC).date()


def _party(role: ET.Element, party: Party) -> None:
    element = ET.SubElement(role, "cac:Party")
    if party.email:
        _text(element, "cbc:EndpointID", party.email, schemeID="EM")
    _text(ET.SubElement(element, "cac:PartyName"), "cbc:Name", party.name)
    address = ET.SubElement(element, "cac:PostalAddress")
    lines = party.address.lines
    if lines:
        _text(address, "cbc:StreetName", lines[0])
    if len(lines) > 1:
        _text(address, "cbc:AdditionalStreetName", lines[1])
    if party.address.city:
        _text(address, "cbc:CityName", party.address.city)
    if party.address.postal_code:
        _text(address, "cbc:PostalZone", party.address.postal_code)
    if len(lines) > 2:
        # EN 16931 has a single third address line (BT-37/BT-52).
        _text(ET.SubElement(address, "cac:AddressLine"), "cbc:Line", ", ".join(lines[2:]))
    _text(ET.SubElement(address, "cac:Country"), "cbc:IdentificationCode", party.address.country)
    if party.vat_id:
        tax_scheme = ET.SubElement(element, "cac:PartyTaxScheme")
        _text(tax_scheme, "cbc:CompanyID", party.vat_id)
        _vat_scheme(tax_scheme)
    legal = ET.SubElement(element, "cac:PartyLegalEntity")
    _text(legal, "cbc:RegistrationName", party.name)
    if party.registration:
        _text(legal, "cbc:CompanyID", party.registration)
    if party.email:
        _text(ET.SubElement(element, "cac:Contact"), "cbc:ElectronicMail", party.email)


def _vat_scheme(parent: ET.Element) -> None:
    _text(ET.SubElement(parent, "cac:TaxScheme"), "cbc:ID", "VAT")


def _payment_means(parent: ET.Element, document: InvoiceDocument, *, credit: bool) -> None:
    # A CreditNote has no DueDate of its own: UBL 2.1 carries BT-9 in PaymentMeans.
    due_date = document.due_date if credit else None
    if document.payment_iban:
        code = _SEPA_CREDIT_TRANSFER
    elif document.paid > 0:
        code = _BANK_CARD
    elif due_date is not None:
        code = _INSTRUMENT_NOT_DEFINED
    else:
        return
    means = ET.SubElement(parent, "cac:PaymentMeans")
    _text(means, "cbc:PaymentMeansCode", code)
    if due_date is not None:
        _text(means, "cbc:PaymentDueDate", due_date.isoformat())
    if document.payment_iban:
        # BT-83: the transfer's remittance information, so the payment finds its invoice.
        _text(means, "cbc:PaymentID", document.number)
        account = ET.SubElement(means, "cac:PayeeFinancialAccount")
        _text(account, "cbc:ID", document.payment_iban)
        if document.payment_bic:
            branch = ET.SubElement(account, "cac:FinancialInstitutionBranch")
            _text(branch, "cbc:ID", document.payment_bic)


def _tax_category(
    parent: ET.Element, tag: str, category: VatCategory, rate: Decimal, reason: str | None
) -> None:
    element = ET.SubElement(parent, tag)
    _text(element, "cbc:ID", category.value)
    # BR-O-05/BR-O-10: "not subject to VAT" has no rate at all, not even 0.
    if category is not VatCategory.NOT_SUBJECT:
        _text(element, "cbc:Percent", format(rate, "f"))
    if reason:
        _text(element, "cbc:TaxExemptionReason", reason)
    _vat_scheme(element)


def _tax_total(
    parent: ET.Element, total_vat: int, subtotals: tuple[VatSubtotal, ...], currency: str
) -> None:
    total = ET.SubElement(parent, "cac:TaxTotal")
    _amount(total, "cbc:TaxAmount", total_vat, currency)
    for subtotal in subtotals:
        element = ET.SubElement(total, "cac:TaxSubtotal")
        _amount(element, "cbc:TaxableAmount", subtotal.taxable, currency)
        _amount(element, "cbc:TaxAmount", subtotal.vat, currency)
        _tax_category(
            element, "cac:TaxCategory", subtotal.category, subtotal.rate, subtotal.exemption_reason
        )


def _line_note(line: DocumentLine, text: DocumentText) -> str:
    labelled = (
        ("card", line.card),
        ("driver", line.driver),
        ("vehicle", line.vehicle),
        ("cost_centre", line.cost_centre),
    )
    parts = [*line.details, *(f"{text.label(key)}: {value}" for key, value in labelled if value)]
    return "; ".join(parts)


def _item_name(description: str) -> str:
    if len(description) <= _ITEM_NAME_MAX:
        return description
    cut = description[: _ITEM_NAME_MAX - 1]
    # Cut at a word when there is one in the second half, else mid-word.
    space = cut.rfind(" ")
    if space > _ITEM_NAME_MAX // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;-") + "…"


def _line(
    parent: ET.Element,
    number: int,
    line: DocumentLine,
    currency: str,
    text: DocumentText,
    *,
    credit: bool,
) -> None:
    element = ET.SubElement(parent, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
    _text(element, "cbc:ID", str(number))
    note = _line_note(line, text)
    if note:
        _text(element, "cbc:Note", note)
    quantity, price = line.quantity, line.unit_price
    if price < 0:
        # BR-27: the item net price is never negative. A discount is a negative quantity at
        # a positive price, which keeps quantity x price and the line net as they are.
        quantity, price = -quantity, -price
    _text(
        element,
        "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity",
        format(quantity, "f"),
        unitCode=line.unit,
    )
    _amount(element, "cbc:LineExtensionAmount", line.net, currency)
    if line.cost_centre:
        _text(element, "cbc:AccountingCost", line.cost_centre)
    _period(element, _utc_date(line.period_start), _utc_date(line.period_end))
    if line.reference:
        reference = ET.SubElement(element, "cac:DocumentReference")
        _text(reference, "cbc:ID", line.reference)
        _text(reference, "cbc:DocumentTypeCode", _LINE_OBJECT)
    item = ET.SubElement(element, "cac:Item")
    name = _item_name(line.description)
    if name != line.description:
        _text(item, "cbc:Description", line.description)
    _text(item, "cbc:Name", name)
    _tax_category(item, "cac:ClassifiedTaxCategory", line.vat_category, line.vat_rate, None)
    price_element = ET.SubElement(element, "cac:Price")
    _text(price_element, "cbc:PriceAmount", format(price, "f"), currencyID=currency)
    _text(price_element, "cbc:BaseQuantity", "1", unitCode=line.unit)
