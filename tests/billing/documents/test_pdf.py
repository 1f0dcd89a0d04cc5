"""Invoice PDFs read back with pypdf say what the document says, on A4, in the customer's
locale, page after page."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from tests.billing.documents.factories import document, line, party
from voltlane.billing.documents.fonts import Font, encode, width
from voltlane.billing.documents.model import (
    Address,
    DocumentKind,
    InvoiceDocument,
    VatCategory,
)
from voltlane.billing.documents.pdf import render_pdf

A4 = [0, 0, 595.28, 841.89]
LEFT_MARGIN = 50.0
RIGHT_MARGIN = 545.28
BOTTOM_MARGIN = 30.0
DASH = "\u2013"  # between the ends of a period

# One text-showing operation as the renderer writes it: font, size, position, string.
TEXT_OP = re.compile(rb"/F([12]) ([\d.]+) Tf ([\d.-]+) ([\d.-]+) Td \(((?:\\.|[^\\()])*)\) Tj")


def receipt(**extra: Any) -> InvoiceDocument:
    """A German card-paid receipt: 20 kWh at 0.49 and a 0.49 session fee."""
    start = datetime(2026, 10, 5, 19, 50, tzinfo=UTC)
    end = datetime(2026, 10, 5, 21, 15, tzinfo=UTC)
    energy = line(
        "20.0000",
        "0.49",
        980,
        description="Energie",
        period_start=start,
        period_end=end,
        details=("20,000 kWh geladen", "CDR 777"),
    )
    fee = line(
        "1",
        "0.49",
        49,
        unit="C62",
        description="Startgebühr",
        period_start=start,
        period_end=end,
    )
    fields: dict[str, Any] = {
        "kind": DocumentKind.RECEIPT,
        "number": "Q-2026-000777",
        "issue_date": date(2026, 10, 5),
        "locale": "de_DE",
        "timezone": "Europe/Berlin",
        "buyer": party("Erika Weiß"),
        "paid": 1225,  # 10.29 + 1.96 VAT (19 % of 10.29 = 1.9551)
        **extra,
    }
    return document(energy, fee, **fields)


CENTRES = ("CC-NORTH", "CC-SOUTH", "CC-WEST")


def fleet_invoice(sessions: int = 60) -> InvoiceDocument:
    """An English GBP fleet invoice, session ``i`` costing 10.00 + i x 0.07 excl. VAT and
    billed to cost centre ``CENTRES[i % 3]``."""
    lines = []
    for i in range(sessions):
        start = datetime(2026, 10, 1 + i % 28, 7, 0, tzinfo=UTC)
        net = 1000 + 7 * i
        lines.append(
            line(
                "1",
                str(Decimal(net) / 100),
                net,
                unit="C62",
                rate="20",
                description=f"Charging session at Depot {i % 5}",
                period_start=start,
                period_end=start.replace(hour=8, minute=30),
                card=f"GB-VLT-C{i:04d}",
                driver=f"Driver {i}",
                vehicle=f"AB{i:02d} CDE",
                cost_centre=CENTRES[i % 3],
                details=(f"{10 + i}.000 kWh charged", f"CDR {1000 + i}"),
            )
        )
    gb_address = Address(("1 Charging Way",), "London", "EC1A 1BB", "GB")
    return document(
        *lines,
        currency="GBP",
        seller=party("Voltlane UK Ltd", vat_id="GB123456789", address=gb_address),
        buyer=party("Fleet Ltd", "GB", vat_id="GB987654321", address=gb_address),
        due_date=date(2026, 12, 1),
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        buyer_reference="PO-4711",
        payment_iban="GB33BUKB20201555555555",
        payment_terms="Payable within 30 days of the invoice date.",
    )


def read(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-1.4\n")
    assert data.endswith(b"%%EOF\n")
    return PdfReader(io.BytesIO(data), strict=True)


def words(reader: PdfReader, page: int = 0) -> str:
    """A page's text with every run of whitespace, no-break spaces included, as one space."""
    return " ".join(reader.pages[page].extract_text().split())


def drawn(reader: PdfReader) -> list[tuple[Font, float, float, float, str]]:
    """Every text the renderer drew: font, size, x, y and the string."""
    fonts = {b"1": Font.REGULAR, b"2": Font.BOLD}
    found = []
    for page in reader.pages:
        contents = page.get_contents()
        assert contents is not None
        for font, size, x, y, string in TEXT_OP.findall(contents.get_data()):
            value = re.sub(rb"\\(.)", rb"\1", string).decode("cp1252")
            found.append((fonts[font], float(size), float(x), float(y), value))
    return found


def test_german_receipt_shows_amounts_vat_and_seller_in_german() -> None:
    reader = read(render_pdf(receipt()))

    assert len(reader.pages) == 1
    assert [float(value) for value in reader.pages[0].mediabox] == A4
    text = words(reader)
    assert text.startswith("Voltaria Quittung Lieferant Voltlane Charging GmbH Leopoldstraße 12")
    assert "USt-IdNr. DE123456789 HRB 123456, Amtsgericht München" in text
    assert "Kunde Erika Weiß Leopoldstraße 12 Hinterhaus 80802 München Deutschland" in text
    assert "Nummer Q-2026-000777 Datum 05.10.2026 Beschreibung" in text
    assert "Beschreibung Menge Einzelpreis USt. Betrag" in text
    assert (
        "Energie 20,000 kWh 0,49 € 19 % 9,80 € 20,000 kWh geladen CDR 777"
        f" 05.10.26, 21:50 {DASH} 05.10.26, 23:15 Startgebühr 1 0,49 € 19 % 0,49 €"
    ) in text
    assert (
        "Summe netto 10,29 € USt. 19 % auf 10,29 € 1,96 € Summe brutto 12,25 €"
        " Bezahlt 12,25 € Zu zahlen 0,00 € Nichts zu zahlen: dieser Beleg ist bezahlt."
    ) in text
    assert text.endswith("Voltlane Charging GmbH · HRB 123456, Amtsgericht München Seite 1 von 1")
    # Amounts keep their no-break space: a reader never splits 12,25 from its €.
    assert "Summe brutto 12,25\xa0€" in reader.pages[0].extract_text()
    for absent in ("Zwischensumme", "Kostenstelle", "Bitte zahlen", "Fällig am", "Zeitraum"):
        assert absent not in text


def test_cross_reference_table_points_at_every_object() -> None:
    data = render_pdf(fleet_invoice())

    startxref = int(data[data.rindex(b"startxref\n") + 10 :].split(b"\n")[0])
    table = data[startxref:].split(b"trailer\n")[0]
    header, subsection, *entries = table.split(b"\n")[:-1]
    assert header == b"xref"
    assert subsection == b"0 18"  # catalog, pages, 2 fonts, info, 6 x (page, contents)
    assert entries[0] == b"0000000000 65535 f "
    for number, entry in enumerate(entries[1:], start=1):
        assert len(entry) == 19  # 20 bytes with its end of line
        offset = int(entry[:10])
        assert data[offset:].startswith(b"%d 0 obj\n" % number)
    assert b"/Size 18 /Root 1 0 R /Info 5 0 R" in data[startxref:]


def test_metadata_names_the_document_and_the_producer() -> None:
    metadata = read(render_pdf(receipt())).metadata

    assert metadata == {"/Title": "Quittung Q-2026-000777", "/Producer": "Voltlane"}


def test_a_title_beyond_ascii_is_written_as_unicode() -> None:
    metadata = read(render_pdf(receipt(number="Q-Ü/1"))).metadata

    assert metadata is not None
    assert metadata.title == "Quittung Q-Ü/1"


def test_fleet_invoice_spans_pages_with_header_and_page_numbers_on_each() -> None:
    reader = read(render_pdf(fleet_invoice()))

    pages = len(reader.pages)
    assert pages == 6
    for number in range(pages):
        text = words(reader, number)
        assert text.endswith(f"Voltlane UK Ltd Page {number + 1} of {pages}"), text[-60:]
        assert text.count("Description Quantity Unit price VAT Amount") == 1
        assert text.count("Page ") == 1
    later = words(reader, 1)
    assert later.startswith("Invoice INV-2026-000042 Description Quantity")
    everything = " ".join(words(reader, number) for number in range(pages))
    assert everything.count("Charging session at Depot") == 60
    for i in range(60):
        assert everything.count(f"Card: GB-VLT-C{i:04d} ·") == 1


def test_fleet_invoice_groups_lines_by_cost_centre_with_exact_subtotals() -> None:
    reader = read(render_pdf(fleet_invoice()))
    everything = " ".join(words(reader, number) for number in range(len(reader.pages)))

    # 20 sessions each: 20 x £10.00 + £0.07 x (sum of their indices: 570, 590, 610)
    assert re.findall(r"Cost centre: (CC-\w+)|Subtotal (CC-\w+ £[\d.,]+)", everything) == [
        ("CC-NORTH", ""),
        ("", "CC-NORTH £239.90"),
        ("CC-SOUTH", ""),
        ("", "CC-SOUTH £241.30"),
        ("CC-WEST", ""),
        ("", "CC-WEST £242.70"),
    ]
    first = everything.index("Cost centre: CC-NORTH")
    assert everything[first:].startswith(
        "Cost centre: CC-NORTH Charging session at Depot 0 1 £10.00 20 % £10.00"
        " 10.000 kWh charged CDR 1000"
        " Card: GB-VLT-C0000 · Driver: Driver 0 · Vehicle: AB00 CDE"
        f" 01/10/2026, 07:00 {DASH} 01/10/2026, 08:30"
        " Charging session at Depot 3 1 £10.21 20 % £10.21"
    )


def test_fleet_invoice_totals_and_payment_request_are_exact() -> None:
    reader = read(render_pdf(fleet_invoice()))
    first, last = words(reader, 0), words(reader, len(reader.pages) - 1)

    assert (
        "Number INV-2026-000042 Date 1 Nov 2026 Due date 1 Dec 2026"
        f" Period 1 Oct 2026 {DASH} 31 Oct 2026 Your reference PO-4711"
    ) in first
    assert (
        "Customer Fleet Ltd 1 Charging Way EC1A 1BB London United Kingdom VAT ID GB987654321"
        in (first)
    )
    assert (
        "Total excl. VAT £723.90 VAT 20 % on £723.90 £144.78 Total incl. VAT £868.68"
        " Amount due £868.68"
        " Please pay £868.68 by 1 Dec 2026 to IBAN GB33BUKB20201555555555,"
        " quoting INV-2026-000042."
        " Payable within 30 days of the invoice date."
    ) in last
    assert "Paid" not in last


def test_credit_note_names_the_corrected_invoice_and_the_refund() -> None:
    credit = document(
        line("1", "10.00", 1000, unit="C62", rate="20", description="Session overcharged"),
        currency="GBP",
        kind=DocumentKind.CREDIT_NOTE,
        number="CN-2026-000003",
        corrects="INV-2026-000042",
        corrects_issue_date=date(2026, 11, 1),
        issue_date=date(2026, 11, 20),
        payment_iban="GB33BUKB20201555555555",
        notes=("Reason: charger fault",),
    )

    reader = read(render_pdf(credit))

    assert reader.metadata is not None
    assert reader.metadata.title == "Credit note CN-2026-000003"
    text = words(reader)
    assert text.startswith("Voltaria Credit note")
    assert "Corrects INV-2026-000042 of 1 Nov 2026 Description" in text
    assert (
        "Total incl. VAT £12.00"
        " £12.00 will be refunded to the original means of payment. Reason: charger fault"
    ) in text
    assert "Please pay" not in text
    assert "Amount due" not in text


def test_an_unpaid_receipt_without_due_date_is_payable_on_its_date() -> None:
    unpaid = receipt(paid=0, payment_iban="DE02120300000000202051", payment_bic="BYLADEM1001")

    text = words(read(render_pdf(unpaid)))

    assert (
        "Summe brutto 12,25 € Zu zahlen 12,25 €"
        " Bitte zahlen Sie 12,25 € bis 05.10.2026 auf IBAN DE02120300000000202051"
        " (BIC BYLADEM1001) unter Angabe von Q-2026-000777."
    ) in text
    assert "Bezahlt" not in text
    assert "Nichts zu zahlen" not in text


def test_zero_rated_lines_print_the_exemption_reason() -> None:
    statement = document(
        line("100", "0.30", 3000, rate="0", category=VatCategory.REVERSE_CHARGE),
        kind=DocumentKind.STATEMENT,
        number="ST-2026-000001",
    )

    text = words(read(render_pdf(statement)))

    assert "VAT 0 % on €30.00 €0.00 Reverse charge Total incl. VAT €30.00" in text


def test_parentheses_backslashes_and_western_european_letters_survive() -> None:
    odd = receipt(
        buyer=party("Müller & Söhne (Depot) \\ Straße", vat_id="ATU12345678"),
        notes=("Tarif (Nacht) gilt ab 22:00 \\ Ende 6:00 \u2013 café, £ und ¥",),
    )

    text = words(read(render_pdf(odd)))

    assert "Kunde Müller & Söhne (Depot) \\ Straße Leopoldstraße 12" in text
    assert "USt-IdNr. ATU12345678" in text
    assert "Tarif (Nacht) gilt ab 22:00 \\ Ende 6:00 \u2013 café, £ und ¥" in text


def test_characters_beyond_winansi_print_as_question_marks() -> None:
    polish = receipt(buyer=party("Łódź Sp. z o.o."))

    assert "Kunde ?ód? Sp. z o.o." in words(read(render_pdf(polish)))


def test_encoding_keeps_babels_spaces_and_minus_as_winansi() -> None:
    assert encode("1\u202f234,56\xa0€") == b"1\xa0234,56\xa0\x80"
    assert encode("\u22120,49 ß é") == b"-0,49 \xdf \xe9"
    assert encode("a\tb\x07c") == b"a b?c"


def test_widths_are_helveticas_advance_widths() -> None:
    assert width("Hello", Font.REGULAR, 10) == pytest.approx(22.78)  # 722+556+222+222+556
    assert width("Hello", Font.BOLD, 10) == pytest.approx(24.45)  # 722+556+278+278+611
    # four digits and € at 556, comma and no-break space at 278
    assert width("12,25\xa0€", Font.REGULAR, 9) == pytest.approx(30.024)


def test_long_descriptions_wrap_inside_the_description_column() -> None:
    description = " ".join(f"word{i}" for i in range(60))
    long = document(
        line("1", "1.00", 100, unit="C62", description=description),
        line("1", "1.00", 100, unit="C62", description="x" * 300),
        kind=DocumentKind.RECEIPT,
        locale="de_DE",
        notes=(description,),
    )

    drawings = drawn(read(render_pdf(long)))

    in_table = [text for _, _, x, _, text in drawings if text.startswith("word") and x == 54]
    as_note = [text for _, _, x, _, text in drawings if text.startswith("word") and x == 50]
    assert " ".join(in_table) == description
    assert " ".join(as_note) == description
    assert (len(in_table), len(as_note)) == (9, 4)  # 235 pt column, 495 pt page width
    assert "".join(text for *_, text in drawings if set(text) == {"x"}) == "x" * 300
    for font, size, x, y, text in drawings:
        assert x >= LEFT_MARGIN, text
        assert x + width(text, font, size) <= RIGHT_MARGIN + 0.01, text
        assert y >= BOTTOM_MARGIN, text


def test_a_description_longer_than_a_page_flows_on_without_empty_pages() -> None:
    description = " ".join(f"word{i}" for i in range(1500))
    long = document(line("1", "1.00", 100, unit="C62", description=description))

    reader = read(render_pdf(long))

    texts = [words(reader, page) for page in range(len(reader.pages))]
    assert len(texts) == 6
    assert re.findall(r"word\d+", " ".join(texts)) == description.split()
    assert texts[0].count("word") == 249
    for page in texts[1:5]:
        assert page.startswith("Invoice INV-2026-000042 Description Quantity Unit price VAT Amount")
        assert "word" in page
    # The table has ended: the totals' page repeats no table header.
    assert texts[5].startswith("Invoice INV-2026-000042 Total excl. VAT €1.00")


def test_every_text_of_a_long_invoice_stays_inside_the_margins() -> None:
    drawings = drawn(read(render_pdf(fleet_invoice())))

    assert len(drawings) > 60 * 5
    for font, size, x, _y, text in drawings:
        assert x >= LEFT_MARGIN
        assert x + width(text, font, size) <= RIGHT_MARGIN + 0.01, text


def test_rendering_twice_gives_identical_bytes() -> None:
    first = render_pdf(fleet_invoice())

    assert render_pdf(fleet_invoice()) == first
    assert render_pdf(replace(fleet_invoice(), number="INV-2026-000043")) != first


def test_a_brand_colour_that_is_not_rrggbb_is_refused() -> None:
    with pytest.raises(ValueError, match="#rrggbb"):
        render_pdf(receipt(brand_color="blue"))
