"""A tariff in the words a driver reads before charging: "0,49 €/kWh · 1,00 € per session".

Prices are shown as drivers pay them, VAT included: a unit price is the net price times
(1 + VAT), rounded half up to four decimals (shown with at least the currency's two), an
amount (session fee, minimum, maximum, idle fee cap) is rounded half up to the minor unit.
The sentence follows the tariff's own order of elements; a component that only applies under
restrictions carries them in brackets (a time window, weekdays, "after 20 kWh"), and a later
unrestricted component of the same dimension reads "otherwise".

The phrases live here, per language, like the labels of invoice documents: the words are part
of the price a driver agrees to, so they are written and tested with the numbers. Numbers,
currencies, dates, times and day names come from Babel in the given locale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.dates import format_date, format_time, get_day_names
from babel.numbers import format_currency, format_decimal

from voltlane.tariff.model import (
    WEEKDAYS,
    Dimension,
    IdleFee,
    Price,
    PriceComponent,
    Reservation,
    Tariff,
    TariffRestrictions,
)
from voltlane.tariff.rounding import minor_unit_exponent

_UNIT_PRICE_DIGITS = Decimal("0.0001")
DASH = "\u2013"  # en dash: 22:00-06:00, Mon-Fri

_PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "ENERGY": "{price}/kWh",
        "TIME": "{price}/h charging",
        "PARKING_TIME": "{price}/h parking",
        "FLAT": "{price} per session",
        "idle": "{price}/min idle",
        "idle_after": "{price}/min idle after {grace}",
        "cap": "max. {amount}",
        "min_price": "at least {amount} per session",
        "max_price": "at most {amount} per session",
        "free": "Free",
        "step": "billed per {step}",
        "otherwise": "otherwise",
        "from": "from {value}",
        "until": "until {value}",
        "after": "after {value}",
        "first": "first {value}",
        "below": "below {value}",
        "reserved": "while reserved",
        "reservation_expired": "expired reservation",
        "vat": "incl. {rate} % VAT",
        "vat_mixed": "incl. VAT",
        "no_vat": "no VAT",
    },
    "de": {
        "ENERGY": "{price}/kWh",
        "TIME": "{price}/h Ladezeit",
        "PARKING_TIME": "{price}/h Parkzeit",
        "FLAT": "{price} pro Ladevorgang",
        "idle": "{price}/min Blockiergebühr",
        "idle_after": "{price}/min Blockiergebühr nach {grace}",
        "cap": "max. {amount}",
        "min_price": "mindestens {amount} pro Ladevorgang",
        "max_price": "höchstens {amount} pro Ladevorgang",
        "free": "Kostenlos",
        "step": "je angefangene {step}",
        "otherwise": "sonst",
        "from": "ab {value}",
        "until": "bis {value}",
        "after": "nach {value}",
        "first": "erste {value}",
        "below": "unter {value}",
        "reserved": "während der Reservierung",
        "reservation_expired": "verfallene Reservierung",
        "vat": "inkl. {rate} % MwSt.",
        "vat_mixed": "inkl. MwSt.",
        "no_vat": "ohne MwSt.",
    },
    "fr": {
        "ENERGY": "{price}/kWh",
        "TIME": "{price}/h de charge",
        "PARKING_TIME": "{price}/h de stationnement",
        "FLAT": "{price} par session",
        "idle": "{price}/min d'immobilisation",
        "idle_after": "{price}/min d'immobilisation après {grace}",
        "cap": "max. {amount}",
        "min_price": "au moins {amount} par session",
        "max_price": "au plus {amount} par session",
        "free": "Gratuit",
        "step": "par tranche de {step}",
        "otherwise": "sinon",
        "from": "à partir de {value}",
        "until": "jusqu'à {value}",
        "after": "après {value}",
        "first": "premiers {value}",
        "below": "moins de {value}",
        "reserved": "pendant la réservation",
        "reservation_expired": "réservation expirée",
        "vat": "TVA {rate} % incluse",
        "vat_mixed": "TVA incluse",
        "no_vat": "sans TVA",
    },
}
_ORDER = (Dimension.ENERGY, Dimension.TIME, Dimension.PARKING_TIME)


@dataclass(frozen=True, slots=True)
class TariffWords:
    """The parts of the price sentence (joined by " · ") and the VAT note beside it."""

    parts: tuple[str, ...]
    vat: str | None

    def __str__(self) -> str:
        return " · ".join(self.parts)


def gross(net: Decimal, vat: Decimal | None) -> Decimal:
    """A net amount with ``vat`` percent added (None: no VAT applies)."""
    return net if vat is None else net * (100 + vat) / 100


class _Speaker:
    """Formats the numbers and phrases of one tariff in one locale."""

    def __init__(self, locale: str, currency: str) -> None:
        self.locale = Locale.parse(locale)
        self.currency = currency
        self.phrases = _PHRASES.get(self.locale.language, _PHRASES["en"])

    def say(self, key: str, **values: str) -> str:
        return self.phrases[key].format(**values)

    def unit_price(self, net: Decimal, vat: Decimal | None) -> str:
        value = gross(net, vat).quantize(_UNIT_PRICE_DIGITS, rounding=ROUND_HALF_UP)
        return format_currency(
            value.normalize(),
            self.currency,
            locale=self.locale,
            currency_digits=False,
            decimal_quantization=False,
        )

    def amount(self, net: Decimal, vat: Decimal | None) -> str:
        minor = Decimal(1).scaleb(-minor_unit_exponent(self.currency))
        value = gross(net, vat).quantize(minor, rounding=ROUND_HALF_UP)
        return format_currency(value, self.currency, locale=self.locale)

    def number(self, value: Decimal) -> str:
        return format_decimal(value.normalize(), locale=self.locale)

    def duration(self, seconds: int) -> str:
        hours, rest = divmod(seconds, 3600)
        minutes, secs = divmod(rest, 60)
        parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
        parts.append(f"{secs} s" if secs or not (hours or minutes) else "")
        return " ".join(p for p in parts if p)

    def clock(self, value: time) -> str:
        return format_time(value, "short", locale=self.locale)

    def day(self, value: date) -> str:
        return format_date(value, "medium", locale=self.locale)

    def span(self, low: str | None, high: str | None, *, low_key: str, high_key: str) -> str:
        """A pair of bounds joined by an en dash, or one of them in words ("after 20 kWh")."""
        if low is not None and high is not None:
            return f"{low}{DASH}{high}"
        if low is not None:
            return self.say(low_key, value=low)
        return self.say(high_key, value=high or "")

    def quantity(self, value: Decimal | None, unit: str) -> str | None:
        return None if value is None else f"{self.number(value)} {unit}"

    def qualifiers(self, r: TariffRestrictions | None) -> list[str]:
        """The conditions of an element, in words; empty when nothing restricts it."""
        if r is None:
            return []
        found = []
        if r.reservation is Reservation.RESERVATION:
            found.append(self.say("reserved"))
        elif r.reservation is Reservation.RESERVATION_EXPIRES:
            found.append(self.say("reservation_expired"))
        if (r.start_time, r.end_time) != (None, None) and r.start_time != r.end_time:
            found.append(
                self.span(
                    None if r.start_time is None else self.clock(r.start_time),
                    None if r.end_time is None else self.clock(r.end_time),
                    low_key="from",
                    high_key="until",
                )
            )
        if r.day_of_week:
            found.append(day_ranges([WEEKDAYS.index(d) for d in r.day_of_week], self.locale))
        if r.start_date is not None or r.end_date is not None:
            last_day = None if r.end_date is None else r.end_date - timedelta(days=1)
            found.append(
                self.span(
                    None if r.start_date is None else self.day(r.start_date),
                    None if last_day is None else self.day(last_day),
                    low_key="from",
                    high_key="until",
                )
            )
        for low, high, unit, low_key, high_key in (
            (r.min_kwh, r.max_kwh, "kWh", "after", "first"),
            (r.min_power, r.max_power, "kW", "from", "below"),
            (r.min_current, r.max_current, "A", "from", "below"),
        ):
            if low is not None or high is not None:
                found.append(
                    self.span(
                        self.quantity(low, unit),
                        self.quantity(high, unit),
                        low_key=low_key,
                        high_key=high_key,
                    )
                )
        if r.min_duration is not None or r.max_duration is not None:
            found.append(
                self.span(
                    None if r.min_duration is None else self.duration(r.min_duration),
                    None if r.max_duration is None else self.duration(r.max_duration),
                    low_key="after",
                    high_key="first",
                )
            )
        return found

    def step(self, component: PriceComponent) -> str | None:
        if component.step_size <= 1 or component.dimension is Dimension.FLAT:
            return None
        if component.dimension is Dimension.ENERGY:
            size = f"{self.number(Decimal(component.step_size).scaleb(-3))} kWh"
        else:
            size = self.duration(component.step_size)
        return self.say("step", step=size)


def day_ranges(indexes: list[int], locale: Locale | str) -> str:
    """Weekdays (0 = Monday) as runs of abbreviated names in ``locale``: "Mon{DASH}Fri, Sun"."""
    names = get_day_names("abbreviated", locale=locale)
    runs: list[list[int]] = []
    for index in sorted(set(indexes)):
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    words = []
    for run in runs:
        if len(run) >= 3:
            words.append(f"{names[run[0]]}{DASH}{names[run[-1]]}")
        else:
            words.extend(names[index] for index in run)
    return ", ".join(words)


def _bracketed(text: str, qualifiers: list[str]) -> str:
    return f"{text} ({', '.join(qualifiers)})" if qualifiers else text


def _dimension_parts(speaker: _Speaker, tariff: Tariff, dimension: Dimension) -> list[str]:
    """The components of one dimension in element order. The first element whose
    restrictions hold prices a moment, so components after an unrestricted one never apply
    and are left out; a lone free unrestricted component says nothing worth reading."""
    found = [
        (component, element.restrictions)
        for element in tariff.elements
        for component in element.price_components
        if component.dimension is dimension
    ]
    parts: list[str] = []
    restricted_before = False
    for component, restrictions in found:
        qualifiers = speaker.qualifiers(restrictions)
        if not qualifiers and component.price == 0 and not restricted_before:
            break
        if not qualifiers and restricted_before:
            qualifiers = [speaker.say("otherwise")]
        step = speaker.step(component)
        if step is not None:
            qualifiers.append(step)
        if dimension is Dimension.FLAT:
            price = speaker.amount(component.price, component.vat)
        else:
            price = speaker.unit_price(component.price, component.vat)
        parts.append(_bracketed(speaker.say(dimension.value, price=price), qualifiers))
        if not speaker.qualifiers(restrictions):
            break
        restricted_before = True
    return parts


def _idle_part(speaker: _Speaker, fee: IdleFee) -> str:
    price = speaker.unit_price(fee.price_per_minute, fee.vat)
    if fee.grace:
        text = speaker.say("idle_after", price=price, grace=speaker.duration(fee.grace))
    else:
        text = speaker.say("idle", price=price)
    qualifiers = []
    if fee.step_size not in (0, 60):
        qualifiers.append(speaker.say("step", step=speaker.duration(fee.step_size)))
    if fee.cap is not None:
        qualifiers.append(speaker.say("cap", amount=speaker.amount(fee.cap, fee.vat)))
    return _bracketed(text, qualifiers)


def _bound(speaker: _Speaker, bound: Price, vat: Decimal | None) -> str:
    # An incl. VAT bound is what the driver pays at most/least; an excl. VAT one gets the
    # VAT the engine applies to the total (the first component's rate when nothing else).
    if bound.incl_vat is not None:
        return speaker.amount(bound.incl_vat, None)
    return speaker.amount(bound.excl_vat, vat)


def _vat_note(speaker: _Speaker, tariff: Tariff) -> str | None:
    rates = {c.vat for e in tariff.elements for c in e.price_components}
    if tariff.idle_fee is not None:
        rates.add(tariff.idle_fee.vat)
    given = {rate for rate in rates if rate is not None}
    if not given:
        return None
    if len(rates) > 1:
        return speaker.say("vat_mixed")
    return speaker.say("vat", rate=speaker.number(given.pop()))


def tariff_in_words(tariff: Tariff, locale: str) -> TariffWords:
    """What ``tariff`` costs a driver, in ``locale``'s words and numbers, VAT included.

    The parts come in a fixed order: energy, charging time, parking time, the idle fee, the
    session fee, then the minimum and maximum price of a session. A tariff that charges
    nothing reads "Free".
    """
    speaker = _Speaker(locale, tariff.currency)
    parts = [part for dimension in _ORDER for part in _dimension_parts(speaker, tariff, dimension)]
    if tariff.idle_fee is not None and tariff.idle_fee.price_per_minute > 0:
        parts.append(_idle_part(speaker, tariff.idle_fee))
    parts.extend(_dimension_parts(speaker, tariff, Dimension.FLAT))
    first_vat = tariff.elements[0].price_components[0].vat
    if tariff.min_price is not None and (tariff.min_price.incl_vat or tariff.min_price.excl_vat):
        parts.append(speaker.say("min_price", amount=_bound(speaker, tariff.min_price, first_vat)))
    if tariff.max_price is not None:
        parts.append(speaker.say("max_price", amount=_bound(speaker, tariff.max_price, first_vat)))
    if not parts:
        return TariffWords((speaker.say("free"),), None)
    return TariffWords(tuple(parts), _vat_note(speaker, tariff))
