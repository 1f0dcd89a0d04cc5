"""A tariff in words: what a driver reads on the station page before charging."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

from tests.tariff.factories import charging_time, element, energy, flat, parking, tariff
from voltlane.tariff import DayOfWeek, IdleFee, Price, Reservation, Tariff
from voltlane.tariff.words import day_ranges, tariff_in_words

WEEKDAYS = (
    DayOfWeek.MONDAY,
    DayOfWeek.TUESDAY,
    DayOfWeek.WEDNESDAY,
    DayOfWeek.THURSDAY,
    DayOfWeek.FRIDAY,
)


def plain(text: str | None) -> str | None:
    """The text with plain spaces for Babel's no-break ones, and "--" for the en dash of
    ranges (22:00\u201306:00), so the expected strings read in any editor."""
    if text is None:
        return None
    return text.replace("\xa0", " ").replace("\u202f", " ").replace("\u2013", "--")


def words(t: Tariff, locale: str = "en_GB") -> str:
    return plain(str(tariff_in_words(t, locale))) or ""


def test_every_dimension_and_the_idle_fee_read_in_a_fixed_order() -> None:
    t = tariff(
        element(flat("1.00"), parking("1.20"), charging_time("2.40"), energy("0.49")),
        idle_fee=IdleFee(Decimal("0.10"), grace=1800),
    )
    assert words(t) == (
        "€0.49/kWh · €2.40/h charging · €1.20/h parking · €0.10/min idle after 30 min"
        " · €1.00 per session"
    )
    assert words(t, "de_DE") == (
        "0,49 €/kWh · 2,40 €/h Ladezeit · 1,20 €/h Parkzeit · 0,10 €/min Blockiergebühr"
        " nach 30 min · 1,00 € pro Ladevorgang"
    )
    assert words(t, "fr_FR") == (
        "0,49 €/kWh · 2,40 €/h de charge · 1,20 €/h de stationnement"
        " · 0,10 €/min d'immobilisation après 30 min · 1,00 € par session"
    )


def test_prices_include_vat_unit_prices_to_four_decimals_amounts_to_the_cent() -> None:
    t = tariff(element(energy("0.49", vat="19"), flat("0.35", vat="19")))
    result = tariff_in_words(t, "de_DE")
    # 0.49 x 1.19 = 0.5831 per kWh; 0.35 x 1.19 = 0.4165, a session fee of 0,42 €.
    assert plain(str(result)) == "0,5831 €/kWh · 0,42 € pro Ladevorgang"
    assert result.vat == "inkl. 19 % MwSt."
    assert plain(tariff_in_words(t, "en_GB").vat) == "incl. 19 % VAT"
    # 0.4118 x 1.19 = 0.490042, shown as 0,49 €.
    assert words(tariff(element(energy("0.4118", vat="19"))), "de_DE") == "0,49 €/kWh"


def test_vat_note_names_one_rate_says_incl_vat_for_several_and_nothing_without() -> None:
    one = tariff(element(energy("0.40", vat="7.7")))
    several = tariff(element(energy("0.40", vat="19"), flat("1.00", vat="7")))
    partial = tariff(element(energy("0.40", vat="19"), flat("1.00")))
    none = tariff(element(energy("0.40")))
    assert plain(tariff_in_words(one, "de_DE").vat) == "inkl. 7,7 % MwSt."
    assert plain(tariff_in_words(several, "en_GB").vat) == "incl. VAT"
    assert plain(tariff_in_words(partial, "en_GB").vat) == "incl. VAT"
    assert plain(tariff_in_words(none, "en_GB").vat) is None


def test_a_time_window_over_midnight_then_otherwise() -> None:
    t = tariff(
        element(energy("0.30"), start_time=time(22), end_time=time(6)),
        element(energy("0.50")),
    )
    assert words(t) == "€0.30/kWh (22:00--06:00) · €0.50/kWh (otherwise)"
    assert words(t, "de_DE") == "0,30 €/kWh (22:00--06:00) · 0,50 €/kWh (sonst)"
    assert words(t, "fr_FR") == "0,30 €/kWh (22:00--06:00) · 0,50 €/kWh (sinon)"


def test_open_ended_windows_weekdays_and_dates() -> None:
    t = tariff(
        element(charging_time("1.00"), start_time=time(18)),
        element(charging_time("2.00"), end_time=time(8, 30)),
        element(
            charging_time("3.00"),
            day_of_week=(*WEEKDAYS, DayOfWeek.SUNDAY),
            start_date=date(2026, 12, 1),
            end_date=date(2027, 1, 1),
        ),
        element(charging_time("4.00"), day_of_week=(DayOfWeek.SATURDAY, DayOfWeek.SUNDAY)),
        element(charging_time("5.00"), start_date=date(2027, 1, 1)),
    )
    assert words(t) == (
        "€1.00/h charging (from 18:00) · €2.00/h charging (until 08:30)"
        " · €3.00/h charging (Mon--Fri, Sun, 1 Dec 2026--31 Dec 2026)"
        " · €4.00/h charging (Sat, Sun) · €5.00/h charging (from 1 Jan 2027)"
    )
    assert words(t, "de_DE") == (
        "1,00 €/h Ladezeit (ab 18:00) · 2,00 €/h Ladezeit (bis 08:30)"
        " · 3,00 €/h Ladezeit (Mo.--Fr., So., 01.12.2026--31.12.2026)"
        " · 4,00 €/h Ladezeit (Sa., So.) · 5,00 €/h Ladezeit (ab 01.01.2027)"
    )


def test_energy_power_current_and_duration_bounds() -> None:
    t = tariff(
        element(energy("0.20"), max_kwh=Decimal("20")),
        element(energy("0.25"), min_kwh=Decimal("20"), max_kwh=Decimal("40")),
        element(energy("0.60"), min_power=Decimal("50")),
        element(energy("0.45"), max_current=Decimal("16")),
        element(parking("3.00"), min_duration=5400),
        element(parking("1.00"), max_duration=3600),
        element(parking("2.00"), min_duration=3600, max_duration=5400),
    )
    assert words(t) == (
        "€0.20/kWh (first 20 kWh) · €0.25/kWh (20 kWh--40 kWh) · €0.60/kWh (from 50 kW)"
        " · €0.45/kWh (below 16 A) · €3.00/h parking (after 1 h 30 min)"
        " · €1.00/h parking (first 1 h) · €2.00/h parking (1 h--1 h 30 min)"
    )
    assert words(t, "de_DE").split(" · ")[:4] == [
        "0,20 €/kWh (erste 20 kWh)",
        "0,25 €/kWh (20 kWh--40 kWh)",
        "0,60 €/kWh (ab 50 kW)",
        "0,45 €/kWh (unter 16 A)",
    ]


def test_step_sizes_of_energy_and_time_and_of_the_idle_fee() -> None:
    t = tariff(
        element(energy("0.40", step=500), charging_time("1.20", step=900), parking("2.40", step=1)),
        idle_fee=IdleFee(Decimal("0.05"), step_size=300),
    )
    assert words(t) == (
        "€0.40/kWh (billed per 0.5 kWh) · €1.20/h charging (billed per 15 min)"
        " · €2.40/h parking · €0.05/min idle (billed per 5 min)"
    )
    assert words(t, "de_DE") == (
        "0,40 €/kWh (je angefangene 0,5 kWh) · 1,20 €/h Ladezeit (je angefangene 15 min)"
        " · 2,40 €/h Parkzeit · 0,05 €/min Blockiergebühr (je angefangene 5 min)"
    )


def test_idle_fee_cap_with_vat() -> None:
    t = tariff(
        element(energy("0.49", vat="19")),
        idle_fee=IdleFee(Decimal("0.10"), grace=3600, cap=Decimal("12.00"), vat=Decimal("19")),
    )
    assert words(t) == "€0.5831/kWh · €0.119/min idle after 1 h (max. €14.28)"


def test_minimum_and_maximum_price_of_a_session() -> None:
    excl = tariff(
        element(energy("0.40", vat="19")),
        min_price=Price(Decimal("2.00")),
        max_price=Price(Decimal("30.00")),
    )
    incl = tariff(
        element(energy("0.40", vat="19")),
        min_price=Price(Decimal("2.00"), Decimal("2.50")),
        max_price=Price(Decimal("30.00"), Decimal("35.00")),
    )
    assert words(excl) == ("€0.476/kWh · at least €2.38 per session · at most €35.70 per session")
    assert words(incl, "de_DE") == (
        "0,476 €/kWh · mindestens 2,50 € pro Ladevorgang · höchstens 35,00 € pro Ladevorgang"
    )


def test_reservation_elements_say_so() -> None:
    t = tariff(
        element(flat("2.00"), reservation=Reservation.RESERVATION_EXPIRES),
        element(charging_time("0.60"), reservation=Reservation.RESERVATION),
        element(energy("0.40")),
    )
    assert words(t) == (
        "€0.40/kWh · €0.60/h charging (while reserved) · €2.00 per session (expired reservation)"
    )


def test_free_parts_unreachable_parts_and_a_free_tariff() -> None:
    # A free session fee and charging time say nothing; an element after an unrestricted
    # one of the same dimension never applies.
    t = tariff(
        element(energy("0.40"), charging_time("0"), flat("0")),
        element(energy("0.99")),
    )
    assert words(t) == "€0.40/kWh"
    free = tariff(element(flat("0")))
    assert words(free) == "Free"
    assert words(free, "de_DE") == "Kostenlos"
    assert plain(tariff_in_words(free, "de_DE").vat) is None
    # Free at night is worth saying.
    night = tariff(
        element(parking("0"), start_time=time(20), end_time=time(8)),
        element(parking("1.50")),
    )
    assert words(night) == "€0.00/h parking (20:00--08:00) · €1.50/h parking (otherwise)"


def test_other_currencies_and_unknown_languages() -> None:
    gbp = tariff(element(energy("0.45"), flat("0.50")), currency="GBP")
    assert words(gbp, "en_GB") == "£0.45/kWh · £0.50 per session"
    jpy = tariff(element(energy("55"), flat("100.4")), currency="JPY")
    assert words(jpy, "ja_JP") == "￥55.00/kWh · ￥100 per session"


def test_day_ranges_join_runs_of_three_or_more() -> None:
    assert day_ranges([0, 1, 2], "en_GB") == "Mon\u2013Wed"
    assert plain(day_ranges([0, 1, 2, 3, 4], "en_GB")) == "Mon--Fri"
    assert day_ranges([5, 6], "en_GB") == "Sat, Sun"
    assert plain(day_ranges([0, 2, 3, 4, 6], "de_DE")) == "Mo., Mi.--Fr., So."
