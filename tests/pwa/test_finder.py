"""The driver app's station finder: the list, the map page and the JSON search API, over
HTTP on a brand's host, against real PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.pwa.finder_factories import (
    CCS,
    CHADEMO,
    PHONE,
    T2,
    add_place,
    haversine_m,
    make_brand_with_app,
)
from tests.web.helpers import HTML
from voltlane.core.db import Database
from voltlane.settings import Settings
from voltlane.station.search import Position, StationSearch, search_locations
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import DriverApp

API = "/api/app/v1/stations"
NEAR = {"lat": str(PHONE[0]), "lon": str(PHONE[1])}
# name -> (lat, lon) around Hamburg's town hall; distances from PHONE in the test below.
PLACES = {
    "Rathausmarkt": ("53.5503", "9.9930"),
    "Hafencity": ("53.5413", "10.0036"),
    "Altona": ("53.5503", "9.9350"),
    "Wandsbek": ("53.5720", "10.0750"),
    "Bergedorf": ("53.4880", "10.2110"),
    "Lübeck": ("53.8655", "10.6866"),
}
CARD_RE = re.compile(r'<h2><a href="/stations/[0-9a-f-]+" data-testid="station-link">([^<]+)</a>')
DISTANCE_RE = re.compile(r'data-testid="distance">([^<]+)</span>')
ALWAYS_CLOSED = {"twentyfourseven": False, "regular_hours": []}


def names(page: str) -> list[str]:
    return CARD_RE.findall(page)


def plain(text: str) -> str:
    return text.replace("\xa0", " ").replace("\u202f", " ")


async def hamburg(database: Database, brand: TenantInfo) -> None:
    """Six sites: Type 2 AC everywhere, fast CCS at Hafencity and Wandsbek (busy), a
    CHAdeMO at Bergedorf, Altona closed by its hours."""
    plugs = {
        "Hafencity": ((T2, 22000, "Available"), (CCS, 150000, "Available")),
        "Wandsbek": ((CCS, 300000, "Charging"), (CCS, 300000, "Faulted")),
        "Bergedorf": ((CHADEMO, 50000, "Available"),),
        "Lübeck": ((T2, 11000, "Unavailable"),),
    }
    async with database.tenant_transaction(brand.key) as db_session:
        for name, (lat, lon) in PLACES.items():
            await add_place(
                db_session,
                name,
                lat,
                lon,
                plugs.get(name, ((T2, 22000, "Available"),)),
                city="Lübeck" if name == "Lübeck" else "Hamburg",
                postal_code="23552" if name == "Lübeck" else f"2{len(name):04d}",
                address=f"{name}straße 1",
                hours=ALWAYS_CLOSED if name == "Altona" else None,
            )


async def test_the_list_is_nearest_first_from_the_phone_with_distances_in_the_brand_locale(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locale="de_DE")
    await hamburg(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        near = await client.get("/", params=NEAR, headers=HTML)
        by_name = await client.get("/", headers=HTML)
        api = await client.get(API, params=NEAR)
    assert near.status_code == 200
    order = ["Rathausmarkt", "Hafencity", "Altona", "Wandsbek", "Bergedorf", "Lübeck"]
    assert names(near.text) == order
    assert [plain(d) for d in DISTANCE_RE.findall(near.text)] == [
        "100 m",
        "1,3 km",
        "3,9 km",
        "5,9 km",
        "16,0 km",
        "57,5 km",
    ]
    assert 'data-testid="sorted-by-distance"' in near.text
    assert names(by_name.text) == sorted(order)
    assert DISTANCE_RE.findall(by_name.text) == []
    body = api.json()
    assert api.headers["content-type"].startswith("application/json")
    assert [s["name"] for s in body["stations"]] == order
    assert body["count"] == 6
    for station in body["stations"]:
        expected = haversine_m(PHONE, tuple(Decimal(v) for v in PLACES[station["name"]]))
        assert abs(station["distance_m"] - expected) <= 1, station["name"]


async def test_each_card_shows_points_power_standards_and_live_availability(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await hamburg(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        page = await client.get("/", params={**NEAR, "q": "Hafencity"}, headers=HTML)
        api = await client.get(API, params=NEAR)
    card = page.text[page.text.index('data-testid="station-link">Hafencity') :]
    card = card[: card.index("</li>")]
    assert "2 charging points · up to 150 kW" in card
    assert '<p class="finder-availability is-available" data-testid="availability">2 of 2' in card
    assert '<span class="tag">Type 2</span><span class="tag">CCS (Combo 2)</span>' in card
    by_name = {s["name"]: s for s in api.json()["stations"]}
    assert {n: (s["available_evses"], s["evse_count"]) for n, s in by_name.items()} == {
        "Rathausmarkt": (1, 1),
        "Hafencity": (2, 2),
        "Altona": (1, 1),
        "Wandsbek": (0, 2),
        "Bergedorf": (1, 1),
        "Lübeck": (0, 1),
    }
    assert by_name["Wandsbek"]["max_power_kw"] == 300.0
    assert by_name["Hafencity"]["standards"] == ["IEC_62196_T2", "IEC_62196_T2_COMBO"]
    assert by_name["Altona"]["open_now"] is False
    assert by_name["Hafencity"]["url"] == f"/stations/{by_name['Hafencity']['id']}"


async def test_each_filter_narrows_the_list(database: Database, make_brand, client_for) -> None:
    brand = await make_brand()
    await hamburg(database, brand)
    cases = {
        (("standard", "IEC_62196_T2_COMBO"),): ["Hafencity", "Wandsbek"],
        (("standard", "CHADEMO,IEC_62196_T2_COMBO"),): ["Hafencity", "Wandsbek", "Bergedorf"],
        (("min_kw", "150"),): ["Hafencity", "Wandsbek"],
        (("min_kw", "200"),): ["Wandsbek"],
        (("available", "true"),): ["Rathausmarkt", "Hafencity", "Altona", "Bergedorf"],
        # The same connector must match every filter: Wandsbek's fast CCS are busy.
        (("standard", "IEC_62196_T2_COMBO"), ("available", "true")): ["Hafencity"],
        (("open_now", "true"),): ["Rathausmarkt", "Hafencity", "Wandsbek", "Bergedorf", "Lübeck"],
        (("radius_km", "4"),): ["Rathausmarkt", "Hafencity", "Altona"],
        (("q", "lübeck"),): ["Lübeck"],
        (("q", "23552"),): ["Lübeck"],  # postal code
        (("q", "wandsbekstr"),): ["Wandsbek"],  # address, from the word's beginning
        (("q", "hamb"),): ["Rathausmarkt", "Hafencity", "Altona", "Wandsbek", "Bergedorf"],
        (("limit", "2"),): ["Rathausmarkt", "Hafencity"],
    }
    async with client_for(f"{brand.slug}.localhost") as client:
        for query, expected in cases.items():
            response = await client.get(API, params=[*NEAR.items(), *query])
            assert response.status_code == 200, query
            assert [s["name"] for s in response.json()["stations"]] == expected, query
        page = await client.get("/", params={"standard": "CHADEMO"}, headers=HTML)
        unmatched = await client.get(API, params={**NEAR, "standard": "MCS"})
    assert names(page.text) == ["Bergedorf"]
    assert '<option value="CHADEMO" selected>CHAdeMO</option>' in page.text
    assert unmatched.json() == {"stations": [], "count": 0}


async def test_filters_stay_in_the_links_and_htmx_swaps_only_the_results(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await hamburg(database, brand)
    query = {**NEAR, "standard": "IEC_62196_T2_COMBO", "available": "true"}
    async with client_for(f"{brand.slug}.localhost") as client:
        page = await client.get("/", params=query, headers=HTML)
        fragment = await client.get("/", params=query, headers={**HTML, "HX-Request": "true"})
    link = "lat=53.5511&amp;lon=9.9937&amp;standard=IEC_62196_T2_COMBO&amp;available=true"
    assert f'href="/map?{link}"' in page.text
    assert 'hx-get="/" hx-target="#finder-results" hx-push-url="true"' in page.text
    assert (
        '<input id="finder-available" type="checkbox" name="available" value="true" checked>'
        in (page.text)
    )
    assert fragment.status_code == 200
    assert "<form" not in fragment.text
    assert "<html" not in fragment.text
    assert names(fragment.text) == ["Hafencity"]
    assert '<p class="field-error" id="error-min_kw" hx-swap-oob="true" hidden></p>' in (
        fragment.text
    )


async def test_bad_parameters_are_problem_details_and_form_errors(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await hamburg(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        answers = {
            key: await client.get(API, params=params)
            for key, params in {
                "lat": {"lat": "north", "lon": "9.99"},
                "lon": {"lat": "53.5"},
                "radius": {"radius_km": "5"},
                "several": {"standard": "SCHUKO", "min_kw": "-1", "limit": "0", "open_now": "x"},
            }.items()
        }
        page = await client.get("/", params={"min_kw": "lots"}, headers=HTML)
        htmx = await client.get(
            "/", params={"min_kw": "lots"}, headers={**HTML, "HX-Request": "true"}
        )
    for response in answers.values():
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
    assert answers["lat"].json() == {
        "type": "about:blank",
        "title": "Bad request",
        "status": 400,
        "detail": "lat must be a number from -90 to 90, given together with lon",
        "errors": [
            {"field": "lat", "detail": "must be a number from -90 to 90, given together with lon"}
        ],
    }
    assert [e["field"] for e in answers["lon"].json()["errors"]] == ["lon"]
    assert [e["field"] for e in answers["radius"].json()["errors"]] == ["radius_km"]
    assert [e["field"] for e in answers["several"].json()["errors"]] == [
        "standard",
        "min_kw",
        "open_now",
        "limit",
    ]
    assert page.status_code == 400
    assert (
        '<input id="finder-min-kw" type="number" name="min_kw" value="lots" min="0" max="1000"'
        ' step="any" inputmode="decimal" aria-invalid="true" aria-describedby="error-min_kw">'
    ) in page.text
    assert '<p class="field-error" id="error-min_kw">Enter a power from 0 to 1,000 kW.</p>' in (
        page.text
    )
    assert names(page.text) == []
    assert (
        '<p class="field-error" id="error-min_kw" hx-swap-oob="true">'
        "Enter a power from 0 to 1,000 kW.</p>"
    ) in htmx.text


async def test_open_now_reads_the_hours_in_the_locations_timezone_across_midnight(
    database: Database, make_brand
) -> None:
    brand = await make_brand()
    night = {
        "twentyfourseven": False,
        # Friday 22:00 to Saturday 02:00, local time.
        "regular_hours": [{"weekday": 5, "period_begin": "22:00", "period_end": "02:00"}],
    }
    async with database.tenant_transaction(brand.key) as db_session:
        await add_place(db_session, "Berlin night", "52.52", "13.40", hours=night)
        await add_place(
            db_session,
            "New York night",
            "40.71",
            "-74.00",
            hours=night,
            timezone="America/New_York",
        )
        await add_place(
            db_session,
            "Berlin, closed for works",
            "52.53",
            "13.41",
            hours={
                "twentyfourseven": True,
                "exceptional_closings": [
                    {
                        "period_begin": "2026-12-18T23:00:00+00:00",
                        "period_end": "2026-12-19T05:00:00+00:00",
                    }
                ],
            },
        )
    search = StationSearch(position=Position(Decimal("50"), Decimal("0")), open_now=True)

    async def open_at(moment: datetime) -> list[str]:
        async with database.tenant_session(brand.key) as db_session:
            return [f.name for f in await search_locations(db_session, search, now=moment)]

    # Saturday 19 December 2026, 00:30 in Berlin (23:30 UTC on Friday): open after midnight;
    # the works' closing covers it too. 18:30 in New York: not yet open there.
    assert await open_at(datetime(2026, 12, 18, 23, 30, tzinfo=UTC)) == ["Berlin night"]
    # 02:00 in Berlin: closed again; 21:59 in New York: still closed.
    assert await open_at(datetime(2026, 12, 19, 1, 0, tzinfo=UTC)) == []
    assert await open_at(datetime(2026, 12, 19, 2, 59, tzinfo=UTC)) == []
    # 22:00 Friday in New York (03:00 UTC Saturday): open there; Berlin's works go on.
    assert await open_at(datetime(2026, 12, 19, 3, 0, tzinfo=UTC)) == ["New York night"]
    # Midnight in New York, 05:00 UTC: open over midnight there; Berlin's works are over.
    assert await open_at(datetime(2026, 12, 19, 5, 0, tzinfo=UTC)) == [
        "Berlin, closed for works",
        "New York night",
    ]
    # Thursday 23:30 in Berlin: the Friday night period has not begun.
    assert await open_at(datetime(2026, 12, 17, 22, 30, tzinfo=UTC)) == ["Berlin, closed for works"]


async def test_open_now_over_http_follows_exceptional_openings_and_closings(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    now = datetime.now(UTC)
    around_now = {
        "period_begin": (now - timedelta(days=1)).isoformat(),
        "period_end": (now + timedelta(days=1)).isoformat(),
    }
    async with database.tenant_transaction(brand.key) as db_session:
        await add_place(
            db_session,
            "Opened today",
            "53.55",
            "9.99",
            hours={**ALWAYS_CLOSED, "exceptional_openings": [around_now]},
        )
        await add_place(
            db_session,
            "Closed today",
            "53.56",
            "9.99",
            hours={"twentyfourseven": True, "exceptional_closings": [around_now]},
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        open_now = await client.get(API, params={"open_now": "true"})
        every = await client.get(API)
    assert [s["name"] for s in open_now.json()["stations"]] == ["Opened today"]
    assert {s["name"]: s["open_now"] for s in every.json()["stations"]} == {
        "Closed today": False,
        "Opened today": True,
    }


async def test_unpublished_locations_and_rejected_stations_are_not_listed(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_place(db_session, "Public", "53.55", "9.99")
        hidden = await add_place(db_session, "Staff only", "53.55", "9.98", publish=False)
    async with client_for(f"{brand.slug}.localhost") as client:
        listed = await client.get(API, params=NEAR)
        page = await client.get(f"/stations/{hidden.id}", headers=HTML)
    assert [s["name"] for s in listed.json()["stations"]] == ["Public"]
    assert page.status_code == 404


async def test_a_brand_never_lists_another_brands_stations(
    database: Database, make_brand, client_for
) -> None:
    a = await make_brand(name="Alpha Charge")
    b = await make_brand(name="Bravo Energy")
    async with database.tenant_transaction(a.key) as db_session:
        await add_place(db_session, "Alpha Hafen", "53.55", "9.99")
    async with database.tenant_transaction(b.key) as db_session:
        bravo = await add_place(db_session, "Bravo Hafen", "53.5501", "9.9901")
    async with client_for(f"{a.slug}.localhost") as client:
        api = await client.get(API, params=NEAR)
        text = await client.get(API, params={"q": "hafen"})
        page = await client.get("/", params=NEAR, headers=HTML)
        mapped = await client.get("/map", params=NEAR, headers=HTML)
        station = await client.get(f"/stations/{bravo.id}", headers=HTML)
        status = await client.get(f"/stations/{bravo.id}/status", headers=HTML)
        api_status = await client.get(f"/stations/{bravo.id}/status")
    assert [s["name"] for s in api.json()["stations"]] == ["Alpha Hafen"]
    assert [s["name"] for s in text.json()["stations"]] == ["Alpha Hafen"]
    for response in (page, mapped):
        assert names(response.text) == ["Alpha Hafen"]
        assert "Bravo" not in response.text
    assert (station.status_code, status.status_code, api_status.status_code) == (404, 404, 404)
    assert "Bravo" not in station.text
    assert api_status.json()["title"] == "Not found"


async def test_the_map_uses_the_brands_tiles_or_says_it_falls_back_to_the_list(
    database: Database, settings: Settings, make_brand, client_for
) -> None:
    tiles = "https://tiles.example/{z}/{x}/{y}.png"
    mapped = await make_brand_with_app(
        database, settings, DriverApp(map_tiles=tiles, map_attribution="© Example tiles")
    )
    plain_brand = await make_brand()
    for brand in (mapped, plain_brand):
        async with database.tenant_transaction(brand.key) as db_session:
            await add_place(db_session, "Rathausmarkt", "53.5503", "9.9930")
    async with client_for(f"{mapped.slug}.localhost") as client:
        with_tiles = await client.get("/map", params=NEAR, headers=HTML)
    async with client_for(f"{plain_brand.slug}.localhost") as client:
        without = await client.get("/map", params=NEAR, headers=HTML)
    assert with_tiles.status_code == 200
    assert 'data-tiles="https://tiles.example/{z}/{x}/{y}.png"' in with_tiles.text
    assert 'data-attribution="© Example tiles"' in with_tiles.text
    assert 'data-lat="53.5511" data-lon="9.9937"' in with_tiles.text
    assert names(with_tiles.text) == ["Rathausmarkt"]
    assert "data-tiles" not in without.text
    assert (
        '<p class="banner banner-info" role="status" data-testid="map-fallback">'
        "This app has no map yet, so the stations are listed below.</p>"
    ) in without.text
    assert names(without.text) == ["Rathausmarkt"]
