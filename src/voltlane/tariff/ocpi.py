"""Tariffs in the OCPI 2.2.1 JSON shape, both ways, with a clear error for bad input.

Numbers must arrive as ``int`` or ``Decimal``: decode JSON with ``parse_float=Decimal`` (or
msgspec with Decimal types); a ``float`` is refused rather than silently made inexact. Numbers
go out as ``Decimal``: encode with msgspec's ``decimal_format="number"``. ``energy_mix`` is not
read; the idle fee is Voltlane's own and is not part of the OCPI shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

from voltlane.tariff.errors import TariffError
from voltlane.tariff.model import (
    DayOfWeek,
    Dimension,
    DisplayText,
    Price,
    PriceComponent,
    Reservation,
    Tariff,
    TariffElement,
    TariffRestrictions,
    TariffType,
)

_TIME = re.compile(r"([0-1][0-9]|2[0-3]):([0-5][0-9])")
_DATE = re.compile(r"([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")


# The decimal numbers of an OCPI Tariff (beside integers such as step_size and durations).
RESTRICTION_DECIMALS = (
    "min_kwh",
    "max_kwh",
    "min_current",
    "max_current",
    "min_power",
    "max_power",
)
DECIMAL_FIELDS = frozenset({"price", "vat", "excl_vat", "incl_vat", *RESTRICTION_DECIMALS})


def _at(path: str, build: Callable[[], _T]) -> _T:
    """Run ``build``, placing any error's field under ``path``."""
    try:
        return build()
    except TariffError as error:
        raise error.within(path) from error


def _object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TariffError("must be an object", field=path)
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise TariffError("must be a list", field=path)
    return value


def _string(value: object, path: str) -> str:
    if not isinstance(value, str):
        raise TariffError("must be a string", field=path)
    return value


def _number(value: object, path: str) -> Decimal:
    if isinstance(value, float):
        raise TariffError("must be decoded as a Decimal, not a float", field=path)
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise TariffError("must be a number", field=path)
    return Decimal(value)


def _integer(value: object, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TariffError("must be an integer", field=path)
    return value


def _enum(kind: type[_E], value: object, path: str) -> _E:
    try:
        return kind(_string(value, path))
    except ValueError:
        raise TariffError(f"unknown value {value!r}", field=path) from None


def _time(value: object, path: str) -> time:
    if not (match := _TIME.fullmatch(_string(value, path))):
        raise TariffError("must be a time as HH:MM", field=path)
    return time(int(match[1]), int(match[2]))


def _date(value: object, path: str) -> date:
    text = _string(value, path)
    problem = TariffError("must be a date as YYYY-MM-DD", field=path)
    if not _DATE.fullmatch(text):
        raise problem
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise problem from None


def _datetime(value: object, path: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(_string(value, path))
    except ValueError:
        raise TariffError("must be a date and time", field=path) from None
    # OCPI DateTimes are UTC; one without a zone is read as UTC.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _optional(
    data: Mapping[str, Any], key: str, read: Callable[[object, str], _T], path: str
) -> _T | None:
    value = data.get(key)
    return None if value is None else read(value, f"{path}{key}")


def _price(value: object, path: str) -> Price:
    data = _object(value, path)
    if "excl_vat" not in data:
        raise TariffError("is required", field=f"{path}.excl_vat")
    return _at(
        path,
        lambda: Price(
            _number(data["excl_vat"], f"{path}.excl_vat"),
            _optional(data, "incl_vat", _number, f"{path}."),
        ),
    )


def _component(value: object, path: str) -> PriceComponent:
    data = _object(value, path)
    for key in ("type", "price", "step_size"):
        if key not in data:
            raise TariffError("is required", field=f"{path}.{key}")
    dimension = _enum(Dimension, data["type"], f"{path}.type")
    price = _number(data["price"], f"{path}.price")
    vat = _optional(data, "vat", _number, f"{path}.")
    step_size = _integer(data["step_size"], f"{path}.step_size")
    return _at(path, lambda: PriceComponent(dimension, price, vat, step_size))


def _restrictions(value: object, path: str) -> TariffRestrictions:
    data = _object(value, path)
    p = f"{path}."
    days = _list(data.get("day_of_week") or [], f"{p}day_of_week")
    fields: dict[str, Any] = {
        "start_time": _optional(data, "start_time", _time, p),
        "end_time": _optional(data, "end_time", _time, p),
        "start_date": _optional(data, "start_date", _date, p),
        "end_date": _optional(data, "end_date", _date, p),
        "min_duration": _optional(data, "min_duration", _integer, p),
        "max_duration": _optional(data, "max_duration", _integer, p),
        "day_of_week": tuple(
            _enum(DayOfWeek, day, f"{p}day_of_week[{i}]") for i, day in enumerate(days)
        ),
        "reservation": _optional(data, "reservation", lambda v, f: _enum(Reservation, v, f), p),
    }
    for key in RESTRICTION_DECIMALS:
        fields[key] = _optional(data, key, _number, p)
    return _at(path, lambda: TariffRestrictions(**fields))


def _element(value: object, path: str) -> TariffElement:
    data = _object(value, path)
    listed = _list(data.get("price_components"), f"{path}.price_components")
    components = tuple(_component(c, f"{path}.price_components[{i}]") for i, c in enumerate(listed))
    restrictions = _optional(data, "restrictions", _restrictions, f"{path}.")
    return _at(path, lambda: TariffElement(components, restrictions))


def _alt_text(value: object, path: str) -> DisplayText:
    data = _object(value, path)
    return DisplayText(
        _string(data.get("language"), f"{path}.language"), _string(data.get("text"), f"{path}.text")
    )


def tariff_from_ocpi(data: object) -> Tariff:
    """A Tariff from an OCPI 2.2.1 Tariff object; TariffError names the first bad field."""
    tariff = _object(data, "tariff")
    for key in ("id", "currency", "elements"):
        if key not in tariff:
            raise TariffError("is required", field=key)
    elements = _list(tariff["elements"], "elements")
    texts = _list(tariff.get("tariff_alt_text") or [], "tariff_alt_text")
    return Tariff(
        id=_string(tariff["id"], "id"),
        currency=_string(tariff["currency"], "currency"),
        elements=tuple(_element(e, f"elements[{i}]") for i, e in enumerate(elements)),
        min_price=_optional(tariff, "min_price", _price, ""),
        max_price=_optional(tariff, "max_price", _price, ""),
        start_date_time=_optional(tariff, "start_date_time", _datetime, ""),
        end_date_time=_optional(tariff, "end_date_time", _datetime, ""),
        country_code=_optional(tariff, "country_code", _string, ""),
        party_id=_optional(tariff, "party_id", _string, ""),
        tariff_type=_optional(tariff, "type", lambda v, f: _enum(TariffType, v, f), ""),
        tariff_alt_text=tuple(_alt_text(t, f"tariff_alt_text[{i}]") for i, t in enumerate(texts)),
        tariff_alt_url=_optional(tariff, "tariff_alt_url", _string, ""),
        last_updated=_optional(tariff, "last_updated", _datetime, ""),
    )


def _ocpi_datetime(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat().removesuffix("+00:00")
    return f"{text}Z"


def _ocpi_price(price: Price) -> dict[str, Any]:
    out: dict[str, Any] = {"excl_vat": price.excl_vat}
    if price.incl_vat is not None:
        out["incl_vat"] = price.incl_vat
    return out


def _ocpi_restrictions(r: TariffRestrictions) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("start_time", "end_time"):
        if (value := getattr(r, key)) is not None:
            out[key] = value.strftime("%H:%M")
    for key in ("start_date", "end_date"):
        if (value := getattr(r, key)) is not None:
            out[key] = value.isoformat()
    for key in (*RESTRICTION_DECIMALS, "min_duration", "max_duration"):
        if (value := getattr(r, key)) is not None:
            out[key] = value
    if r.day_of_week:
        out["day_of_week"] = [day.value for day in r.day_of_week]
    if r.reservation is not None:
        out["reservation"] = r.reservation.value
    return out


def _ocpi_component(c: PriceComponent) -> dict[str, Any]:
    out: dict[str, Any] = {"type": c.dimension.value, "price": c.price, "step_size": c.step_size}
    if c.vat is not None:
        out["vat"] = c.vat
    return out


def tariff_to_ocpi(tariff: Tariff) -> dict[str, Any]:
    """The OCPI 2.2.1 Tariff object of ``tariff`` (fields without a value are left out)."""
    out: dict[str, Any] = {}
    for key in ("country_code", "party_id"):
        if (value := getattr(tariff, key)) is not None:
            out[key] = value
    out |= {"id": tariff.id, "currency": tariff.currency}
    if tariff.tariff_type is not None:
        out["type"] = tariff.tariff_type.value
    if tariff.tariff_alt_text:
        out["tariff_alt_text"] = [
            {"language": t.language, "text": t.text} for t in tariff.tariff_alt_text
        ]
    if tariff.tariff_alt_url is not None:
        out["tariff_alt_url"] = tariff.tariff_alt_url
    for key in ("min_price", "max_price"):
        if (price := getattr(tariff, key)) is not None:
            out[key] = _ocpi_price(price)
    elements = []
    for element in tariff.elements:
        shaped: dict[str, Any] = {
            "price_components": [_ocpi_component(c) for c in element.price_components]
        }
        if element.restrictions is not None:
            shaped["restrictions"] = _ocpi_restrictions(element.restrictions)
        elements.append(shaped)
    out["elements"] = elements
    for key in ("start_date_time", "end_date_time", "last_updated"):
        if (value := getattr(tariff, key)) is not None:
            out[key] = _ocpi_datetime(value)
    return out
