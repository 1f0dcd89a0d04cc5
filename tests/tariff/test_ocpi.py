"""The OCPI 2.2.1 Tariff JSON shape: a lossless round trip and a clear error per bad field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest

from tests.tariff.factories import element, energy, tariff
from voltlane.tariff import (
    DayOfWeek,
    Dimension,
    DisplayText,
    IdleFee,
    Price,
    PriceComponent,
    Reservation,
    Tariff,
    TariffElement,
    TariffError,
    TariffRestrictions,
    TariffType,
    tariff_from_ocpi,
    tariff_to_ocpi,
)

OCPI_JSON = """
{
  "country_code": "DE",
  "party_id": "VLT",
  "id": "NIGHT-12",
  "currency": "EUR",
  "type": "REGULAR",
  "tariff_alt_text": [{"language": "en", "text": "0.25/kWh at night, else 0.35/kWh"}],
  "tariff_alt_url": "https://voltlane.example/tariffs/night-12",
  "min_price": {"excl_vat": 1.00, "incl_vat": 1.19},
  "max_price": {"excl_vat": 40.00},
  "elements": [
    {
      "price_components": [
        {"type": "ENERGY", "price": 0.25, "vat": 19.0, "step_size": 1},
        {"type": "PARKING_TIME", "price": 0, "step_size": 60}
      ],
      "restrictions": {
        "start_time": "22:00", "end_time": "06:00",
        "start_date": "2026-01-01", "end_date": "2027-01-01",
        "min_kwh": 0.5, "max_kwh": 80,
        "min_current": 6, "max_current": 32,
        "min_power": 1.4, "max_power": 22,
        "min_duration": 0, "max_duration": 43200,
        "day_of_week": ["MONDAY", "FRIDAY"]
      }
    },
    {"price_components": [{"type": "TIME", "price": 1.20, "step_size": 300}],
     "restrictions": {"reservation": "RESERVATION"}},
    {"price_components": [
        {"type": "ENERGY", "price": 0.35, "vat": 19.0, "step_size": 1},
        {"type": "FLAT", "price": 0.50, "vat": 19.0, "step_size": 0}
    ]}
  ],
  "start_date_time": "2026-01-01T00:00:00Z",
  "end_date_time": "2027-01-01T00:00:00Z",
  "last_updated": "2025-12-15T09:30:00Z"
}
"""


def ocpi() -> dict[str, Any]:
    return json.loads(OCPI_JSON, parse_float=Decimal)  # type: ignore[no-any-return]


def test_ocpi_json_reads_into_the_model() -> None:
    read = tariff_from_ocpi(ocpi())
    assert read == Tariff(
        id="NIGHT-12",
        currency="EUR",
        country_code="DE",
        party_id="VLT",
        tariff_type=TariffType.REGULAR,
        tariff_alt_text=(DisplayText("en", "0.25/kWh at night, else 0.35/kWh"),),
        tariff_alt_url="https://voltlane.example/tariffs/night-12",
        min_price=Price(Decimal("1.00"), Decimal("1.19")),
        max_price=Price(Decimal("40.00")),
        elements=(
            TariffElement(
                (
                    PriceComponent(Dimension.ENERGY, Decimal("0.25"), Decimal(19), 1),
                    PriceComponent(Dimension.PARKING_TIME, Decimal(0), None, 60),
                ),
                TariffRestrictions(
                    start_time=time(22),
                    end_time=time(6),
                    start_date=date(2026, 1, 1),
                    end_date=date(2027, 1, 1),
                    min_kwh=Decimal("0.5"),
                    max_kwh=Decimal(80),
                    min_current=Decimal(6),
                    max_current=Decimal(32),
                    min_power=Decimal("1.4"),
                    max_power=Decimal(22),
                    min_duration=0,
                    max_duration=43200,
                    day_of_week=(DayOfWeek.MONDAY, DayOfWeek.FRIDAY),
                ),
            ),
            TariffElement(
                (PriceComponent(Dimension.TIME, Decimal("1.20"), None, 300),),
                TariffRestrictions(reservation=Reservation.RESERVATION),
            ),
            TariffElement(
                (
                    PriceComponent(Dimension.ENERGY, Decimal("0.35"), Decimal(19), 1),
                    PriceComponent(Dimension.FLAT, Decimal("0.50"), Decimal(19), 0),
                )
            ),
        ),
        start_date_time=datetime(2026, 1, 1, tzinfo=UTC),
        end_date_time=datetime(2027, 1, 1, tzinfo=UTC),
        last_updated=datetime(2025, 12, 15, 9, 30, tzinfo=UTC),
    )


def test_ocpi_json_round_trip_is_lossless_both_ways() -> None:
    read = tariff_from_ocpi(ocpi())
    assert tariff_to_ocpi(read) == ocpi()
    assert tariff_from_ocpi(tariff_to_ocpi(read)) == read


def test_ocpi_shape_carries_no_idle_fee() -> None:
    with_fee = tariff(element(energy("0.30")), idle_fee=IdleFee(Decimal("0.10"), grace=900))
    assert tariff_to_ocpi(with_fee) == {
        "id": "T1",
        "currency": "EUR",
        "elements": [
            {"price_components": [{"type": "ENERGY", "price": Decimal("0.30"), "step_size": 1}]}
        ],
    }


def test_a_datetime_without_zone_is_read_as_utc() -> None:
    data = ocpi() | {"last_updated": "2025-12-15T09:30:00"}
    assert tariff_from_ocpi(data).last_updated == datetime(2025, 12, 15, 9, 30, tzinfo=UTC)


Edit = Callable[[dict[str, Any]], None]


def put(path: tuple[str | int, ...], value: object) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def drop(*path: str | int) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


COMPONENT = ("elements", 0, "price_components", 0)
RESTRICTIONS = ("elements", 0, "restrictions")


@pytest.mark.parametrize(
    ("edit", "detail"),
    [
        (
            put((*COMPONENT, "price"), Decimal("-0.01")),
            "elements[0].price_components[0].price: must not be negative",
        ),
        (
            put((*COMPONENT, "step_size"), -1),
            "elements[0].price_components[0].step_size: must not be negative",
        ),
        (
            put((*COMPONENT, "step_size"), Decimal("1.5")),
            "elements[0].price_components[0].step_size: must be an integer",
        ),
        (
            put((*COMPONENT, "vat"), Decimal("100.5")),
            "elements[0].price_components[0].vat: must be at most 100",
        ),
        (
            put((*COMPONENT, "vat"), Decimal(-1)),
            "elements[0].price_components[0].vat: must not be negative",
        ),
        (
            put((*COMPONENT, "price"), 0.25),
            "elements[0].price_components[0].price: must be decoded as a Decimal, not a float",
        ),
        (
            put((*COMPONENT, "price"), "0.25"),
            "elements[0].price_components[0].price: must be a number",
        ),
        (
            put((*COMPONENT, "type"), "KWH"),
            "elements[0].price_components[0].type: unknown value 'KWH'",
        ),
        (
            drop(*COMPONENT, "step_size"),
            "elements[0].price_components[0].step_size: is required",
        ),
        (
            put((*RESTRICTIONS, "start_time"), "24:00"),
            "elements[0].restrictions.start_time: must be a time as HH:MM",
        ),
        (
            put((*RESTRICTIONS, "end_time"), "6:00"),
            "elements[0].restrictions.end_time: must be a time as HH:MM",
        ),
        (
            put((*RESTRICTIONS, "start_date"), "2026-02-30"),
            "elements[0].restrictions.start_date: must be a date as YYYY-MM-DD",
        ),
        (
            put((*RESTRICTIONS, "day_of_week"), ["MONDAY", "FUNDAY"]),
            "elements[0].restrictions.day_of_week[1]: unknown value 'FUNDAY'",
        ),
        (
            put((*RESTRICTIONS, "reservation"), "MAYBE"),
            "elements[0].restrictions.reservation: unknown value 'MAYBE'",
        ),
        (
            put((*RESTRICTIONS, "min_kwh"), Decimal(90)),
            "elements[0].restrictions.max_kwh: must be after min_kwh",
        ),
        (
            put((*RESTRICTIONS, "max_duration"), Decimal(3600)),
            "elements[0].restrictions.max_duration: must be an integer",
        ),
        (
            put(("elements", 1, "price_components", 0, "type"), "ENERGY"),
            "elements[1].restrictions: a reservation element prices only FLAT and TIME",
        ),
        (
            put(("elements", 0, "price_components"), []),
            "elements[0].price_components: needs at least one price component",
        ),
        (put(("elements",), []), "elements: needs at least one element"),
        (drop("currency"), "currency: is required"),
        (put(("currency",), "EURO"), "currency: unknown currency 'EURO'"),
        (
            put(("min_price",), {"excl_vat": Decimal(50)}),
            "min_price: must not be above max_price",
        ),
        (
            put(("min_price", "incl_vat"), Decimal("0.99")),
            "min_price.incl_vat: must not be below excl_vat",
        ),
        (put(("type",), "CHEAPEST"), "type: unknown value 'CHEAPEST'"),
        (put(("start_date_time",), "yesterday"), "start_date_time: must be a date and time"),
        (
            put(("end_date_time",), "2025-01-01T00:00:00Z"),
            "end_date_time: must be after start_date_time",
        ),
        (put(("elements", 0), "ENERGY"), "elements[0]: must be an object"),
    ],
)
def test_bad_ocpi_tariffs_are_refused_with_the_field_named(edit: Edit, detail: str) -> None:
    data = copy.deepcopy(ocpi())
    edit(data)
    with pytest.raises(TariffError) as raised:
        tariff_from_ocpi(data)
    assert raised.value.detail == detail
    assert raised.value.field == detail.partition(":")[0]
    assert (raised.value.status, raised.value.ocpi_status) == (422, 2001)


def test_an_ocpi_tariff_must_be_an_object() -> None:
    with pytest.raises(TariffError) as raised:
        tariff_from_ocpi([])
    assert raised.value.detail == "tariff: must be an object"
