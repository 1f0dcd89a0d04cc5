"""The tariff editor's form: its fields, read into the engine's Tariff, and back.

Every input has a stable name (``elements-0-energy-price``) and every problem is reported
under the name of the input it concerns, so the page shows it beside that input. The values
are checked here one by one, with messages an operator understands, before the engine's own
model checks them again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from voltlane.tariff import (
    DayOfWeek,
    Dimension,
    DisplayText,
    IdleFee,
    Price,
    PriceComponent,
    Reservation,
    SampleSession,
    Segment,
    SegmentKind,
    Tariff,
    TariffElement,
    TariffError,
    TariffRestrictions,
)
from voltlane.web.i18n import N_

MAX_ELEMENTS = 20
MAX_FIELD = 200
PRICE_PLACES = 4  # OCPI numbers carry at most four decimals
CODE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,35}")
TIME_RE = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
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
MUST_BE_NUMBER = N_("Enter a number, such as 0.39.")
NOT_NEGATIVE = N_("Must not be negative.")
TOO_PRECISE = N_("Use at most 4 decimal places.")
BAD_VAT = N_("Enter a VAT rate from 0 to 100.")
BAD_STEP = N_("Enter a whole number of at least 1.")
BAD_MINUTES = N_("Enter minutes that make whole seconds, such as 1.5.")
BAD_TIME = N_("Enter a time as HH:MM.")
BAD_DATE = N_("Enter a date as YYYY-MM-DD.")
BAD_DATETIME = N_("Enter a date and time.")
ABOVE_MIN = N_("Must be more than the minimum.")
ENDS_AFTER_START = N_("Must be after the start.")


@dataclass
class TariffForm:
    """What the editor shows: the text of every input, the ticked days, the element rows
    (by their stable index) and the problems by input name."""

    values: dict[str, str] = field(default_factory=dict)
    days: dict[int, list[str]] = field(default_factory=dict)
    elements: list[int] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    form_error: str | None = None
    focus: str | None = None  # the input to focus after an element row was added

    def get(self, name: str) -> str:
        return self.values.get(name, "")

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


def read_form(items: Iterable[tuple[str, Any]]) -> TariffForm:
    """The editor's posted inputs (each cut to a sane length), keeping what was typed."""
    form = TariffForm()
    indexes: set[int] = set()
    for name, raw in items:
        if not isinstance(raw, str) or len(name) > 64:
            continue
        value = raw.strip()[:MAX_FIELD]
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


class _Reader:
    """Reads typed values, noting a message under the input's name for each bad one."""

    def __init__(self, form: TariffForm) -> None:
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


def _restrictions(read: _Reader, i: int) -> TariffRestrictions | None:
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
    days = read.form.days.get(i, [])
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


def _element(read: _Reader, i: int) -> TariffElement | None:
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
    restrictions = _restrictions(read, i)
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


def _price(read: _Reader, prefix: str) -> Price | None:
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


def _idle_fee(read: _Reader) -> IdleFee | None:
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


def _segment(read: _Reader) -> Segment | None:
    try:
        kind = SegmentKind(read.form.get("segment"))
    except ValueError:
        read.fail("segment", N_("Choose a customer segment."))
        return None
    ref = read.form.get("segment_ref") or None
    if ref is not None and kind in (SegmentKind.PUBLIC, SegmentKind.MEMBER):
        read.fail(
            "segment_ref",
            N_("Only subscription, fleet and roaming prices name a plan, contract or partner."),
        )
        return None
    if ref is not None and len(ref) > 64:
        read.fail("segment_ref", N_("Use at most 64 characters."))
        return None
    return Segment(kind, ref)


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
    read = _Reader(form)
    if not CODE_RE.fullmatch(code):
        read.fail("code", N_("Use 1 to 36 letters, digits, dots, dashes or underscores."))
    segment = _segment(read)
    start = read.local_datetime("valid_from", zone)
    end = read.local_datetime("valid_to", zone)
    if start is not None and start < now.replace(second=0, microsecond=0):
        read.fail("valid_from", N_("Must not be in the past: leave it empty to start now."))
    start = start or now
    if end is not None and end <= start:
        read.fail("valid_to", ENDS_AFTER_START)
    elements = [_element(read, i) for i in form.elements]
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


# -- the sample session of a preview ------------------------------------------------------


@dataclass
class SampleForm:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "")


SAMPLE_FIELDS = (
    "sample-start",
    "sample-charging",
    "sample-energy",
    "sample-power",
    "sample-parking",
    "sample-segment",
    "sample-segment_ref",
)


def sample_form(items: Iterable[tuple[str, Any]], *, default_start: datetime) -> SampleForm:
    """The sample's inputs as posted, or a typical session (an hour, 20 kWh at 22 kW,
    starting ``default_start``) for the fields left out entirely."""
    given = {k: str(v).strip()[:MAX_FIELD] for k, v in items if k in SAMPLE_FIELDS}
    defaults = {
        "sample-start": default_start.strftime("%Y-%m-%dT%H:%M"),
        "sample-charging": "60",
        "sample-energy": "20",
        "sample-power": "22",
        "sample-parking": "0",
        "sample-segment": SegmentKind.PUBLIC.value,
        "sample-segment_ref": "",
    }
    return SampleForm({k: given.get(k, v) for k, v in defaults.items()})


def parse_sample(sample: SampleForm, zone: ZoneInfo) -> tuple[SampleSession, Segment] | None:
    """The sample session and segment, or None with the problems in ``sample.errors``."""
    form = TariffForm(values=sample.values)
    read = _Reader(form)
    start = read.local_datetime("sample-start", zone)
    if start is None and "sample-start" not in form.errors:
        read.fail("sample-start", BAD_DATETIME)
    charging = _required(read, read.minutes, "sample-charging")
    if charging == 0:
        read.fail("sample-charging", N_("Must be more than zero."))
    energy = _required(read, read.decimal, "sample-energy")
    power = read.decimal("sample-power")
    parking = read.minutes("sample-parking") or 0
    for name, limit in (("sample-charging", 7 * 24 * 60), ("sample-parking", 7 * 24 * 60)):
        value = read.decimal(name)
        if value is not None and value > limit:
            read.fail(name, N_("Use at most a week (10080 minutes)."))
    segment = _segment(_SampleSegment(form)) if form.get("sample-segment") else None
    sample.errors = form.errors
    if form.errors or start is None or charging is None or energy is None:
        return None
    session = SampleSession(
        start=start,
        time_zone=zone,
        charging=timedelta(seconds=charging),
        energy_kwh=energy,
        max_power_kw=power,
        parking=timedelta(seconds=parking),
    )
    return session, segment or Segment(SegmentKind.PUBLIC)


def _required(read: _Reader, parse: Callable[[str], Any], name: str) -> Any:
    if not read.form.get(name):
        read.fail(name, N_("Enter a value."))
        return None
    return parse(name)


class _SampleSegment(_Reader):
    """Reads the sample's segment inputs as the editor reads its own."""

    def __init__(self, form: TariffForm) -> None:
        super().__init__(
            TariffForm(
                values={
                    "segment": form.get("sample-segment"),
                    "segment_ref": form.get("sample-segment_ref"),
                }
            )
        )
        self.target = form

    def fail(self, name: str, message: str) -> None:
        self.target.errors.setdefault(f"sample-{name}", message)
