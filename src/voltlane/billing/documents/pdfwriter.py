"""The little of PDF 1.4 an invoice needs: pages of text in the two standard Helvetica
fonts (readers carry them, so nothing is embedded), lines and filled rectangles."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from voltlane.billing.documents.fonts import Font, encode, width

PAGE_WIDTH = 595.28  # A4 in points
PAGE_HEIGHT = 841.89
INK = "#1a1a1a"
HAIRLINE = "#cccccc"
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_FONT_RESOURCES = {Font.REGULAR: b"F1", Font.BOLD: b"F2"}


@dataclass(frozen=True, slots=True)
class Style:
    font: Font = Font.REGULAR
    size: float = 9.0
    color: str = INK

    @property
    def leading(self) -> float:
        return self.size * 1.3


_BODY = Style()


def _number(value: float) -> bytes:
    printed = f"{value:.2f}".rstrip("0").rstrip(".")
    return b"0" if printed == "-0" else printed.encode()


def _rgb(color: str) -> bytes:
    if not _COLOR.fullmatch(color):
        raise ValueError(f"a colour must be #rrggbb, got {color!r}")
    return b" ".join(_number(int(color[i : i + 2], 16) / 255) for i in (1, 3, 5))


def _literal(data: bytes) -> bytes:
    return b"(" + data.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _text_string(value: str) -> bytes:
    """A string outside content streams (the /Info dictionary): ASCII as it is, anything
    else as UTF-16BE, since PDFDocEncoding is not cp1252 above 127."""
    if value.isascii() and value.isprintable():
        return _literal(value.encode("ascii"))
    return b"<" + ("\ufeff" + value).encode("utf-16-be").hex().upper().encode() + b">"


class Canvas:
    """Drawing operations per page, in content-stream syntax, with A4's origin bottom left."""

    def __init__(self) -> None:
        self.pages: list[list[bytes]] = []
        self._page: list[bytes] = []

    def new_page(self) -> None:
        self._page = []
        self.pages.append(self._page)

    def turn_to(self, index: int) -> None:
        self._page = self.pages[index]

    def text(self, x: float, y: float, value: str, style: Style = _BODY) -> None:
        operands = (_rgb(style.color), _FONT_RESOURCES[style.font], _number(style.size))
        position = (_number(x), _number(y), _literal(encode(value)))
        self._page.append(b"BT %s rg /%s %s Tf %s %s Td %s Tj ET" % (*operands, *position))

    def text_right(self, right: float, y: float, value: str, style: Style = _BODY) -> None:
        self.text(right - width(value, style.font, style.size), y, value, style)

    def line(self, x1: float, y1: float, x2: float, y2: float, color: str = HAIRLINE) -> None:
        start, end = b"%s %s" % (_number(x1), _number(y1)), b"%s %s" % (_number(x2), _number(y2))
        self._page.append(b"%s RG 0.5 w %s m %s l S" % (_rgb(color), start, end))

    def rect(self, x: float, y: float, w: float, h: float, color: str) -> None:
        box = b" ".join(_number(value) for value in (x, y, w, h))
        self._page.append(b"%s rg %s re f" % (_rgb(color), box))


def write_pdf(pages: list[list[bytes]], title: str) -> bytes:
    """A PDF 1.4 file of the pages: catalog, page tree, fonts and /Info first, then each page
    followed by its compressed content stream, then the cross-reference table."""
    first_page = 6
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * index) for index in range(len(pages)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
        *(
            b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
            % font.value.encode()
            for font in (Font.REGULAR, Font.BOLD)
        ),
        b"<< /Title %s /Producer (Voltlane) >>" % _text_string(title),
    ]
    media_box = b"[0 0 %s %s]" % (_number(PAGE_WIDTH), _number(PAGE_HEIGHT))
    for index, operations in enumerate(pages):
        stream = zlib.compress(b"\n".join(operations), 9)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Resources"
            b" << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents %d 0 R >>"
            % (media_box, first_page + 2 * index + 1)
        )
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream)
        )
    # The second line's high bytes tell transfer tools the file is binary.
    output = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(output)
    # Each cross-reference entry is exactly 20 bytes, end of line included.
    output += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    output += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    output += b"trailer\n<< /Size %d /Root 1 0 R /Info 5 0 R >>\n" % (len(objects) + 1)
    output += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(output)
