"""Transport and format: the token guard, the envelope, the versions module, the headers."""

from __future__ import annotations

import base64
import re

import httpx

from tests.conftest import MakeBrand
from tests.ocpi.conftest import OcpiClientFactory, data_of, registration_token
from tests.ocpi.roaming_support import add_partner
from voltlane.core.db import Database
from voltlane.settings import Settings
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


ROUTED_REQUEST = {
    "OCPI-from-country-code": "NL",
    "OCPI-from-party-id": "MSP",
    "OCPI-to-country-code": "DE",
    "OCPI-to-party-id": "VLT",
}
ROUTING_HEADERS = tuple(name.lower() for name in ROUTED_REQUEST)


def routing_of(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in ROUTING_HEADERS if name in response.headers}


async def test_request_and_correlation_ids_are_echoed_and_routing_headers_turned_around(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    """transport_and_format "Message Routing Headers": functional modules' responses turn
    the routing headers around; the configuration modules (versions, credentials, hub client
    info) are not routed, "routing headers SHALL NOT be used with these modules"."""
    issued = await registration_token(database, cpo, "Mobility eMSP")
    partner = await add_partner(database, settings.secret_key, cpo)
    ids = {"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"}
    async with ocpi_for(cpo, issued.token) as client:
        versions = await client.get("/ocpi/versions", headers=ids | ROUTED_REQUEST)
        details = await client.get("/ocpi/2.2.1", headers=ROUTED_REQUEST)
        fresh = await client.get("/ocpi/versions")
    async with ocpi_for(cpo, partner.token) as client:
        credentials = await client.get("/ocpi/2.2.1/credentials", headers=ROUTED_REQUEST)
        client_info = await client.get("/ocpi/2.2.1/clientinfo/NL/MSP", headers=ROUTED_REQUEST)
        locations = await client.get("/ocpi/2.2.1/locations", headers=ids | ROUTED_REQUEST)
    assert (versions.headers["X-Request-ID"], versions.headers["X-Correlation-ID"]) == (
        "req-1",
        "corr-1",
    )
    assert [r.status_code for r in (versions, details, credentials, locations)] == [200] * 4
    assert [routing_of(r) for r in (versions, details, credentials, client_info, fresh)] == [{}] * 5
    assert (locations.headers["X-Request-ID"], locations.headers["X-Correlation-ID"]) == (
        "req-1",
        "corr-1",
    )
    assert routing_of(locations) == {
        "ocpi-to-country-code": "NL",
        "ocpi-to-party-id": "MSP",
        "ocpi-from-country-code": "DE",
        "ocpi-from-party-id": "VLT",
    }
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
