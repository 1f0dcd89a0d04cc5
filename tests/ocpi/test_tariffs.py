"""Tariffs module, sender interface: the partner's tariffs as OCPI objects, paginated."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from tests.conftest import MakeBrand
from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.h4_support import registered_emsp
from voltlane.billing.tariffs import create_tariff_version
from voltlane.core.db import Database
from voltlane.models.tenant import TariffVersion
from voltlane.settings import Settings
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Ocpi

T1 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


async def _version(
    database: Database,
    brand: TenantInfo,
    code: str,
    price: str,
    segment: SegmentKind,
    ref: str | None = None,
) -> None:
    async with database.tenant_transaction(brand.key) as db_session:
        version = await create_tariff_version(
            db_session,
            definition={
                "id": code,
                "currency": "EUR",
                "elements": [
                    {"price_components": [{"type": "ENERGY", "price": price, "step_size": 1}]}
                ],
            },
            segment=segment,
            segment_ref=ref,
            idle_fee=None,
            brand_currency="EUR",
            created_by=None,
        )
        await db_session.execute(
            update(TariffVersion).where(TariffVersion.id == version.id).values(created_at=T1)
        )


def _object(code: str, price: str) -> dict[str, Any]:
    return {
        "country_code": "DE",
        "party_id": "VLT",
        "id": code,
        "currency": "EUR",
        "elements": [
            {"price_components": [{"type": "ENERGY", "price": float(price), "step_size": 1}]}
        ],
        "last_updated": "2026-03-01T08:00:00Z",
    }


async def test_each_code_is_offered_at_the_partners_price_else_the_public_one(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    make_brand: MakeBrand,
    ocpi_for: OcpiClientFactory,
) -> None:
    other = await make_brand(ocpi=Ocpi(country_code="FR", party_id="OTH"))
    emsp = await registered_emsp(database, settings.secret_key, cpo, party=("NL", "EMS"))
    await _version(database, cpo, "AC", "0.49", SegmentKind.PUBLIC)
    await _version(database, cpo, "AC", "0.39", SegmentKind.ROAMING, "NL*EMS")
    await _version(database, cpo, "DC", "0.69", SegmentKind.PUBLIC)
    await _version(database, cpo, "DC", "0.59", SegmentKind.ROAMING, "BE*XYZ")
    await _version(database, cpo, "CLUB", "0.29", SegmentKind.MEMBER)
    await _version(database, other, "OTHER", "0.99", SegmentKind.PUBLIC)
    async with ocpi_for(cpo, emsp.token) as client:
        response = await client.get("/ocpi/2.2.1/tariffs")
        first = await client.get("/ocpi/2.2.1/tariffs", params={"limit": "1"})
        later = await client.get(
            "/ocpi/2.2.1/tariffs", params={"date_from": "2026-03-02T00:00:00Z"}
        )
        bad = await client.get("/ocpi/2.2.1/tariffs", params={"offset": "x"})
    assert data_of(response) == [_object("AC", "0.39"), _object("DC", "0.69")]
    assert response.headers["X-Total-Count"] == "2"
    assert data_of(first) == [_object("AC", "0.39")]
    assert first.headers["Link"] == (
        f'<http://{cpo.slug}.localhost:8000/ocpi/2.2.1/tariffs?offset=1&limit=1>; rel="next"'
    )
    assert data_of(later) == []
    assert bad.json()["status_code"] == 2001
