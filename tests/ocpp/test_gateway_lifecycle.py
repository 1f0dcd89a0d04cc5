"""The gateway follows the brands: suspended brands lose their stations, pending is capped."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from websockets.exceptions import InvalidStatus

from tests.factories import brand_spec
from tests.ocpp.conftest import PASSWORD, add_ocpp_station, basic, url
from voltlane.core.db import Database
from voltlane.settings import Settings, SettingsError, load_settings
from voltlane.station import operations
from voltlane.tenancy import service as tenancy


async def test_stations_of_a_suspended_brand_are_disconnected(
    database: Database, make_brand, open_charger, gateway
) -> None:
    brand = await make_brand()
    other = await make_brand()
    await add_ocpp_station(database, brand, "SUSP-1")
    await add_ocpp_station(database, other, "KEEP-1")
    suspended = await open_charger(brand, "SUSP-1", "ocpp1.6")
    kept = await open_charger(other, "KEEP-1", "ocpp1.6")
    async with database.platform_transaction() as db_session:
        await tenancy.set_suspended(db_session, brand.slug, suspended=True)
    gateway.registry.invalidate()

    assert await gateway.drop_inactive_brands() == 1
    await asyncio.wait_for(suspended.ws.wait_closed(), timeout=5)
    assert (suspended.ws.close_code, suspended.ws.close_reason) == (1008, "brand suspended")
    assert kept.ws.close_code is None


async def test_auto_commissioning_stops_at_the_pending_limit(
    database: Database, settings: Settings, gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from websockets.asyncio.client import connect  # noqa: PLC0415

    spec = msgspec.structs.replace(brand_spec(), features={"auto_commissioning": True})
    async with database.platform_transaction() as db_session:
        info, _ = await tenancy.register_tenant(db_session, spec)
    brand = await tenancy.provision_tenant(database, settings.migrations_dir, info.id)
    monkeypatch.setattr(operations, "MAX_PENDING_STATIONS", 1)

    async with connect(
        url(gateway, brand.key, "NEW-1"),
        subprotocols=["ocpp1.6"],  # type: ignore[list-item]
        additional_headers={"Authorization": basic("NEW-1", PASSWORD)},
    ):
        pass
    with pytest.raises(InvalidStatus) as refused:
        await connect(
            url(gateway, brand.key, "NEW-2"),
            subprotocols=["ocpp1.6"],  # type: ignore[list-item]
            additional_headers={"Authorization": basic("NEW-2", PASSWORD)},
        )
    assert refused.value.response.status_code == 429


def test_a_tls_certificate_needs_its_key(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("VOLTLANE_OCPP_TLS_CERT", str(cert))
    monkeypatch.delenv("VOLTLANE_OCPP_TLS_KEY", raising=False)
    with pytest.raises(SettingsError, match="VOLTLANE_OCPP_TLS_CERT and VOLTLANE_OCPP_TLS_KEY"):
        load_settings()
