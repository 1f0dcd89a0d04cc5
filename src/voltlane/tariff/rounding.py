"""Every rounding rule of the pricing engine, in one place (docs/tariffs.md explains them).

1. Inputs are made exact: an energy reading is rounded to 1 mWh, a time span is counted in
   microseconds. From there on quantities are integers (mWh, µs) and nothing is lost.
2. A charge line is a quantity at one unit price and one VAT rate. Its amount excl. VAT is
   ``quantity x price`` divided by the unit (kWh, hour) last, then rounded ROUND_HALF_UP to the
   currency's minor unit once.
3. VAT is computed once per VAT rate on the sum of that rate's rounded line amounts, rounded
   ROUND_HALF_UP (EN 16931 BR-CO-17). Each line's share of it is allocated by largest remainder,
   so lines, VAT breakdown and totals add up to the same integers.
4. Totals are sums of rounded lines; nothing is rounded twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_HALF_UP, Context, Decimal

from voltlane.tariff.errors import TariffError

# ISO 4217 minor-unit exponents of the currencies a CPO is likely to bill in.
MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        (
            "EUR",
            "GBP",
            "USD",
            "CHF",
            "SEK",
            "NOK",
            "DKK",
            "PLN",
            "CZK",
            "HUF",
            "RON",
            "BGN",
            "AUD",
            "CAD",
            "NZD",
            "CNY",
            "INR",
            "SGD",
            "HKD",
            "ZAR",
            "BRL",
            "MXN",
            "TRY",
            "AED",
            "ILS",
        ),
        2,
    ),
    **dict.fromkeys(("JPY", "KRW", "ISK", "CLP", "VND"), 0),
    **dict.fromkeys(("BHD", "KWD", "OMR", "JOD", "TND"), 3),
}

MWH_PER_KWH = 1_000_000
US_PER_SECOND = 1_000_000
US_PER_HOUR = 3600 * US_PER_SECOND
_PRECISION = 60  # digits: far more than any product of a quantity and a price needs
# Passed to each operation (cheaper than entering a local context per call); exact traps
# as the default context.
_EXACT = Context(prec=_PRECISION)
_ONE = Decimal(1)
_MICRO = Decimal("0.000001")


def minor_unit_exponent(currency: str) -> int:
    """Digits after the decimal point of ``currency`` (EUR 2, JPY 0, KWD 3)."""
    exponent = MINOR_UNITS.get(currency)
    if exponent is None:
        raise TariffError(f"unknown currency {currency!r}", field="currency")
    return exponent


def _to_int(value: Decimal) -> int:
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP, context=_EXACT))


def to_minor(amount: Decimal, currency: str) -> int:
    """An amount in currency units (an OCPI price) in minor units, ROUND_HALF_UP."""
    return _to_int(amount.scaleb(minor_unit_exponent(currency), context=_EXACT))


def from_minor(amount: int, currency: str) -> Decimal:
    """Minor units back in currency units, exactly."""
    return Decimal(amount).scaleb(-minor_unit_exponent(currency))


def line_amount(quantity: int, price: Decimal, per: int, currency: str) -> int:
    """``quantity`` (in units of which ``per`` make one priced unit) x ``price``, minor units.

    The division comes last so that an exact half of a minor unit is seen as one.
    """
    scaled = price.scaleb(minor_unit_exponent(currency), context=_EXACT)
    return _to_int(_EXACT.divide(_EXACT.multiply(Decimal(quantity), scaled), per))


def vat_amount(net: int, rate: Decimal | None) -> int:
    """VAT in minor units on ``net`` minor units at ``rate`` percent (None: no VAT)."""
    if rate is None:
        return 0
    return _to_int(_EXACT.divide(_EXACT.multiply(Decimal(net), rate), 100))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder, ties to the first).

    The parts always sum to ``total``; weights may be negative as long as their sum is not 0.
    """
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total:
            raise ValueError("cannot allocate a non-zero total over weights summing to zero")
        return [0] * len(weights)
    sign = 1 if weight_sum > 0 else -1
    shares = [divmod(total * w * sign, weight_sum * sign) for w in weights]
    parts = [quotient for quotient, _ in shares]
    leftover = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: -shares[i][1])
    for i in by_remainder[:leftover]:
        parts[i] += 1
    return parts


def energy_mwh(wh: Decimal) -> int:
    """A meter reading in Wh as whole mWh, ROUND_HALF_UP."""
    return _to_int(wh.scaleb(3))


def kwh_threshold_mwh(kwh: Decimal) -> int:
    """A kWh restriction as the least whole mWh that meets it (energies are whole mWh)."""
    return int(kwh.scaleb(6).to_integral_value(rounding=ROUND_CEILING))


def divide_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, in integers (energy interpolation)."""
    return (2 * numerator + denominator) // (2 * denominator)


def ceil_to_step(quantity: int, step: int) -> int:
    """``quantity`` rounded up to a multiple of ``step`` (a step of 0 leaves it as it is)."""
    if step <= 0:
        return quantity
    return -(-quantity // step) * step


def hours(microseconds: int) -> Decimal:
    """A time span in hours for display (OCPI dimension volumes): 6 decimals, ROUND_HALF_UP."""
    exact = _EXACT.divide(Decimal(microseconds), US_PER_HOUR)
    return exact.quantize(_MICRO, rounding=ROUND_HALF_UP, context=_EXACT)
