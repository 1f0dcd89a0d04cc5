"""Transport and format: the token guard, the envelope, the versions module, the headers."""

from __future__ import annotations

import base64
import re

from tests.conftest import MakeBrand
from tests.ocpi.conftest import OcpiClientFactory, data_of, registration_token
from voltlane.core.db import Database
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Ocpi

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def test_token_a_reads_the_versions_and_the_endpoints_of_2_2_1(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    issued = await registration_token(database, cpo, "Mobility eMSP")
    async with ocpi_for(cpo, issued.token) as client:
        versions = await client.get("/ocpi/versions")
        details = await client.get("/ocpi/2.2.1")
    assert versions.status_code == 200
    body = versions.json()
    assert TIMESTAMP.match(body["timestamp"])
    assert body["data"] == [
        {"version": "2.2.1", "url": f"http://{cpo.slug}.localhost:8000/ocpi/2.2.1"}
    ]
    endpoints = data_of(details)["endpoints"]
    assert data_of(details)["version"] == "2.2.1"
    assert {
        "identifier": "credentials",
        "role": "SENDER",
        "url": f"http://{cpo.slug}.localhost:8000/ocpi/2.2.1/credentials",
    } in endpoints


async def test_a_request_without_a_valid_token_is_refused_with_401(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    await registration_token(database, cpo, "Mobility eMSP")
    async with ocpi_for(cpo, None) as client:
        missing = await client.get("/ocpi/versions")
        wrong = await client.get(
            "/ocpi/versions", headers={"Authorization": "Token " + base64.b64encode(b"x").decode()}
        )
        bearer = await client.get("/ocpi/versions", headers={"Authorization": "Bearer abc"})
    for response in (missing, wrong, bearer):
        assert response.status_code == 401
        assert response.json()["status_code"] == 2000
        assert "data" not in response.json()


async def test_a_token_of_one_brand_opens_nothing_on_another(
    database: Database, cpo: TenantInfo, make_brand: MakeBrand, ocpi_for: OcpiClientFactory
) -> None:
    other = await make_brand(ocpi=Ocpi(country_code="NL", party_id="OTH"))
    issued = await registration_token(database, cpo, "Mobility eMSP")
    async with ocpi_for(other, issued.token) as client:
        response = await client.get("/ocpi/versions")
    assert response.status_code == 401


async def test_an_unencoded_token_of_an_older_peer_is_accepted(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    issued = await registration_token(database, cpo, "Legacy hub")
    async with ocpi_for(cpo, None) as client:
        response = await client.get(
            "/ocpi/versions", headers={"Authorization": f"Token {issued.token}"}
        )
    assert response.status_code == 200
    assert response.json()["status_code"] == 1000


async def test_request_and_correlation_ids_are_echoed_and_routing_headers_turned_around(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    issued = await registration_token(database, cpo, "Mobility eMSP")
    async with ocpi_for(cpo, issued.token) as client:
        echoed = await client.get(
            "/ocpi/versions",
            headers={
                "X-Request-ID": "req-1",
                "X-Correlation-ID": "corr-1",
                "OCPI-from-country-code": "NL",
                "OCPI-from-party-id": "EMS",
                "OCPI-to-country-code": "DE",
                "OCPI-to-party-id": "VLT",
            },
        )
        fresh = await client.get("/ocpi/versions")
    assert echoed.headers["X-Request-ID"] == "req-1"
    assert echoed.headers["X-Correlation-ID"] == "corr-1"
    assert echoed.headers["OCPI-to-country-code"] == "NL"
    assert echoed.headers["OCPI-to-party-id"] == "EMS"
    assert echoed.headers["OCPI-from-country-code"] == "DE"
    assert echoed.headers["OCPI-from-party-id"] == "VLT"
    assert len(fresh.headers["X-Request-ID"]) == 36
    assert len(fresh.headers["X-Correlation-ID"]) == 36


async def test_an_unknown_ocpi_path_or_method_is_answered_in_the_envelope(
    database: Database, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    issued = await registration_token(database, cpo, "Mobility eMSP")
    async with ocpi_for(cpo, issued.token) as client:
        unknown = await client.get("/ocpi/2.2.1/nonsense")
        wrong_method = await client.delete("/ocpi/versions")
    assert unknown.status_code == 404
    assert unknown.json()["status_code"] == 2000
    assert TIMESTAMP.match(unknown.json()["timestamp"])
    assert wrong_method.status_code == 405
    assert wrong_method.json()["status_code"] == 2000
