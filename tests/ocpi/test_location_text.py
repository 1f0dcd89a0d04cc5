"""OCPI strings are printable only (types.asciidoc string): a location's name and address
with tabs or line breaks are refused beside the field, and a row stored before the check
reaches partners without them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from tests.api.conftest import LOCATION, api_for, create_location, issue_key
from tests.conftest import MakeBrand
from tests.factories import add_location
from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.h4_support import registered_emsp
from voltlane.core.db import Database
from voltlane.models.tenant import Location
from voltlane.settings import Settings
from voltlane.station.errors import InvalidStationError
from voltlane.station.schemas import LocationUpdate
from voltlane.station.service import update_location
from voltlane.tenancy import TenantInfo

__all__ = ["api_for"]


async def test_control_characters_in_location_text_are_refused_beside_the_field(
    database: Database, cpo: TenantInfo
) -> None:
    async with database.tenant_transaction(cpo.key) as db_session:
        with pytest.raises(InvalidStationError) as created:
            await add_location(db_session, "Depot\tNord")
        location = await add_location(db_session, "Depot Nord")
        with pytest.raises(InvalidStationError) as updated:
            await update_location(db_session, location.id, LocationUpdate(address="Kai 1\r\n"))
        with pytest.raises(InvalidStationError) as city:
            await update_location(db_session, location.id, LocationUpdate(city="Ham\x00burg"))
        await db_session.refresh(location)
        kept = (location.name, location.address, location.city)
    assert (created.value.field, updated.value.field, city.value.field) == (
        "name",
        "address",
        "city",
    )
    assert str(created.value) == (
        "Use printable characters only: no tabs, line breaks or other control characters."
    )
    assert kept == ("Depot Nord", "Hafenstraße 1", "Hamburg")


async def test_a_location_stored_with_control_characters_reaches_partners_without_them(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_emsp(database, settings.secret_key, cpo)
    async with database.tenant_transaction(cpo.key) as db_session:
        location = await add_location(db_session, "Depot")
        await db_session.execute(
            update(Location)
            .where(Location.id == location.id)
            .values(
                name="\tDepot\r\nNord ", address="Kai\t1", city="Hamburg", postal_code="20\n359"
            )
        )
    async with ocpi_for(cpo, emsp.token) as client:
        body = data_of(await client.get(f"/ocpi/2.2.1/locations/{location.id}"))
    assert (body["name"], body["address"], body["city"], body["postal_code"]) == (
        "Depot Nord",
        "Kai 1",
        "Hamburg",
        "20 359",
    )


async def test_the_api_answers_422_naming_the_field_with_a_control_character(
    database: Database, make_brand: MakeBrand, api_for: Any
) -> None:
    brand = await make_brand()
    key = await issue_key(database, brand, name="erp")
    async with api_for(brand, key) as client:
        created = await client.post("/api/v1/locations", json={**LOCATION, "name": "Kai\n1"})
        location = await create_location(client)
        patched = await client.patch(
            f"/api/v1/locations/{location['id']}", json={"address": "Kai\t1"}
        )
    assert (created.status_code, created.json()["field"]) == (422, "name")
    assert (patched.status_code, patched.json()["field"]) == (422, "address")
