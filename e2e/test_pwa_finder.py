"""A driver finds a station on a phone (390x844) whose browser shares a position: the list
nearest first, a connector filter, the station page with its price sentence, and the map
(tiles served here, never from the internet) or the list in its place.

Where the stations are and what they have is read from the tenant files `voltlane run`
seeds; the price sentences are the demo tariffs' as a driver reads them."""

from __future__ import annotations

import math
import re
import struct
import tomllib
import zlib
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from e2e.support import ARTIFACTS, TENANTS_DIR, TenantFile

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
# Where each brand's driver stands: Alexanderplatz in Berlin, Temple Meads in Bristol.
POSITIONS = {"voltaria": (52.5219, 13.4132), "harbour-charge": (51.4491, -2.5813)}
# The connector each brand's driver filters by.
FILTERS = {"voltaria": "CHADEMO", "harbour-charge": "IEC_62196_T2"}
# The demo tariffs (tenant files) in the words of the brand's language, VAT included.
PRICES = {
    "voltaria": (
        "0,5831\xa0€/kWh · 0,119\xa0€/min Blockiergebühr nach 1 h (max. 14,28\xa0€)"
        " · 0,42\xa0€ pro Ladevorgang"
    ),
    "harbour-charge": "£0.828/kWh · £7.20/h parking (billed per 5 min)",
}
TILES = "https://tile.openstreetmap.org/"


def _png(size: int = 256) -> bytes:
    """A plain light-grey tile."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xe4" * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


TILE_PNG = _png()


def _sites(slug: str) -> list[dict[str, Any]]:
    raw = tomllib.loads((TENANTS_DIR / f"{slug}.toml").read_text(encoding="utf-8"))
    return list(raw["demo"]["locations"])


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = (math.radians(v) for v in (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def _nearest_first(slug: str) -> list[str]:
    here = POSITIONS[slug]
    sites = _sites(slug)
    return [
        s["name"]
        for s in sorted(sites, key=lambda s: _distance_m(here, (s["latitude"], s["longitude"])))
    ]


def _having(slug: str, standard: str) -> list[str]:
    """Sites with a connector of ``standard``, nearest first."""
    wanted = set()
    for site in _sites(slug):
        for station in site.get("stations", []):
            for evse in station.get("evses", []):
                if any(c["standard"] == standard for c in evse["connectors"]):
                    wanted.add(site["name"])
    return [name for name in _nearest_first(slug) if name in wanted]


@pytest.fixture
def phone(browser: Browser, slug: str) -> Iterator[BrowserContext]:
    """A phone that shares its position when the page asks."""
    latitude, longitude = POSITIONS[slug]
    context = browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        geolocation={"latitude": latitude, "longitude": longitude},
        permissions=["geolocation"],
    )
    context.set_default_timeout(15_000)
    # Map tiles never leave the machine: the brand's tile host is answered here.
    context.route(
        f"{TILES}**", lambda route: route.fulfill(body=TILE_PNG, content_type="image/png")
    )
    yield context
    context.close()


def _station_names(page: Page) -> list[str]:
    return page.locator("[data-testid=station-link]").all_inner_texts()


def test_a_driver_finds_the_nearest_station_filters_and_reads_its_price(
    phone: BrowserContext, brand: dict[str, Any], tenant: TenantFile, slug: str
) -> None:
    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(brand["driver_url"])
    assert _station_names(page) == sorted(_station_names(page))

    # Asked only on a tap; the phone answers with its position and the list re-sorts.
    page.locator("[data-locate]").click()
    page.wait_for_url(re.compile(r"[?&]lat=[-0-9.]+&lon=[-0-9.]+"))
    expect(page.locator("[data-testid=sorted-by-distance]")).to_be_visible()
    assert _station_names(page) == _nearest_first(slug)
    first = _sites(slug)[[s["name"] for s in _sites(slug)].index(_nearest_first(slug)[0])]
    metres = _distance_m(POSITIONS[slug], (first["latitude"], first["longitude"]))
    km = (Decimal(metres) / 1000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    shown = page.locator("[data-testid=distance]").first.inner_text()
    decimal = "," if tenant.locale.startswith("de") else "."
    assert shown == f"{km} km".replace(".", decimal), shown
    page.screenshot(path=ARTIFACTS / f"{slug}-finder-1-nearest.png", full_page=True)

    # A filter narrows the list in place (HTMX) and stays in the address.
    filtered = _having(slug, FILTERS[slug])
    page.locator(".finder-filters > summary").click()
    page.locator("#finder-standard").select_option(FILTERS[slug])
    page.wait_for_url(re.compile(rf"standard={FILTERS[slug]}"))
    expect(page.locator("[data-testid=station-link]")).to_have_count(len(filtered))
    assert _station_names(page) == filtered
    page.screenshot(path=ARTIFACTS / f"{slug}-finder-2-filtered.png", full_page=True)

    # The browser keeps the power within bounds; a hand-made address gets its error beside
    # the field, and the filters it had.
    filtered_url = page.url
    response = page.goto(f"{filtered_url}&min_kw=5000")
    assert response is not None
    assert response.status == 400
    expect(page.locator("#error-min_kw")).to_be_visible()
    expect(page.locator("#finder-min-kw")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#finder-standard")).to_have_value(FILTERS[slug])
    expect(page.locator("[data-testid=station-link]")).to_have_count(0)
    page.goto(filtered_url)

    # The station page says what charging costs, VAT included.
    page.locator("[data-testid=station-link]").first.click()
    expect(page.locator("[data-testid=location-name]")).to_have_text(filtered[0])
    expect(page.locator("[data-testid=price]")).to_have_text(PRICES[slug])
    expect(page.locator("[data-testid=charge-here]").first).to_be_visible()
    page.screenshot(path=ARTIFACTS / f"{slug}-finder-3-station.png", full_page=True)
    assert not errors, errors


def test_the_map_shows_the_stations_or_says_it_lists_them(
    phone: BrowserContext, brand: dict[str, Any], slug: str
) -> None:
    latitude, longitude = POSITIONS[slug]
    page = phone.new_page()
    page.goto(f"{brand['driver_url']}map?lat={latitude}&lon={longitude}")
    names = _nearest_first(slug)
    if slug == "harbour-charge":
        # The brand configures OpenStreetMap tiles: a marker per station, a tap opens it.
        expect(page.locator("[data-testid=finder-map]")).to_be_visible()
        expect(page.locator("[data-testid=map-marker]")).to_have_count(len(names))
        tile = page.locator(".map-tile").first
        expect(tile).to_have_js_property("naturalWidth", 256)
        page.screenshot(path=ARTIFACTS / f"{slug}-finder-4-map.png")
        page.locator(f'[data-testid=map-marker][aria-label^="{names[0]}"]').click()
        expect(page.locator("[data-testid=location-name]")).to_have_text(names[0])

        # When the tiles do not load, the map steps aside and the list says why.
        failing = phone.new_page()
        failing.route(f"{TILES}**", lambda route: route.abort())
        failing.goto(f"{brand['driver_url']}map?lat={latitude}&lon={longitude}")
        expect(failing.locator("[data-testid=map-fallback]")).to_be_visible()
        expect(failing.locator("[data-testid=finder-map]")).to_be_hidden()
        assert _station_names(failing) == names
        failing.screenshot(path=ARTIFACTS / f"{slug}-finder-5-map-failed.png", full_page=True)
    else:
        # No tiles configured: the list, and a sentence saying so.
        expect(page.locator("[data-testid=map-fallback]")).to_be_visible()
        assert page.locator("[data-testid=finder-map]").count() == 0
        assert _station_names(page) == names
        page.screenshot(path=ARTIFACTS / f"{slug}-finder-4-no-map.png", full_page=True)
