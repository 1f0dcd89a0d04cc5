"""Numbers typed by staff the way the brand's language writes them ("12,50" in German).

Babel reads them with the brand locale's decimal and group symbols, strictly: "52.5200" in
German (where "." groups thousands) is refused rather than read as 525,200. Exponents and
words such as NaN are never numbers here.
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel.numbers import NumberFormatError, get_group_symbol, parse_decimal

# A plain number with "." as its decimal point, as maps and GPS devices print coordinates.
POINT_DECIMAL_RE = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
SPACES = {"\u00a0", "\u202f"}  # group symbols a keyboard types as an ordinary space


def parse_localized(text: str, locale: str, *, point: bool = False) -> Decimal:
    """``text`` as the exact Decimal it says in ``locale``; with ``point`` a plain number
    with "." as its decimal point is accepted too. ValueError when it is no number."""
    text = text.strip().replace("\u2212", "-")  # the typographic minus sign
    if not text or any(char.isalpha() for char in text):
        raise ValueError(text)
    if point and POINT_DECIMAL_RE.match(text):
        return Decimal(text)
    group = get_group_symbol(locale)
    if group in SPACES:
        text = text.replace(" ", group)
    try:
        number = parse_decimal(text, locale=locale, strict=True)
    except NumberFormatError as exc:
        raise ValueError(text) from exc
    if not number.is_finite():
        raise ValueError(text)
    return number
