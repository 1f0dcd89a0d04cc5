"""Tokens module, receiver interface: an eMSP pushes, patches and reads back its tokens."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from tests.conftest import MakeBrand
from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.h6_support import registered_partner, rfid_token
from voltlane.core.db import Database
from voltlane.models.tenant import OcpiToken
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Ocpi

URL = "/ocpi/2.2.1/tokens/NL/EMS/012345678"


async def _count(database: Database, brand: TenantInfo) -> int:
    async with database.tenant_session(brand.key) as db_session:
        return int(await db_session.scalar(select(func.count()).select_from(OcpiToken)) or 0)


async def test_a_new_token_is_created_with_201_then_replaced_with_200_and_read_back(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_partner(database, settings, cpo)
    async with ocpi_for(cpo, emsp.token) as client:
        created = await client.put(URL, json=rfid_token())
        replaced = await client.put(URL + "?type=RFID", json=rfid_token(whitelist="NEVER"))
        read = await client.get(URL)
    assert created.status_code == 201
    assert created.json()["status_code"] == 1000
    assert "data" not in created.json()
    assert replaced.status_code == 200
    assert data_of(read) == rfid_token(whitelist="NEVER")
    async with database.tenant_session(cpo.key) as db_session:
        row = await db_session.scalar(select(OcpiToken))
    assert row is not None
    assert row.partner_id == emsp.partner_id
    assert row.last_updated == datetime(2015, 6, 29, 22, 39, 9, tzinfo=UTC)
    assert await _count(database, cpo) == 1


async def test_patch_changes_only_the_fields_it_names_and_needs_last_updated(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_partner(database, settings, cpo)
    async with ocpi_for(cpo, emsp.token) as client:
        await client.put(URL, json=rfid_token())
        without_date = await client.patch(URL, json={"valid": False})
        patched = await client.patch(
            URL, json={"valid": False, "last_updated": "2019-06-19T02:11:11Z"}
        )
        null_issuer = await client.patch(
            URL, json={"issuer": None, "last_updated": "2019-06-19T02:11:12Z"}
        )
        unknown = await client.patch(
            "/ocpi/2.2.1/tokens/NL/EMS/NOPE", json={"last_updated": "2019-06-19T02:11:11Z"}
        )
        read = await client.get(URL)
    assert without_date.status_code == 200
    assert without_date.json()["status_code"] == 2001
    assert without_date.json()["status_message"] == "last_updated is required"
    assert patched.status_code == 200
    assert patched.json()["status_code"] == 1000
    assert null_issuer.json()["status_code"] == 2001
    assert null_issuer.json()["status_message"] == "issuer is required"
    assert unknown.status_code == 404
    assert unknown.json()["status_code"] == 2004
    assert data_of(read) == rfid_token(valid=False, last_updated="2019-06-19T02:11:11Z")


async def test_every_bad_field_is_answered_2001_naming_it_and_nothing_is_stored(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_partner(database, settings, cpo)
    cases = {
        "uid is longer than 36 characters": (URL, rfid_token(uid="X" * 37)),
        "contract_id is required": (URL, {**rfid_token(), "contract_id": None}),
        "whitelist must be one of ALLOWED, ALLOWED_OFFLINE, ALWAYS, NEVER": (
            URL,
            rfid_token(whitelist="SOMETIMES"),
        ),
        "valid must be true or false": (URL, rfid_token(valid="yes")),
        "type must be one of AD_HOC_USER, APP_USER, OTHER, RFID": (URL, rfid_token(type="CARD")),
        "last_updated must be an OCPI DateTime (2019-06-24T12:39:09Z)": (
            URL,
            rfid_token(last_updated="yesterday"),
        ),
        "energy_contract.supplier_name is required": (
            URL,
            rfid_token(energy_contract={"contract_id": "X"}),
        ),
        "uid '999' differs from the URL's '012345678'": (URL, rfid_token(uid="999")),
        "type 'APP_USER' differs from the URL's 'RFID'": (URL, rfid_token(type="APP_USER")),
        "issuer must be a string of printable characters": (URL, rfid_token(issuer="a\nb")),
        "body must be a JSON object": (URL, ["not", "an", "object"]),
    }
    async with ocpi_for(cpo, emsp.token) as client:
        answers = {
            message: await client.put(url, json=body) for message, (url, body) in cases.items()
        }
        bad_type = await client.get(URL + "?type=CARD")
    for message, response in answers.items():
        assert response.status_code == 200, message
        assert response.json()["status_code"] == 2001, message
        assert response.json()["status_message"] == message
    assert bad_type.json()["status_code"] == 2001
    assert await _count(database, cpo) == 0


async def test_a_party_that_is_not_one_of_the_callers_roles_gets_404(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_partner(database, settings, cpo)
    other = await registered_partner(database, settings, cpo, country_code="BE", party_id="OTH")
    async with ocpi_for(cpo, other.token) as client:
        foreign = await client.put(URL, json=rfid_token())
    async with ocpi_for(cpo, emsp.token) as client:
        await client.put(URL, json=rfid_token())
    async with ocpi_for(cpo, other.token) as client:
        read = await client.get(URL)
        own_party = await client.get("/ocpi/2.2.1/tokens/BE/OTH/012345678")
    assert foreign.status_code == 404
    assert foreign.json()["status_code"] == 2000
    assert read.status_code == 404
    assert own_party.status_code == 404
    assert own_party.json()["status_code"] == 2004
    assert await _count(database, cpo) == 1


async def test_a_hub_may_push_tokens_of_the_parties_behind_it_but_not_take_over_others(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_partner(database, settings, cpo)
    hub = await registered_partner(
        database, settings, cpo, country_code="DE", party_id="HUB", role="HUB"
    )
    async with ocpi_for(cpo, emsp.token) as client:
        await client.put(URL, json=rfid_token())
    async with ocpi_for(cpo, hub.token) as client:
        unreported = await client.put(
            "/ocpi/2.2.1/tokens/FR/ABC/777",
            json=rfid_token(uid="777", country_code="FR", party_id="ABC"),
        )
        # The parties behind a hub are those it reports (mod_hub_client_info).
        await client.put(
            "/ocpi/2.2.1/clientinfo/FR/ABC",
            json={
                "country_code": "FR",
                "party_id": "ABC",
                "role": "EMSP",
                "status": "CONNECTED",
                "last_updated": "2026-03-01T08:00:00Z",
            },
        )
        behind = await client.put(
            "/ocpi/2.2.1/tokens/FR/ABC/777",
            json=rfid_token(uid="777", country_code="FR", party_id="ABC"),
        )
        takeover = await client.put(URL, json=rfid_token(valid=False))
    assert unreported.status_code == 404
    assert behind.status_code == 201
    assert takeover.status_code == 404
    async with ocpi_for(cpo, emsp.token) as client:
        mine = await client.get(URL)
    assert data_of(mine)["valid"] is True


async def test_tokens_of_one_brand_are_not_visible_on_another(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    make_brand: MakeBrand,
    ocpi_for: OcpiClientFactory,
) -> None:
    other_brand = await make_brand(ocpi=Ocpi(country_code="DE", party_id="OTB"))
    emsp = await registered_partner(database, settings, cpo)
    elsewhere = await registered_partner(database, settings, other_brand)
    async with ocpi_for(cpo, emsp.token) as client:
        await client.put(URL, json=rfid_token())
    async with ocpi_for(other_brand, elsewhere.token) as client:
        read = await client.get(URL)
    async with ocpi_for(other_brand, emsp.token) as client:
        wrong_host = await client.get(URL)
    assert read.status_code == 404
    assert wrong_host.status_code == 401
    assert await _count(database, other_brand) == 0


async def test_the_versions_module_lists_the_tokens_receiver(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_partner(database, settings, cpo)
    async with ocpi_for(cpo, emsp.token) as client:
        details = await client.get("/ocpi/2.2.1")
    assert {
        "identifier": "tokens",
        "role": "RECEIVER",
        "url": f"http://{cpo.slug}.localhost:8000/ocpi/2.2.1/tokens",
    } in data_of(details)["endpoints"]
