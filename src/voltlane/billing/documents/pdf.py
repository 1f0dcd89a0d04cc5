"""An invoice document as a PDF 1.4 file, written without a PDF library.

The stack has no PDF library and an invoice needs little of PDF: text in the two standard
Helvetica fonts (readers carry them, so nothing is embedded), lines and filled rectangles.
The file depends on the document alone (no clock, no random file ID), so an issued invoice
renders to the same bytes whenever it is rendered again.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import groupby

from voltlane.billing.documents.fonts import Font, width
from voltlane.billing.documents.model import DocumentKind, DocumentLine, InvoiceDocument, Party
from voltlane.billing.documents.pdfwriter import (
    INK,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    Canvas,
    Style,
    write_pdf,
)
from voltlane.billing.documents.text import DocumentText

_LEFT = 50.0
_RIGHT = PAGE_WIDTH - 50.0
_TOP = PAGE_HEIGHT - 45.0
_BOTTOM = 72.0  # lowest baseline of the body; the footer sits beneath it
_FOOTER = 40.0
_ROOM = _TOP - _BOTTOM - 60  # of a continuation page, below its title and the table header

_MUTED = "#666666"
_SHADE = "#eeeeee"
_DASH = "\u2013"  # en dash, between the ends of a period

_UNITS = {"KWH": "kWh", "HUR": "h", "MIN": "min", "C62": ""}  # UN/ECE Rec 20 as printed

# The lines table: the description wraps in its column, the numbers are right-aligned.
_PAD = 4.0
_CELL = _LEFT + _PAD
_DESCRIPTION_WIDTH = 235.0
_QUANTITY_RIGHT = 355.0
_PRICE_RIGHT = 430.0
_VAT_RIGHT = 470.0
_AMOUNT_RIGHT = _RIGHT - _PAD
# Beneath a row's first line only its amount is in the way of the small notes.
_NOTES_WIDTH = _VAT_RIGHT - _CELL
_TOTALS_LEFT = _RIGHT - 250.0
_PARTY_WIDTH = 270.0
_META_LEFT = 340.0
_META_VALUE = 410.0


_BODY = Style()
_STRONG = Style(Font.BOLD)
_MUTED_BODY = Style(color=_MUTED)
_SMALL = Style(size=7, color=_MUTED)
_CAPTION = Style(size=7.5, color=_MUTED)
_COLUMN = Style(Font.BOLD, 8)


def render_pdf(document: InvoiceDocument) -> bytes:
    """The document as an A4 PDF in the customer's locale, one file per document.

    Every page repeats the lines table's header and says "Page x of y"; lines are grouped
    by cost centre with a subtotal each when they carry one (fleet invoices). The same
    document always gives the same bytes. Raises ``ValueError`` if ``brand_color`` is not
    a ``#rrggbb`` colour.
    """
    text = DocumentText(document.locale, document.currency, document.timezone)
    pages = _InvoiceLayout(document, text).render()
    return write_pdf(pages, title=f"{text.label(document.kind)} {document.number}")


# -- Layout -------------------------------------------------------------------------------


def _wrap(value: str, style: Style, limit: float) -> list[str]:
    """``value`` in lines no wider than ``limit``; a word wider than that is cut."""
    lines: list[str] = []
    current = ""
    # Only ASCII whitespace separates words: a no-break space keeps an amount with its sign.
    for word in re.split(r"[ \t\r\n]+", value.strip()):
        candidate = f"{current} {word}" if current else word
        if width(candidate, style.font, style.size) <= limit:
            current = candidate
            continue
        if current:
            lines.append(current)
        rest = word
        while len(rest) > 1 and width(rest, style.font, style.size) > limit:
            fits = (
                n
                for n in range(len(rest) - 1, 1, -1)
                if width(rest[:n], style.font, style.size) <= limit
            )
            cut = next(fits, 1)
            lines.append(rest[:cut])
            rest = rest[cut:]
        current = rest
    lines.append(current)
    return lines


class _InvoiceLayout:
    """Places the document's parts top to bottom, breaking pages where the next part would
    run into the footer."""

    def __init__(self, document: InvoiceDocument, text: DocumentText) -> None:
        self.document = document
        self.text = text
        self.canvas = Canvas()
        self.y = _TOP
        self.page_top = PAGE_HEIGHT  # where a continuation page's body starts
        self.in_table = False
        self.by_cost_centre = any(line.cost_centre for line in document.lines)

    def render(self) -> list[list[bytes]]:
        self.canvas.new_page()
        self._header()
        self._parties()
        self._table()
        self._totals()
        self._closing()
        self._footers()
        return self.canvas.pages

    # Page structure

    def _ensure(self, height: float) -> None:
        """A new page unless ``height`` fits above the footer, or the page is still empty
        (a part taller than a page then flows on, line by line)."""
        if self.y - height >= _BOTTOM or self.y >= self.page_top:
            return
        self.canvas.new_page()
        self.y = _TOP
        self.canvas.rect(_LEFT, self.y, _RIGHT - _LEFT, 3, self.document.brand_color)
        self.y -= 16
        title = f"{self.text.label(self.document.kind)} {self.document.number}"
        self.canvas.text(_LEFT, self.y, title, Style(Font.BOLD, color=_MUTED))
        self.y -= 18
        if self.in_table:
            self._table_header()
        self.page_top = self.y

    def _footers(self) -> None:
        pages = len(self.canvas.pages)
        seller = self.document.seller
        imprint = " · ".join(part for part in (seller.name, seller.registration) if part)
        for index in range(pages):
            self.canvas.turn_to(index)
            self.canvas.line(_LEFT, _FOOTER + 10, _RIGHT, _FOOTER + 10)
            for number, line in enumerate(_wrap(imprint, _SMALL, _PARTY_WIDTH)):
                self.canvas.text(_LEFT, _FOOTER - number * _SMALL.leading, line, _SMALL)
            page = self.text.label("page", page=index + 1, pages=pages)
            self.canvas.text_right(_RIGHT, _FOOTER, page, _SMALL)

    def _paragraph(
        self, value: str, style: Style = _BODY, x: float = _LEFT, limit: float = _RIGHT - _LEFT
    ) -> None:
        for line in _wrap(value, style, limit):
            self._ensure(style.leading)
            self.canvas.text(x, self.y, line, style)
            self.y -= style.leading

    # First page

    def _header(self) -> None:
        document = self.document
        self.canvas.rect(_LEFT, self.y, _RIGHT - _LEFT, 3, document.brand_color)
        self.y -= 28
        title, brand = self.text.label(document.kind), Style(Font.BOLD, 16)
        # A brand name too long to share the line with the title is cut short.
        room = _RIGHT - _LEFT - width(title, Font.BOLD, 18) - 20
        name = _wrap(document.brand_name or document.seller.name, brand, room)[0]
        self.canvas.text(_LEFT, self.y, name, brand)
        self.canvas.text_right(_RIGHT, self.y, title, Style(Font.BOLD, 18))
        self.y -= 30

    def _parties(self) -> None:
        document, text = self.document, self.text
        top = self.y
        self._party(text.label("seller"), document.seller, registration=True)
        self.y -= 10
        self._party(text.label("customer"), document.buyer, registration=False)
        left_bottom = self.y
        self.y = top
        meta = [("number", document.number), ("issue_date", text.date(document.issue_date))]
        if document.due_date is not None:
            meta.append(("due_date", text.date(document.due_date)))
        if document.period_start is not None and document.period_end is not None:
            period = f"{text.date(document.period_start)} {_DASH} {text.date(document.period_end)}"
            meta.append(("period", period))
        if document.buyer_reference:
            meta.append(("buyer_reference", document.buyer_reference))
        for key, value in meta:
            self.canvas.text(_META_LEFT, self.y, text.label(key), _MUTED_BODY)
            self._paragraph(value, _STRONG, _META_VALUE, _RIGHT - _META_VALUE)
        self.y = min(self.y, left_bottom) - 8
        if document.kind is DocumentKind.CREDIT_NOTE and document.corrects:
            day = document.corrects_issue_date
            date = text.date(day) if day else _DASH
            self._paragraph(text.label("corrects", number=document.corrects, date=date), _STRONG)
        self.y -= 12

    def _party(self, caption: str, party: Party, *, registration: bool) -> None:
        self._paragraph(caption, _CAPTION, limit=_PARTY_WIDTH)
        self._paragraph(party.name, _STRONG, limit=_PARTY_WIDTH)
        address = party.address
        place = " ".join(part for part in (address.postal_code, address.city) if part)
        country = self.text.locale.territories.get(address.country, address.country)
        vat_id = f"{self.text.label('vat_id')} {party.vat_id}" if party.vat_id else None
        for line in (*address.lines, place, country, vat_id, registration and party.registration):
            if line:
                self._paragraph(line, limit=_PARTY_WIDTH)

    # Lines

    def _table(self) -> None:
        self.in_table = True
        self._ensure(60)
        self._table_header()
        if self.by_cost_centre:
            self._cost_centres()
        else:
            self._rows(self.document.lines)
        self.in_table = False

    def _cost_centres(self) -> None:
        # Sorted so a finance team finds its cost centre; lines keep their order within.
        ordered = sorted(
            self.document.lines, key=lambda line: (line.cost_centre is None, line.cost_centre or "")
        )
        for centre, group in groupby(ordered, key=lambda line: line.cost_centre):
            items = tuple(group)
            name = centre or _DASH
            self._ensure(40)
            self.canvas.text(_CELL, self.y, f"{self.text.label('cost_centre')}: {name}", _STRONG)
            self.y -= 14
            self._rows(items)
            self._ensure(16)
            label = f"{self.text.label('subtotal')} {name}"
            self.canvas.text(_CELL, self.y, label, _STRONG)
            subtotal = self.text.money(sum(item.net for item in items))
            self.canvas.text_right(_AMOUNT_RIGHT, self.y, subtotal, _STRONG)
            self.y -= 20

    def _table_header(self) -> None:
        self.canvas.rect(_LEFT, self.y - 5, _RIGHT - _LEFT, 16, _SHADE)
        self.canvas.text(_CELL, self.y, self.text.label("description"), _COLUMN)
        for right, key in (
            (_QUANTITY_RIGHT, "quantity"),
            (_PRICE_RIGHT, "unit_price"),
            (_VAT_RIGHT, "vat_rate"),
            (_AMOUNT_RIGHT, "net"),
        ):
            self.canvas.text_right(right, self.y, self.text.label(key), _COLUMN)
        self.y -= 20

    def _rows(self, lines: tuple[DocumentLine, ...]) -> None:
        previous: tuple[object, object] = (None, None)
        for line in lines:
            period = (line.period_start, line.period_end)
            # Itemised lines of one session share its period: print it once.
            self._row(line, show_period=period != previous)
            previous = period

    def _row(self, line: DocumentLine, *, show_period: bool) -> None:
        text = self.text
        description = _wrap(line.description, _BODY, _DESCRIPTION_WIDTH)
        notes = [
            wrapped
            for note in self._line_notes(line, show_period=show_period)
            for wrapped in _wrap(note, _SMALL, _NOTES_WIDTH)
        ]
        height = len(description) * _BODY.leading + len(notes) * _SMALL.leading
        # A row taller than a page has to split anyway, so it starts where it is.
        self._ensure(height if height <= _ROOM else _BODY.leading)
        quantity = text.number(line.quantity, digits=0 if line.unit == "C62" else 3)
        cells = (
            (_QUANTITY_RIGHT, f"{quantity} {_UNITS.get(line.unit, line.unit)}".rstrip()),
            (_PRICE_RIGHT, text.price(line.unit_price)),
            (_VAT_RIGHT, f"{text.percent(line.vat_rate)} %"),
            (_AMOUNT_RIGHT, text.money(line.net)),
        )
        parts = [*((part, _BODY) for part in description), *((note, _SMALL) for note in notes)]
        for index, (part, style) in enumerate(parts):
            self._ensure(style.leading)
            # Left to right, so that text extraction reads the row as one line.
            self.canvas.text(_CELL, self.y, part, style)
            for right, value in cells if index == 0 else ():
                self.canvas.text_right(right, self.y, value)
            self.y -= style.leading
        self.canvas.line(_LEFT, self.y + 5, _RIGHT, self.y + 5)
        self.y -= 8

    def _line_notes(self, line: DocumentLine, *, show_period: bool) -> Iterator[str]:
        text = self.text
        yield from line.details
        tags = [
            f"{text.label(key)}: {value}"
            for key, value in (
                ("card", line.card),
                ("driver", line.driver),
                ("vehicle", line.vehicle),
                # Grouped by cost centre, the group's heading already names it.
                ("cost_centre", None if self.by_cost_centre else line.cost_centre),
            )
            if value
        ]
        if tags:
            yield " · ".join(tags)
        if show_period and line.period_start is not None and line.period_end is not None:
            yield f"{text.datetime(line.period_start)} {_DASH} {text.datetime(line.period_end)}"

    # Totals and what to do about them

    def _totals(self) -> None:
        document, text = self.document, self.text
        rows = [(text.label("total_net"), text.money(document.total_net), _BODY, "")]
        for subtotal in document.vat:
            rate, taxable = text.percent(subtotal.rate), text.money(subtotal.taxable)
            label = text.label("vat_on", rate=rate, taxable=taxable)
            rows.append((label, text.money(subtotal.vat), _BODY, subtotal.exemption_reason or ""))
        rows.append((text.label("total_gross"), text.money(document.total_gross), _STRONG, ""))
        if document.paid:
            rows.append((text.label("paid"), text.money(document.paid), _BODY, ""))
        # A credit note's amount is refunded, not due: the sentence below says so.
        if document.kind is not DocumentKind.CREDIT_NOTE:
            rows.append((text.label("payable"), text.money(document.payable), _STRONG, ""))
        self.y -= 6
        self._ensure(sum(14 + (9 if reason else 0) for *_, reason in rows) + 10)
        for index, (label, amount, style, reason) in enumerate(rows):
            if style is _STRONG and index == len(rows) - 1:
                self.canvas.line(_TOTALS_LEFT, self.y + 11, _RIGHT, self.y + 11, INK)
            self.canvas.text(_TOTALS_LEFT + _PAD, self.y, label, style)
            self.canvas.text_right(_AMOUNT_RIGHT, self.y, amount, style)
            self.y -= 14
            if reason:
                self.canvas.text(_TOTALS_LEFT + _PAD, self.y + 3, reason, _SMALL)
                self.y -= 9
        self.y -= 14

    def _closing(self) -> None:
        document, text = self.document, self.text
        if document.kind is DocumentKind.CREDIT_NOTE:
            self._paragraph(text.label("refund", amount=text.money(document.total_gross)))
        elif document.payable > 0 and document.payment_iban:
            iban = document.payment_iban
            if document.payment_bic:
                iban = f"{iban} (BIC {document.payment_bic})"
            # Without a due date the amount is due on issue.
            due = text.date(document.due_date or document.issue_date)
            amount = text.money(document.payable)
            sentence = text.label(
                "payment", amount=amount, date=due, iban=iban, number=document.number
            )
            self._paragraph(sentence)
        elif document.payable == 0 and document.paid > 0:
            self._paragraph(text.label("nothing_due"))
        for note in document.notes:
            self.y -= 4
            self._paragraph(note)
        if document.payment_terms:
            self.y -= 4
            self._paragraph(document.payment_terms, _MUTED_BODY)
