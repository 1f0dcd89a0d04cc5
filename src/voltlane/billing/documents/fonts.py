"""The two standard PDF fonts the invoice PDF uses: text in WinAnsiEncoding and its width.

Helvetica and Helvetica-Bold belong to the standard 14 fonts every PDF reader carries, so
nothing is embedded; the price is that text is limited to the 8-bit WinAnsiEncoding (cp1252),
which covers the Western European languages and the euro and pound signs.
"""

from __future__ import annotations

import enum

# Babel formats French and Swiss thousands and some times with spaces cp1252 lacks; printed
# as '?' they would garble every amount, so they become the no-break space cp1252 has.
_SUBSTITUTES = str.maketrans(
    {
        "\u202f": "\u00a0",  # narrow no-break space
        "\u2009": "\u00a0",  # thin space
        "\u2007": "\u00a0",  # figure space
        "\u2212": "-",  # minus sign
        "\t": " ",
        "\n": " ",
        "\r": " ",
    }
)
_CONTROL = frozenset(range(32)) | {127}
_UNDEFINED = b"?"


class Font(enum.Enum):
    REGULAR = "Helvetica"
    BOLD = "Helvetica-Bold"


def encode(text: str) -> bytes:
    """``text`` as WinAnsiEncoding bytes; characters it cannot carry become '?'."""
    data = text.translate(_SUBSTITUTES).encode("cp1252", errors="replace")
    if not _CONTROL.intersection(data):
        return data
    return bytes(_UNDEFINED[0] if byte in _CONTROL else byte for byte in data)


def width(text: str, font: Font, size: float) -> float:
    """The advance width of ``text`` in points, as a reader draws it (no kerning in Tj)."""
    widths = _WIDTHS[font]
    return sum(widths[byte - 32] for byte in encode(text)) * size / 1000


# Advance widths (1/1000 em) of cp1252 codes 32-255 from Adobe's Core 14 AFM files
# Helvetica.afm and Helvetica-Bold.afm: Copyright (c) 1985, 1987, 1989, 1990, 1997 Adobe
# Systems Incorporated. All Rights Reserved. Helvetica is a trademark of Linotype-Hell AG
# and/or its subsidiaries. Codes WinAnsiEncoding leaves undefined (127, 129, 141, 143, 144,
# 157) carry the bullet's width, the glyph PDF 1.4 readers print for them; encode() never
# produces them.
# fmt: off
_WIDTHS: dict[Font, tuple[int, ...]] = {
    Font.REGULAR: (
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,  # 32
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,  # 48
        1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,  # 64
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,  # 80
        333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,  # 96
        556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 350,  # 112
        556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,  # 128
        350, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667,  # 144
        278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333,  # 160
        400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834, 611,  # 176
        667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,  # 192
        722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,  # 208
        556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278, 278,  # 224
        556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,  # 240
    ),
    Font.BOLD: (
        278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,  # 32
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,  # 48
        975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,  # 64
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,  # 80
        333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,  # 96
        611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 350,  # 112
        556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350,  # 128
        350, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667,  # 144
        278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333,  # 160
        400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834, 611,  # 176
        722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278, 278,  # 192
        722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667, 611,  # 208
        556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278, 278,  # 224
        611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,  # 240
    ),
}
# fmt: on
