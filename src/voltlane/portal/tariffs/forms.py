"""The tariff editor's form: its fields, read into the engine's Tariff, and back.

Every input has a stable name (``elements-0-energy-price``) and every problem is reported
under the name of the input it concerns, so the page shows it beside that input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from voltlane.portal.tariffs.reader import FieldReader, FormValues, cut
from voltlane.tariff import (
    DayOfWeek,
    Dimension,
    DisplayText,
    IdleFee,
    Price,
    PriceComponent,
    Reservation,
    Segment,
    SegmentKind,
    Tariff,
    TariffElement,
    TariffError,
    TariffRestrictions,
)
from voltlane.web.i18n import N_

MAX_ELEMENTS = 20
CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,35}")
ELEMENT_RE = re.compile(r"elements-(\d{1,3})-")

# (form name, dimension, label, step unit) of each price component of an element.
COMPONENTS: tuple[tuple[str, Dimension, str, str | None], ...] = (
    ("energy", Dimension.ENERGY, N_("Energy, per kWh"), N_("Step (Wh)")),
    ("time", Dimension.TIME, N_("Charging time, per hour"), N_("Step (seconds)")),
    ("parking", Dimension.PARKING_TIME, N_("Parking time, per hour"), N_("Step (seconds)")),
    ("flat", Dimension.FLAT, N_("Session fee, per session"), None),
)
DAYS: tuple[tuple[DayOfWeek, str], ...] = (
    (DayOfWeek.MONDAY, N_("Monday")),
    (DayOfWeek.TUESDAY, N_("Tuesday")),
    (DayOfWeek.WEDNESDAY, N_("Wednesday")),
    (DayOfWeek.THURSDAY, N_("Thursday")),
    (DayOfWeek.FRIDAY, N_("Friday")),
    (DayOfWeek.SATURDAY, N_("Saturday")),
    (DayOfWeek.SUNDAY, N_("Sunday")),
)
SEGMENTS: tuple[tuple[SegmentKind, str], ...] = (
    (SegmentKind.PUBLIC, N_("Public (ad hoc)")),
    (SegmentKind.MEMBER, N_("Members")),
    (SegmentKind.SUBSCRIPTION, N_("Subscription plan")),
    (SegmentKind.FLEET, N_("Fleet contract")),
    (SegmentKind.ROAMING, N_("Roaming partner")),
)
RESERVATIONS: tuple[tuple[Reservation, str], ...] = (
    (Reservation.RESERVATION, N_("During a reservation")),
    (Reservation.RESERVATION_EXPIRES, N_("When a reservation expires unused")),
)
# Restrictions by (low, high) pair: form names and the unit they are typed in.
DECIMAL_RANGES = (
    ("min_kwh", "max_kwh"),
    ("min_current", "max_current"),
    ("min_power", "max_power"),
)
MINUTE_RANGE = ("min_duration", "max_duration")  # typed in minutes, stored in seconds
CONDITIONS = (
    "start_time",
    "end_time",
    "start_date",
    "end_date",
    *(name for pair in DECIMAL_RANGES for name in pair),
    *MINUTE_RANGE,
    "reservation",
)

PARTS = ("price", "vat", "step_size")  # the inputs of one price component
ABOVE_MIN = N_("Must be more than the minimum.")
ENDS_AFTER_START = N_("Must be after the start.")


@dataclass
class TariffForm(FormValues):
    """What the editor shows: the text of every input, the ticked days, the element rows
    (by their stable index) and the problems by input name."""

    days: dict[int, list[str]] = field(default_factory=dict)
    elements: list[int] = field(default_factory=list)
    form_error: str | None = None
    focus: str | None = None  # the input to focus after an element row was added

    def conditions_open(self, index: int) -> bool:
        """Whether element ``index`` has conditions set (or wrong) to show unfolded."""
        prefix = f"elements-{index}-"
        names = [*CONDITIONS, "day_of_week"]
        return bool(self.days.get(index)) or any(
            self.get(prefix + name) or prefix + name in self.errors for name in names
        )

    def add_element(self) -> None:
        if len(self.elements) >= MAX_ELEMENTS:
            self.errors["elements"] = N_("A tariff has at most 20 elements.")
            return
        index = max(self.elements, default=-1) + 1
        self.elements.append(index)
        self.focus = f"elements-{index}-energy-price"

    def remove_element(self, index: int) -> None:
        if index in self.elements:
            self.elements.remove(index)
        self.focus = "add_element"  # the removed row's button is gone: focus stays nearby


def read_form(items: Iterable[tuple[str, Any]]) -> TariffForm:
    """The editor's posted inputs (each cut to a sane length), keeping what was typed."""
    form = TariffForm()
    indexes: set[int] = set()
    for name, raw in items:
        if not isinstance(raw, str) or len(name) > 64:
            continue
        value = cut(raw)
        if match := ELEMENT_RE.match(name):
            index = int(match[1])
            indexes.add(index)
            if name == f"elements-{index}-day_of_week":
                form.days.setdefault(index, []).append(value)
                continue
            if name == f"elements-{index}-present":
                continue
        form.values[name] = value
    form.elements = sorted(indexes)[:MAX_ELEMENTS]
    return form


@dataclass(frozen=True, slots=True)
class TariffInput:
    """A valid editor form: the engine's tariff (idle fee included) and its segment."""

    tariff: Tariff
    segment: Segment


def _restrictions(read: FieldReader, i: int, days: list[str]) -> TariffRestrictions | None:
    p = f"elements-{i}-"
    values: dict[str, Any] = {
        "start_time": read.time(f"{p}start_time"),
        "end_time": read.time(f"{p}end_time"),
        "start_date": read.date(f"{p}start_date"),
        "end_date": read.date(f"{p}end_date"),
    }
    for low, high in DECIMAL_RANGES:
        values[low] = read.decimal(p + low)
        values[high] = read.decimal(p + high)
        read.ordered(p + low, p + high, {p + k: values[k] for k in (low, high)}, ABOVE_MIN)
    for name in MINUTE_RANGE:
        values[name] = read.minutes(p + name)
    read.ordered(
        p + "min_duration",
        p + "max_duration",
        {p + k: values[k] for k in MINUTE_RANGE},
        ABOVE_MIN,
    )
    read.ordered(
        p + "start_date",
        p + "end_date",
        {p + "start_date": values["start_date"], p + "end_date": values["end_date"]},
        N_("Must be after the first day."),
    )
    known = {day.value: day for day, _ in DAYS}
    if any(day not in known for day in days):
        read.fail(f"{p}day_of_week", N_("Choose days of the week from the list."))
    values["day_of_week"] = tuple(day for day, _ in DAYS if day.value in days)
    reservation = read.form.get(f"{p}reservation")
    values["reservation"] = None
    if reservation:
        try:
            values["reservation"] = Reservation(reservation)
        except ValueError:
            read.fail(f"{p}reservation", N_("Choose when this element applies from the list."))
    if any(f"{p}{name}" in read.form.errors for name in values):
        return None
    if not any(v not in (None, ()) for v in values.values()):
        return None
    return TariffRestrictions(**values)


def _element(read: FieldReader, i: int, days: list[str]) -> TariffElement | None:
    p = f"elements-{i}-"
    components = []
    for name, dimension, _label, _unit in COMPONENTS:
        price = read.decimal(f"{p}{name}-price")
        vat = read.decimal(f"{p}{name}-vat", upper=Decimal(100))
        step = read.step(f"{p}{name}-step_size", 1) if dimension is not Dimension.FLAT else 1
        given = read.form.get(f"{p}{name}-vat") or read.form.get(f"{p}{name}-step_size")
        wrong = any(f"{p}{name}-{part}" in read.form.errors for part in PARTS)
        if price is None and given and not wrong:
            read.fail(f"{p}{name}-price", N_("Enter the price, or clear the VAT and step."))
        if price is not None and step is not None:
            components.append(PriceComponent(dimension, price, vat, step))
    restrictions = _restrictions(read, i, days)
    if any(key.startswith(p) for key in read.form.errors):
        return None
    if not components:
        read.fail(f"elements-{i}", N_("Give this element at least one price."))
        return None
    reserved = restrictions is not None and restrictions.reservation is not None
    if reserved and any(c.dimension not in (Dimension.FLAT, Dimension.TIME) for c in components):
        read.fail(
            f"{p}reservation",
            N_("A reservation is priced by charging time and the session fee only."),
        )
        return None
    return TariffElement(tuple(components), restrictions)


def _price(read: FieldReader, prefix: str) -> Price | None:
    excl = read.decimal(f"{prefix}_excl_vat")
    incl = read.decimal(f"{prefix}_incl_vat")
    if excl is None:
        if incl is not None:
            read.fail(f"{prefix}_excl_vat", N_("Enter the amount excl. VAT too."))
        return None
    if incl is not None and incl < excl:
        read.fail(f"{prefix}_incl_vat", N_("Must not be below the amount excl. VAT."))
        return None
    return Price(excl, incl)


def _idle_fee(read: FieldReader) -> IdleFee | None:
    names = ("idle_fee_price", "idle_fee_grace", "idle_fee_step", "idle_fee_cap", "idle_fee_vat")
    price = read.decimal("idle_fee_price")
    grace = read.minutes("idle_fee_grace")
    step = read.step("idle_fee_step", 60)
    cap = read.decimal("idle_fee_cap")
    vat = read.decimal("idle_fee_vat", upper=Decimal(100))
    if price is None:
        if any(read.form.get(n) for n in names[1:]) and "idle_fee_price" not in read.form.errors:
            read.fail("idle_fee_price", N_("Enter the price per minute, or clear the idle fee."))
        return None
    if step is None or any(n in read.form.errors for n in names):
        return None
    return IdleFee(price, grace or 0, step, cap, vat)


def parse_tariff(
    form: TariffForm,
    *,
    code: str,
    currency: str,
    zone: ZoneInfo,
    language: str,
    now: datetime,
) -> TariffInput | None:
    """The tariff the form describes, or None with every problem in ``form.errors``.

    An empty valid-from starts the version ``now``; a filled one must not lie in the past
    (a version never reprices sessions that have started).
    """
    read = FieldReader(form)
    if not CODE_RE.fullmatch(code):
        read.fail("code", N_("Use 1 to 36 letters, digits, dots, dashes or underscores."))
    segment = read.segment("segment", "segment_ref")
    start = read.local_datetime("valid_from", zone)
    end = read.local_datetime("valid_to", zone)
    if start is not None and start < now.replace(second=0, microsecond=0):
        read.fail("valid_from", N_("Must not be in the past: leave it empty to start now."))
    start = start or now
    if end is not None and end <= start:
        read.fail("valid_to", ENDS_AFTER_START)
    elements = [_element(read, i, form.days.get(i, [])) for i in form.elements]
    if not form.elements:
        read.fail("elements", N_("Add at least one element."))
    low, high = _price(read, "min_price"), _price(read, "max_price")
    if (
        low is not None
        and high is not None
        and (
            low.excl_vat > high.excl_vat
            or (
                low.incl_vat is not None
                and high.incl_vat is not None
                and low.incl_vat > high.incl_vat
            )
        )
    ):
        read.fail("min_price_excl_vat", N_("Must not be above the maximum price."))
    idle_fee = _idle_fee(read)
    description = form.get("description")
    if len(description) > 512:
        read.fail("description", N_("Use at most 512 characters."))
    if form.errors or segment is None:
        return None
    try:
        tariff = Tariff(
            id=code,
            currency=currency,
            elements=tuple(e for e in elements if e is not None),
            min_price=low,
            max_price=high,
            start_date_time=start,
            end_date_time=end,
            idle_fee=idle_fee,
            tariff_alt_text=(DisplayText(language, description),) if description else (),
            last_updated=now,
        )
    except TariffError as error:  # the engine's own checks, should a rule slip past the above
        form.form_error = error.detail
        return None
    return TariffInput(tariff, segment)


def _text(value: Decimal | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _minutes(seconds: int | None) -> str:
    return "" if seconds is None else _text(Decimal(seconds) / 60)


def _local(value: datetime | None, zone: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def form_of_tariff(tariff: Tariff, segment: Segment, zone: ZoneInfo) -> TariffForm:
    """The editor filled in with ``tariff`` (to base a new version on it); valid-from and
    valid-to are left empty for the new version to choose."""
    form = TariffForm()
    v = form.values
    v["segment"] = segment.kind.value
    v["segment_ref"] = segment.ref or ""
    for i, element in enumerate(tariff.elements):
        form.elements.append(i)
        p = f"elements-{i}-"
        for name, dimension, _label, unit in COMPONENTS:
            component = element.component(dimension)
            if component is not None:
                v[f"{p}{name}-price"] = _text(component.price)
                v[f"{p}{name}-vat"] = _text(component.vat)
                if unit is not None:
                    v[f"{p}{name}-step_size"] = _text(component.step_size)
        if element.restrictions is not None:
            _fill_restrictions(form, i, element.restrictions)
    _fill_terms(form, tariff)
    return form


def _fill_restrictions(form: TariffForm, i: int, r: TariffRestrictions) -> None:
    v, p = form.values, f"elements-{i}-"
    for name in ("start_time", "end_time"):
        if (t := getattr(r, name)) is not None:
            v[p + name] = t.strftime("%H:%M")
    for name in ("start_date", "end_date"):
        if (d := getattr(r, name)) is not None:
            v[p + name] = d.isoformat()
    for pair in DECIMAL_RANGES:
        for name in pair:
            v[p + name] = _text(getattr(r, name))
    for name in MINUTE_RANGE:
        v[p + name] = _minutes(getattr(r, name))
    form.days[i] = [day.value for day in r.day_of_week]
    v[p + "reservation"] = r.reservation.value if r.reservation else ""


def _fill_terms(form: TariffForm, tariff: Tariff) -> None:
    v = form.values
    for prefix in ("min_price", "max_price"):
        price = getattr(tariff, prefix)
        if price is not None:
            v[f"{prefix}_excl_vat"] = _text(price.excl_vat)
            v[f"{prefix}_incl_vat"] = _text(price.incl_vat)
    fee = tariff.idle_fee
    if fee is not None:
        v["idle_fee_price"] = _text(fee.price_per_minute)
        v["idle_fee_grace"] = _minutes(fee.grace)
        v["idle_fee_step"] = _text(fee.step_size)
        v["idle_fee_cap"] = _text(fee.cap)
        v["idle_fee_vat"] = _text(fee.vat)
    if tariff.tariff_alt_text:
        v["description"] = tariff.tariff_alt_text[0].text


def blank_form() -> TariffForm:
    """A new tariff: public prices, one element to fill in."""
    form = TariffForm(values={"segment": SegmentKind.PUBLIC.value})
    form.elements.append(0)
    return form
