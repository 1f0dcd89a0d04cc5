"""Typed inputs read from a form, each problem noted beside the input it concerns.

The tariff editor and the preview's sample session read their numbers, times and dates the
same way, with messages an operator understands, before the engine's model checks them again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from voltlane.tariff import Segment, SegmentKind
from voltlane.web.i18n import N_

MAX_FIELD = 200
PRICE_PLACES = 4  # OCPI numbers carry at most four decimals
TIME_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")

MUST_BE_NUMBER = N_("Enter a number, such as 0.39.")
NOT_NEGATIVE = N_("Must not be negative.")
TOO_PRECISE = N_("Use at most 4 decimal places.")
BAD_VAT = N_("Enter a VAT rate from 0 to 100.")
BAD_STEP = N_("Enter a whole number of at least 1.")
BAD_MINUTES = N_("Enter minutes that make whole seconds, such as 1.5.")
BAD_TIME = N_("Enter a time as HH:MM.")
BAD_DATE = N_("Enter a date as YYYY-MM-DD.")
BAD_DATETIME = N_("Enter a date and time.")


@dataclass
class FormValues:
    """The text of every input as typed, and the problems by input name."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def cut(raw: Any) -> str:
    """A posted value trimmed and cut to a sane length."""
    return str(raw).strip()[:MAX_FIELD]


class FieldReader:
    """Reads typed values, noting a message under the input's name for each bad one."""

    def __init__(self, form: FormValues) -> None:
        self.form = form

    def fail(self, name: str, message: str) -> None:
        self.form.errors.setdefault(name, message)

    def decimal(
        self, name: str, *, upper: Decimal | None = None, upper_message: str = BAD_VAT
    ) -> Decimal | None:
        text = self.form.get(name)
        if not text:
            return None
        if "," in text and "." not in text:
            text = text.replace(",", ".", 1)  # a decimal comma, as typed in much of Europe
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            self.fail(name, MUST_BE_NUMBER)
            return None
        if value < 0:
            self.fail(name, NOT_NEGATIVE)
            return None
        if upper is not None and value > upper:
            self.fail(name, upper_message)
            return None
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -PRICE_PLACES:
            self.fail(name, TOO_PRECISE)
            return None
        return value

    def step(self, name: str, default: int) -> int | None:
        text = self.form.get(name)
        if not text:
            return default
        if not text.isdigit() or int(text) < 1 or len(text) > 9:
            self.fail(name, BAD_STEP)
            return None
        return int(text)

    def minutes(self, name: str) -> int | None:
        """Minutes typed, in whole seconds."""
        value = self.decimal(name)
        if value is None:
            return None
        seconds = value * 60
        if seconds != seconds.to_integral_value() or seconds > 10**9:
            self.fail(name, BAD_MINUTES)
            return None
        return int(seconds)

    def time(self, name: str) -> time | None:
        text = self.form.get(name)
        if not text:
            return None
        if not (match := TIME_RE.fullmatch(text[:5])) or len(text) not in (5, 8):
            self.fail(name, BAD_TIME)
            return None
        return time(int(match[1]), int(match[2]))

    def date(self, name: str) -> date | None:
        text = self.form.get(name)
        if not text:
            return None
        try:
            value = date.fromisoformat(text)
        except ValueError:
            value = None
        if value is None or len(text) != 10:
            self.fail(name, BAD_DATE)
            return None
        return value

    def local_datetime(self, name: str, zone: ZoneInfo) -> datetime | None:
        """A ``datetime-local`` input, read as wall time in ``zone``."""
        text = self.form.get(name)
        if not text:
            return None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            self.fail(name, BAD_DATETIME)
            return None
        if value.tzinfo is not None or not 1900 < value.year < 9999:
            self.fail(name, BAD_DATETIME)
            return None
        return value.replace(tzinfo=zone)

    def ordered(self, low: str, high: str, values: dict[str, Any], message: str) -> None:
        lower, upper = values.get(low), values.get(high)
        if lower is not None and upper is not None and lower >= upper:
            self.fail(high, message)
            values[high] = None

    def required(self, name: str) -> bool:
        """Whether ``name`` was filled in; notes "Enter a value." if not."""
        if not self.form.get(name):
            self.fail(name, N_("Enter a value."))
            return False
        return True

    def segment(self, kind_name: str, ref_name: str) -> Segment | None:
        """A customer segment from a kind and an optional plan, contract or partner."""
        try:
            kind = SegmentKind(self.form.get(kind_name))
        except ValueError:
            self.fail(kind_name, N_("Choose a customer segment."))
            return None
        ref = self.form.get(ref_name) or None
        if ref is not None and kind in (SegmentKind.PUBLIC, SegmentKind.MEMBER):
            self.fail(
                ref_name,
                N_("Only subscription, fleet and roaming prices name a plan, contract or partner."),
            )
            return None
        if ref is not None and len(ref) > 64:
            self.fail(ref_name, N_("Use at most 64 characters."))
            return None
        return Segment(kind, ref)
