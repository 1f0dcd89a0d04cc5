"""Objects the eMSP peer reads that exercise the spec's optional parts: the specification's
own tariff examples, stored as the brand's tariffs, come back through the tariffs module
as they were written; a location with opening hours and coordinates at the edge of their
lengths is a valid Location."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from tests.factories import add_location
from tests.ocpi.conftest import OcpiClientFactory
from tests.ocpi.emi3_support import add_roaming_station
from tests.ocpi.peer import connect, new_peer
from tests.ocpi.spec_rules import validate
from voltlane.billing.tariffs import assign_tariff, create_tariff_version
from voltlane.core.db import Database
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo

EXAMPLES = Path(__file__).parent / "spec_examples"
# Ours, not the eMSP's: the CPO's party and our own timestamps replace them.
SET_BY_US = ("country_code", "party_id", "last_updated")


def spec_tariffs() -> dict[str, dict[str, Any]]:
    """Every tariff example of the spec under an id of its own (several share one): T1..."""
    tariffs = {}
    for number, path in enumerate(sorted(EXAMPLES.glob("tariff*.json")), start=1):
        tariff = json.loads(path.read_text(), parse_float=Decimal)
        for key in SET_BY_US:
            tariff.pop(key, None)
        # tariff_6 ended in 2019: a tariff no longer in force is not offered.
        tariff.pop("end_date_time", None)
        tariff["id"] = f"T{number}"
        tariffs[tariff["id"]] = tariff
    return tariffs


async def test_the_specs_tariff_examples_come_back_through_the_tariffs_module_as_written(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory, httpserver: HTTPServer
) -> None:
    peer = new_peer(httpserver, "exa", "EXA")
    connected = await connect(database, ocpi_for, cpo, peer)
    written = spec_tariffs()
    for definition in written.values():
        async with database.tenant_transaction(cpo.key) as db_session:
            await create_tariff_version(
                db_session,
                definition=definition,
                segment=SegmentKind.PUBLIC,
                segment_ref=None,
                idle_fee=None,
                brand_currency="EUR",
                created_by=None,
            )
            await assign_tariff(db_session, definition["id"])
    async with ocpi_for(cpo, connected.token) as client:
        pages = await peer.pull(
            client, connected.endpoints["tariffs", "SENDER"], "Tariff", limit=1000
        )
    assert peer.violations == []
    assert [(len(page.objects), page.total) for page in pages] == [(20, 20)]
    read = pages[0].objects
    assert {(t["country_code"], t["party_id"]) for t in read} == {("DE", "VLT")}
    received = {t["id"]: {k: v for k, v in t.items() if k not in SET_BY_US} for t in read}
    # Prices as JSON numbers: the decimals written, as floats.
    assert received == json.loads(json.dumps(written, default=float))


async def test_a_location_with_opening_hours_and_coordinates_at_their_longest_is_valid(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory, httpserver: HTTPServer
) -> None:
    peer = new_peer(httpserver, "exa", "EXA")
    connected = await connect(database, ocpi_for, cpo, peer)
    hours = {
        "twentyfourseven": False,
        "regular_hours": [
            {"weekday": 1, "period_begin": "08:00", "period_end": "18:00"},
            {"weekday": 6, "period_begin": "10:00", "period_end": "14:30"},
        ],
        "exceptional_closings": [
            {"period_begin": "2026-12-25T00:00:00Z", "period_end": "2026-12-26T00:00:00Z"}
        ],
    }
    async with database.tenant_transaction(cpo.key) as db_session:
        location = await add_location(
            db_session,
            "Südpol",
            latitude=Decimal("-89.1234567"),
            longitude=Decimal("-179.1234567"),
            opening_hours=hours,
        )
        await add_roaming_station(db_session, cpo, location, "EDGE-1", evses=2)
    url = f"{connected.endpoints['locations', 'SENDER']}/{location.id}"
    async with ocpi_for(cpo, connected.token) as client:
        read = await peer.get(client, url, "Location", many=False)
    assert peer.violations == []
    assert validate(read, "Location") == []
    # 7 decimals do not fit string(10) and string(11) with the sign: 6 do.
    assert read["coordinates"] == {"latitude": "-89.123457", "longitude": "-179.123457"}
    assert read["opening_times"] == hours
    assert len(read["evses"]) == 2
