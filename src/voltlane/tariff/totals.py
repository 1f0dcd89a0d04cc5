"""From rounded charge lines to totals: the tariff's min/max price, then VAT per rate.

Caps (OCPI ``min_price``/``max_price``) bound the tariff's own lines, not the idle fee, which
has its own cap. Excl. VAT bounds move the net total; incl. VAT bounds move the net total to the
nearest amount whose gross meets them. The net change is split over the VAT rates in proportion
to their net amounts and shows as MIN_PRICE/MAX_PRICE lines, so the lines still add up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from voltlane.tariff.model import Tariff
from voltlane.tariff.result import ChargeLine, LineKind, VatLine
from voltlane.tariff.rounding import allocate, from_minor, to_minor, vat_amount

Rate = Decimal | None


def _largest(fits: Callable[[int], bool], low: int, high: int) -> int:
    """The largest amount in [low, high] that fits, given that ``low`` does (bisection)."""
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(middle) else (low, middle - 1)
    return low


def _smallest(fits: Callable[[int], bool], low: int, high: int) -> int:
    """The smallest amount in [low, high] that fits, given that ``high`` does (bisection)."""
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle + 1, high)
    return low


def cap_lines(
    tariff: Tariff, lines: Sequence[ChargeLine]
) -> tuple[list[ChargeLine], LineKind | None]:
    """The adjustment lines that bring ``lines`` within the tariff's min and max price."""
    low, high = tariff.min_price, tariff.max_price
    if low is None and high is None:
        return [], None
    groups: dict[Rate, int] = {}
    for line in lines:
        groups[line.vat_rate] = groups.get(line.vat_rate, 0) + line.excl_vat
    net = sum(groups.values())
    rates, weights = list(groups), list(groups.values())
    if net == 0:
        # Nothing to weigh by: a minimum price takes the VAT rate the tariff opens with.
        rates, weights = [tariff.elements[0].price_components[0].vat], [1]

    def split(total: int) -> dict[Rate, int]:
        return dict(zip(rates, allocate(total, weights), strict=True))

    def gross(total: int) -> int:
        return total + sum(vat_amount(amount, rate) for rate, amount in split(total).items())

    currency = tariff.currency
    target, applied = net, None
    if high is not None:
        if target > (limit := to_minor(high.excl_vat, currency)):
            target, applied = limit, LineKind.MAX_PRICE
        if high.incl_vat is not None and gross(target) > (
            limit := to_minor(high.incl_vat, currency)
        ):
            target = _largest(lambda t: gross(t) <= limit, 0, target)
            applied = LineKind.MAX_PRICE
    if low is not None:
        if target < (limit := to_minor(low.excl_vat, currency)):
            target, applied = limit, LineKind.MIN_PRICE
        if low.incl_vat is not None and gross(target) < (limit := to_minor(low.incl_vat, currency)):
            target = _smallest(lambda t: gross(t) >= limit, target, limit)
            applied = LineKind.MIN_PRICE
    if applied is None:
        return [], None
    adjustments = []
    for rate, amount in split(target).items():
        delta = amount - groups.get(rate, 0)
        if delta:
            one = Decimal(1)
            adjustments.append(
                ChargeLine(applied, from_minor(delta, currency), rate, one, one, delta, 0)
            )
    return adjustments, applied


def apply_vat(lines: Sequence[ChargeLine]) -> tuple[list[ChargeLine], list[VatLine]]:
    """VAT once per rate on the rate's net total, each line given its share of it."""
    by_rate: dict[Rate, list[int]] = {}
    for i, line in enumerate(lines):
        by_rate.setdefault(line.vat_rate, []).append(i)
    taxed = list(lines)
    breakdown = []
    for rate, indexes in by_rate.items():
        taxable = sum(lines[i].excl_vat for i in indexes)
        vat = vat_amount(taxable, rate)
        shares = allocate(vat, [lines[i].excl_vat for i in indexes])
        for i, share in zip(indexes, shares, strict=True):
            taxed[i] = lines[i].with_vat(share)
        breakdown.append(VatLine(rate, taxable, vat))
    return taxed, breakdown
