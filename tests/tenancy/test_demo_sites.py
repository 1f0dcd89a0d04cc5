"""The demo brand's smart charging site: seeded from its tenant file over the 2.x simulator
stations, once, and checked against the demo network."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import brand_spec
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingStation, Evse, Location, Site, SiteEvse
from voltlane.seed import TenantFileSeeder
from voltlane.settings import Settings
from voltlane.tenancy.spec import DemoSite, DemoSiteEvse, TenantSpecError, validate_spec


def _voltaria_as(settings: Settings, tmp_path: Path, key: str) -> Path:
    """The Voltaria tenant file with another brand's key, alone in a folder."""
    text = (settings.tenants_dir / "voltaria.toml").read_text(encoding="utf-8")
    (tmp_path / "brand.toml").write_text(
        text.replace('key = "voltaria"', f'key = "{key}"', 1), encoding="utf-8"
    )
    return tmp_path


async def _sites(database: Database, key: str) -> list[tuple[object, ...]]:
    async with database.tenant_session(key) as db_session:
        rows = await db_session.execute(
            select(
                Site.name,
                Site.capacity_a,
                Site.safe_limit_a,
                Site.min_current_a,
                Site.discharge_limit_a,
                Site.allocation_period_s,
                Site.timezone,
                Location.name,
                ChargingStation.station_id,
                Evse.evse_id,
                SiteEvse.phases,
            )
            .join(SiteEvse, SiteEvse.site_id == Site.id)
            .join(Evse, Evse.id == SiteEvse.evse_pk)
            .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
            .outerjoin(Location, Location.id == Site.location_id)
            .order_by(ChargingStation.station_id)
        )
        return [tuple(row) for row in rows]


async def test_the_demo_site_is_seeded_once_over_the_2x_simulators(
    database: Database, settings: Settings, make_brand, tmp_path: Path
) -> None:
    brand = await make_brand()
    seeder = TenantFileSeeder(
        _voltaria_as(settings, tmp_path, brand.key), demo_password="demo password 123"
    )
    for _ in range(2):  # every provisioning and sync seeds again
        async with database.tenant_transaction(brand.key) as db_session:
            await seeder.seed(db_session, brand)

    site = ("Testfeld Netzanschluss", Decimal(32), Decimal(16), Decimal(6), Decimal(16), 30)
    place = ("Europe/Berlin", "Voltaria Testfeld")
    assert await _sites(database, brand.key) == [
        (*site, *place, "VLT-SIM-201", 1, "123"),
        (*site, *place, "VLT-SIM-21", 1, "123"),
    ]


def test_a_demo_site_over_an_evse_no_demo_station_has_is_refused() -> None:
    spec = brand_spec()
    spec.demo.sites = [
        DemoSite(
            name="Depot", capacity_a=32, safe_limit_a=16, evses=[DemoSiteEvse(station_id="NOPE")]
        )
    ]

    with pytest.raises(TenantSpecError) as caught:
        validate_spec(spec)

    assert str(caught.value) == "demo site 'Depot': no EVSE 1 on a demo station 'NOPE'"
