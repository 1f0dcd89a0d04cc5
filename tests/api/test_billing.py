"""Tariffs, assignments, live cost and CDRs through the operator API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tests.api.conftest import create_location, issue_key
from voltlane.core.db import Database
from voltlane.models.tenant import TariffAssignment, TariffVersion

TARIFF = {
    "id": "AC-STD",
    "currency": "EUR",
    "elements": [
        {
            "price_components": [{"type": "ENERGY", "price": "0.39", "vat": "19", "step_size": 1}],
            "restrictions": {"start_time": "22:00", "end_time": "06:00"},
        },
        {"price_components": [{"type": "ENERGY", "price": "0.49", "vat": "19", "step_size": 1}]},
    ],
}


async def _counts(database: Database, key: str) -> tuple[int, int]:
    async with database.tenant_session(key) as db_session:
        tariffs = await db_session.scalar(select(func.count()).select_from(TariffVersion))
        assignments = await db_session.scalar(select(func.count()).select_from(TariffAssignment))
    return int(tariffs or 0), int(assignments or 0)


async def test_a_tariff_version_is_stored_in_the_ocpi_shape_and_assigned(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    async with api_for(brand, key) as client:
        location = await create_location(client)
        created = await client.post(
            "/api/v1/tariffs",
            json={
                "definition": TARIFF,
                "segment": "MEMBER",
                "idle_fee": {"price_per_minute": "0.10", "grace": 3600, "cap": "12.00"},
            },
        )
        assigned = await client.post(
            "/api/v1/tariff-assignments", json={"code": "AC-STD", "location_id": location["id"]}
        )
        again = await client.post(
            "/api/v1/tariff-assignments", json={"code": "AC-STD", "location_id": location["id"]}
        )
        listed = await client.get("/api/v1/tariffs", params={"code": "AC-STD"})
        one = await client.get(f"/api/v1/tariffs/{created.json()['id']}")

    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    assert (body["code"], body["segment"], body["currency"]) == ("AC-STD", "MEMBER", "EUR")
    assert body["definition"]["elements"][0]["restrictions"] == {
        "start_time": "22:00",
        "end_time": "06:00",
    }
    assert body["idle_fee"] == {
        "price_per_minute": "0.10",
        "grace": 3600,
        "step_size": 60,
        "cap": "12.00",
        "vat": None,
    }
    assert assigned.status_code == 201
    assert again.json()["id"] == assigned.json()["id"]
    assert assigned.json()["location_id"] == location["id"]
    assert listed.json()["total"] == 1
    assert one.json() == body
    assert await _counts(database, brand.key) == (1, 1)


async def test_bad_tariffs_name_the_field_and_write_nothing(
    database: Database, make_brand, api_for
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand)
    negative = {
        **TARIFF,
        "elements": [{"price_components": [{"type": "ENERGY", "price": "-1", "step_size": 1}]}],
    }
    async with api_for(brand, key) as client:
        bad_price = await client.post("/api/v1/tariffs", json={"definition": negative})
        pounds = await client.post(
            "/api/v1/tariffs", json={"definition": {**TARIFF, "currency": "GBP"}}
        )
        bad_window = await client.post(
            "/api/v1/tariffs",
            json={
                "definition": {
                    **TARIFF,
                    "elements": [
                        {
                            "price_components": [{"type": "TIME", "price": "2", "step_size": 60}],
                            "restrictions": {"start_time": "25:00"},
                        }
                    ],
                }
            },
        )
        unknown_code = await client.post("/api/v1/tariff-assignments", json={"code": "NOPE"})
        unknown_cdr = await client.get("/api/v1/cdrs/00000000-0000-7000-8000-000000000000")

    assert (bad_price.status_code, bad_price.json()["field"]) == (
        422,
        "elements[0].price_components[0].price",
    )
    assert (pounds.status_code, pounds.json()["field"]) == (422, "currency")
    assert (bad_window.status_code, bad_window.json()["field"]) == (
        422,
        "elements[0].restrictions.start_time",
    )
    assert (unknown_code.status_code, unknown_code.json()["field"]) == (404, "code")
    assert unknown_cdr.status_code == 404
    assert await _counts(database, brand.key) == (0, 0)
