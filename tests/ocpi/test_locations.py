"""Locations module, sender interface: exact objects, pagination, filters, errors and
isolation between brands."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from tests.conftest import MakeBrand
from tests.factories import add_location
from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.emi3_support import add_roaming_station
from tests.ocpi.h4_support import registered_emsp
from voltlane.billing.tariffs import assign_tariff, create_tariff_version
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingStation, Connector, Evse, Location
from voltlane.ocpi.location_mapping import coordinate, evse_status
from voltlane.ocpi.protocol import ocpi_datetime
from voltlane.settings import Settings
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Ocpi


async def _seed(database: Database, brand: TenantInfo, name: str = "Hafen") -> uuid.UUID:
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session, name)
        await add_roaming_station(
            db_session, brand, location, f"ST-{uuid.uuid4().hex[:8]}", evses=2
        )
        return location.id


async def _rows(database: Database, brand: TenantInfo, location_id: uuid.UUID) -> Any:
    async with database.tenant_transaction(brand.key) as db_session:
        location = await db_session.get(Location, location_id)
        rows = (
            await db_session.execute(
                select(Evse, Connector)
                .join(Connector, Connector.evse_pk == Evse.id)
                .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
                .where(ChargingStation.location_id == location_id)
                .order_by(Evse.evse_id)
            )
        ).all()
        return location, rows


def _tariff(code: str, amount: str) -> dict[str, Any]:
    return {
        "id": code,
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": amount, "step_size": 1}]}],
    }


async def test_a_location_is_the_exact_ocpi_object_with_its_evses_and_connectors(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_emsp(database, settings.secret_key, cpo)
    location_id = await _seed(database, cpo)
    async with database.tenant_transaction(cpo.key) as db_session:
        await db_session.execute(
            update(Connector)
            .where(Connector.evse_pk.in_(select(Evse.id)))
            .values(status="Charging")
        )
    location, rows = await _rows(database, cpo, location_id)
    async with ocpi_for(cpo, emsp.token) as client:
        response = await client.get(f"/ocpi/2.2.1/locations/{location_id}")
    assert response.status_code == 200
    evses = [
        {
            "uid": str(evse.id),
            "evse_id": evse.emi3_id,
            "status": "CHARGING",
            "capabilities": ["REMOTE_START_STOP_CAPABLE", "UNLOCK_CAPABLE"],
            "connectors": [
                {
                    "id": "1",
                    "standard": "IEC_62196_T2",
                    "format": "SOCKET",
                    "power_type": "AC_3_PHASE",
                    "max_voltage": 400,
                    "max_amperage": 32,
                    "max_electric_power": 22000,
                    "last_updated": ocpi_datetime(connector.updated_at),
                }
            ],
            "last_updated": ocpi_datetime(max(evse.updated_at, connector.updated_at)),
        }
        for evse, connector in rows
    ]
    assert len(evses) == 2
    assert data_of(response) == {
        "country_code": "DE",
        "party_id": "VLT",
        "id": str(location_id),
        "publish": True,
        "name": "Hafen",
        "address": "Hafenstraße 1",
        "city": "Hamburg",
        "postal_code": "20359",
        "country": "DEU",
        "coordinates": {"latitude": "53.54610", "longitude": "9.96610"},
        "evses": evses,
        "time_zone": "Europe/Berlin",
        "opening_times": {"twentyfourseven": True},
        "last_updated": ocpi_datetime(location.ocpi_last_updated),
    }


async def test_evse_and_connector_objects_and_unknown_ones_answer_404_with_2003(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_emsp(database, settings.secret_key, cpo)
    location_id = await _seed(database, cpo)
    _location, rows = await _rows(database, cpo, location_id)
    evse_uid = str(rows[0][0].id)
    base = f"/ocpi/2.2.1/locations/{location_id}"
    async with ocpi_for(cpo, emsp.token) as client:
        evse = await client.get(f"{base}/{evse_uid}")
        connector = await client.get(f"{base}/{evse_uid}/1")
        unknown = [
            await client.get(f"/ocpi/2.2.1/locations/{uuid.uuid4()}"),
            await client.get("/ocpi/2.2.1/locations/LOC-1"),
            await client.get(f"{base}/{uuid.uuid4()}"),
            await client.get(f"{base}/{evse_uid}/2"),
        ]
        too_long = await client.get("/ocpi/2.2.1/locations/" + "x" * 37)
    assert data_of(evse)["uid"] == evse_uid
    assert data_of(evse)["connectors"] == [data_of(connector)]
    assert data_of(connector)["id"] == "1"
    for response in unknown:
        assert response.status_code == 404
        assert response.json()["status_code"] == 2003
        assert "data" not in response.json()
    assert too_long.status_code == 200
    assert too_long.json()["status_code"] == 2001


async def test_unpublished_locations_and_other_brands_locations_are_not_served(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    make_brand: MakeBrand,
    ocpi_for: OcpiClientFactory,
) -> None:
    other = await make_brand(ocpi=Ocpi(country_code="FR", party_id="OTH"))
    emsp = await registered_emsp(database, settings.secret_key, cpo)
    shown = await _seed(database, cpo, "Shown")
    hidden = await _seed(database, cpo, "Hidden")
    foreign = await _seed(database, other, "Foreign")
    async with database.tenant_transaction(cpo.key) as db_session:
        await db_session.execute(
            update(Location).where(Location.id == hidden).values(publish=False)
        )
    async with ocpi_for(cpo, emsp.token) as client:
        listed = await client.get("/ocpi/2.2.1/locations")
        hidden_one = await client.get(f"/ocpi/2.2.1/locations/{hidden}")
        foreign_one = await client.get(f"/ocpi/2.2.1/locations/{foreign}")
    assert [item["id"] for item in data_of(listed)] == [str(shown)]
    assert listed.headers["X-Total-Count"] == "1"
    assert (hidden_one.status_code, foreign_one.status_code) == (404, 404)


async def test_pages_in_creation_order_with_headers_and_a_next_link_keeping_the_filters(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_emsp(database, settings.secret_key, cpo)
    ids = [str(await _seed(database, cpo, f"L{n}")) for n in range(3)]
    since = "2000-01-01T00:00:00Z"
    async with ocpi_for(cpo, emsp.token) as client:
        first = await client.get("/ocpi/2.2.1/locations", params={"date_from": since, "limit": "2"})
        second = await client.get(
            "/ocpi/2.2.1/locations", params={"date_from": since, "offset": "2", "limit": "2"}
        )
        capped = await client.get("/ocpi/2.2.1/locations", params={"limit": "5000"})
    assert [item["id"] for item in data_of(first)] == ids[:2]
    assert first.headers["X-Total-Count"] == "3"
    assert first.headers["X-Limit"] == "1000"
    assert first.headers["Link"] == (
        f"<http://{cpo.slug}.localhost:8000/ocpi/2.2.1/locations?"
        'date_from=2000-01-01T00%3A00%3A00Z&offset=2&limit=2>; rel="next"'
    )
    assert [item["id"] for item in data_of(second)] == ids[2:]
    assert "Link" not in second.headers
    assert len(data_of(capped)) == 3
    assert "Link" not in capped.headers


async def test_date_from_is_inclusive_and_date_to_exclusive_on_last_updated(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_emsp(database, settings.secret_key, cpo)
    old, new = await _seed(database, cpo, "Old"), await _seed(database, cpo, "New")
    t_old = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    t_new = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    async with database.tenant_transaction(cpo.key) as db_session:
        for location_id, at in ((old, t_old), (new, t_new)):
            await db_session.execute(
                update(Location).where(Location.id == location_id).values(ocpi_last_updated=at)
            )

    async def ids(**params: str) -> list[str]:
        async with ocpi_for(cpo, emsp.token) as client:
            response = await client.get("/ocpi/2.2.1/locations", params=params)
        return [item["id"] for item in data_of(response)]

    assert await ids(date_from=ocpi_datetime(t_new)) == [str(new)]
    assert await ids(date_to=ocpi_datetime(t_new)) == [str(old)]
    assert await ids(
        date_from=ocpi_datetime(t_old), date_to=ocpi_datetime(t_new + timedelta(seconds=1))
    ) == [str(old), str(new)]
    assert await ids(date_from=ocpi_datetime(t_new + timedelta(seconds=1))) == []


async def test_malformed_parameters_answer_2001(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_emsp(database, settings.secret_key, cpo)
    async with ocpi_for(cpo, emsp.token) as client:
        responses = [
            await client.get("/ocpi/2.2.1/locations", params=params)
            for params in (
                {"offset": "-1"},
                {"limit": "many"},
                {"date_from": "yesterday"},
                {"date_from": "2026-03-02T00:00:00Z", "date_to": "2026-03-01T00:00:00Z"},
            )
        ]
    for response in responses:
        assert response.status_code == 200
        assert response.json()["status_code"] == 2001


async def test_connectors_name_the_tariffs_of_the_partners_segment(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_emsp(database, settings.secret_key, cpo, party=("NL", "EMS"))
    stranger = await registered_emsp(database, settings.secret_key, cpo, party=("BE", "XYZ"))
    location_id = await _seed(database, cpo)
    async with database.tenant_transaction(cpo.key) as db_session:
        for code, segment, ref in (
            ("BRAND", SegmentKind.PUBLIC, None),
            ("EMSONLY", SegmentKind.ROAMING, "NL*EMS"),
            ("MEMBERS", SegmentKind.MEMBER, None),
        ):
            await create_tariff_version(
                db_session,
                definition=_tariff(code, "0.40"),
                segment=segment,
                segment_ref=ref,
                idle_fee=None,
                brand_currency="EUR",
                created_by=None,
            )
        for code in ("BRAND", "EMSONLY", "MEMBERS"):
            await assign_tariff(db_session, code, location_id=location_id)

    async def tariff_ids(token: str) -> list[list[str] | None]:
        async with ocpi_for(cpo, token) as client:
            response = await client.get(f"/ocpi/2.2.1/locations/{location_id}")
        return [
            c.get("tariff_ids") for evse in data_of(response)["evses"] for c in evse["connectors"]
        ]

    # Only the tariff billing prices each partner's sessions with: NL*EMS its own, the
    # stranger falls back to the public one (not both codes assigned there).
    assert await tariff_ids(emsp.token) == [["EMSONLY"], ["EMSONLY"]]
    assert await tariff_ids(stranger.token) == [["BRAND"], ["BRAND"]]


def test_coordinates_keep_five_to_seven_decimals_within_the_string_lengths() -> None:
    assert coordinate(Decimal("53.5461"), 10) == "53.54610"
    assert coordinate(Decimal("-33.8567844"), 10) == "-33.856784"
    assert coordinate(Decimal("-126.1049653"), 11) == "-126.104965"
    assert coordinate(Decimal("9.1234567"), 11) == "9.1234567"


def test_evse_status_from_the_connectors_ocpp_statuses() -> None:
    assert evse_status(["Faulted", "Available"]) == "AVAILABLE"
    assert evse_status(["Preparing", "Faulted"]) == "CHARGING"
    assert evse_status(["Reserved"]) == "RESERVED"
    assert evse_status(["Faulted", "Unavailable"]) == "OUTOFORDER"
    assert evse_status(["Unavailable"]) == "INOPERATIVE"
    assert evse_status(["Unknown"]) == "UNKNOWN"
