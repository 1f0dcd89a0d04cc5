"""HubClientInfo, receiver interface: a hub reports the parties connected to it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.h6_support import registered_partner
from voltlane.core.db import Database
from voltlane.models.tenant import OcpiClientInfo
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo

URL = "/ocpi/2.2.1/clientinfo/NL/ALL"
INFO = {
    "country_code": "NL",
    "party_id": "ALL",
    "role": "EMSP",
    "status": "PLANNED",
    "last_updated": "2019-06-19T02:11:11Z",
}


async def test_a_hub_puts_a_client_info_then_updates_it_and_reads_it_back(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    hub = await registered_partner(database, settings, cpo, party_id="HUB", role="HUB")
    async with ocpi_for(cpo, hub.token) as client:
        created = await client.put(URL, json=INFO)
        updated = await client.put(
            URL, json={**INFO, "status": "CONNECTED", "last_updated": "2019-06-20T00:00:00Z"}
        )
        read = await client.get("/ocpi/2.2.1/clientinfo/nl/all")
        missing = await client.get("/ocpi/2.2.1/clientinfo/NL/XYZ")
    assert created.status_code == 201
    assert updated.status_code == 200
    assert data_of(read) == {**INFO, "status": "CONNECTED", "last_updated": "2019-06-20T00:00:00Z"}
    assert missing.status_code == 404
    async with database.tenant_session(cpo.key) as db_session:
        rows = (await db_session.scalars(select(OcpiClientInfo))).all()
    assert [(r.partner_id, r.country_code, r.party_id, r.status, r.last_updated) for r in rows] == [
        (hub.partner_id, "NL", "ALL", "CONNECTED", datetime(2019, 6, 20, tzinfo=UTC))
    ]


async def test_bad_fields_are_2001_and_only_a_hub_may_report(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    hub = await registered_partner(database, settings, cpo, party_id="HUB", role="HUB")
    emsp = await registered_partner(database, settings, cpo)
    async with ocpi_for(cpo, hub.token) as client:
        bad_status = await client.put(URL, json={**INFO, "status": "GONE"})
        bad_role = await client.put(URL, json={**INFO, "role": "DRIVER"})
        other_party = await client.put(URL, json={**INFO, "party_id": "ALX"})
        no_date = await client.put(URL, json={k: v for k, v in INFO.items() if k != "last_updated"})
    async with ocpi_for(cpo, emsp.token) as client:
        not_a_hub = await client.put(URL, json=INFO)
    assert bad_status.json()["status_message"] == (
        "status must be one of CONNECTED, OFFLINE, PLANNED, SUSPENDED"
    )
    assert bad_role.json()["status_code"] == 2001
    assert bad_role.json()["status_message"].startswith("role must be one of CPO, EMSP, HUB")
    assert other_party.json()["status_message"] == "party_id 'ALX' differs from the URL's 'ALL'"
    assert no_date.json()["status_message"] == "last_updated is required"
    assert not_a_hub.status_code == 404
    async with database.tenant_session(cpo.key) as db_session:
        assert (await db_session.scalars(select(OcpiClientInfo))).all() == []


async def test_a_hub_sees_only_what_it_reported(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    first = await registered_partner(database, settings, cpo, party_id="HUB", role="HUB")
    second = await registered_partner(
        database, settings, cpo, country_code="BE", party_id="HB2", role="HUB"
    )
    async with ocpi_for(cpo, first.token) as client:
        await client.put(URL, json=INFO)
    async with ocpi_for(cpo, second.token) as client:
        read = await client.get(URL)
    assert read.status_code == 404
