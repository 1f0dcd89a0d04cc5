"""Segment prices with fallback, and the tariff version in force at the session start."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.tariff.factories import element, energy, minutes, steady, tariff, utc
from voltlane.tariff import (
    PUBLIC,
    Segment,
    SegmentKind,
    TariffError,
    TariffSet,
    price_session,
    select_tariff,
)

NOW = utc(2026, 11, 24, 10)
PUBLIC_PRICE = replace(tariff(element(energy("0.59"))), id="public")
MEMBER_PRICE = replace(tariff(element(energy("0.45"))), id="member")
FLEET_DEFAULT = replace(tariff(element(energy("0.42"))), id="fleet")
ACME = replace(tariff(element(energy("0.39"))), id="fleet-acme")
PRICES = TariffSet(
    {
        PUBLIC: (PUBLIC_PRICE,),
        Segment(SegmentKind.MEMBER): (MEMBER_PRICE,),
        Segment(SegmentKind.FLEET): (FLEET_DEFAULT,),
        Segment(SegmentKind.FLEET, "acme"): (ACME,),
    }
)


@pytest.mark.parametrize(
    ("segment", "tariff_id"),
    [
        (Segment(SegmentKind.FLEET, "acme"), "fleet-acme"),  # its own contract
        (Segment(SegmentKind.FLEET, "globex"), "fleet"),  # no contract: the fleet default
        (Segment(SegmentKind.MEMBER), "member"),
        (Segment(SegmentKind.ROAMING, "NL*TNM"), "public"),  # nothing for roaming: public
        # A subscriber with no plan prices is still the brand's customer: member prices.
        (Segment(SegmentKind.SUBSCRIPTION, "plus"), "member"),
        (PUBLIC, "public"),
    ],
)
def test_segment_selection_with_fallback(segment: Segment, tariff_id: str) -> None:
    assert select_tariff(PRICES, segment, at=NOW).id == tariff_id


def test_an_expired_member_price_falls_back_to_public() -> None:
    ended = replace(MEMBER_PRICE, end_date_time=NOW)
    prices = TariffSet({PUBLIC: (PUBLIC_PRICE,), Segment(SegmentKind.MEMBER): (ended,)})
    assert select_tariff(prices, Segment(SegmentKind.MEMBER), at=NOW).id == "public"
    assert select_tariff(prices, Segment(SegmentKind.MEMBER), at=NOW - minutes(1)).id == "member"


def test_the_version_in_force_at_the_session_start_prices_the_whole_session() -> None:
    # 0.59 until the new year, 0.65 from then; the scheduled version needs no end on the old.
    new_year = utc(2027, 1, 1)
    old = replace(PUBLIC_PRICE, id="2026")
    new = replace(tariff(element(energy("0.65"))), id="2027", start_date_time=new_year)
    prices = TariffSet({PUBLIC: (old, new)})
    start = new_year - minutes(30)
    chosen = select_tariff(prices, PUBLIC, at=start)
    assert chosen.id == "2026"
    assert select_tariff(prices, PUBLIC, at=new_year).id == "2027"
    # 10 kWh from 23:30 to 00:30 all at the 2026 price: 5.90.
    priced = price_session(
        chosen, steady(start, start + minutes(60), 10000), end=start + minutes(60)
    )
    assert (priced.tariff_id, priced.total_excl_vat) == ("2026", 590)


def test_no_tariff_in_force_is_an_error() -> None:
    later = replace(PUBLIC_PRICE, start_date_time=NOW + minutes(1))
    with pytest.raises(TariffError) as raised:
        select_tariff(TariffSet({PUBLIC: (later,)}), Segment(SegmentKind.FLEET, "acme"), at=NOW)
    assert raised.value.detail == (
        "segment: no tariff in force for FLEET:acme at 2026-11-24T10:00:00+00:00"
    )
