"""CDRs module, sender: a partner reads the CDRs of its own drivers' sessions, as the
billing run made them (its roaming price), and their credits."""

from __future__ import annotations

from sqlalchemy import select

from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.roaming_support import MSP_CDR_TOKEN, rate, roaming_scene
from voltlane import billing
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingSession, Evse
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo


async def test_a_partner_reads_its_drivers_cdrs_and_their_credits_and_no_others(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    scene = await roaming_scene(database, settings.secret_key, cpo, "CP-CDR-1")
    msp, site, mine = scene.msp, scene.site, scene.mine
    cdr_id = await rate(database, cpo, mine)
    for session_id in (scene.theirs, scene.own):
        await rate(database, cpo, session_id)
    async with database.tenant_transaction(cpo.key) as db_session:
        credit = await billing.credit_cdr(db_session, cdr_id, reason="meter corrected")
        session = await db_session.get(ChargingSession, mine)
        assert session is not None
        evse = await db_session.scalar(select(Evse).where(Evse.id == session.evse_pk))
        assert evse is not None
    async with ocpi_for(cpo, msp.token) as client:
        response = await client.get("/ocpi/2.2.1/cdrs")
        bad = await client.get("/ocpi/2.2.1/cdrs", params={"date_to": "soon"})
    assert response.headers["X-Total-Count"] == "2"
    first, second = data_of(response)
    tariff = first.pop("tariffs")
    first.pop("last_updated")
    assert first == {
        "country_code": "DE",
        "party_id": "VLT",
        "id": str(cdr_id),
        "start_date_time": "2026-03-02T10:00:00Z",
        "end_date_time": "2026-03-02T11:00:00Z",
        "session_id": str(mine),
        "cdr_token": MSP_CDR_TOKEN,
        "auth_method": "AUTH_REQUEST",
        "authorization_reference": "AUTH-1",
        "cdr_location": {
            "id": str(site.location_id),
            "name": "Hafen",
            "address": "Hafenstraße 1",
            "city": "Hamburg",
            "postal_code": "20359",
            "country": "DEU",
            "coordinates": {"latitude": "53.54610", "longitude": "9.96610"},
            "evse_uid": str(evse.id),
            "evse_id": "DE*VLT*ECPCDR1*1",
            "connector_id": "1",
            "connector_standard": "IEC_62196_T2",
            "connector_format": "SOCKET",
            "connector_power_type": "AC_3_PHASE",
        },
        "currency": "EUR",
        "charging_periods": [
            {
                "start_date_time": "2026-03-02T10:00:00Z",
                "dimensions": [
                    {"type": "ENERGY", "volume": 12},
                    {"type": "TIME", "volume": 1},
                    {"type": "MIN_POWER", "volume": 12},
                    {"type": "MAX_POWER", "volume": 12},
                ],
                "tariff_id": "ROAM-MSP",
            }
        ],
        # 12 kWh at the partner's 0.40: 4.80 + 19 % VAT.
        "total_cost": {"excl_vat": 4.8, "incl_vat": 5.71},
        "total_energy_cost": {"excl_vat": 4.8, "incl_vat": 5.71},
        "total_energy": 12,
        "total_time": 1,
        "total_parking_time": 0,
    }
    assert tariff == [
        {
            "country_code": "DE",
            "party_id": "VLT",
            "id": "ROAM-MSP",
            "currency": "EUR",
            "elements": [
                {"price_components": [{"type": "ENERGY", "price": 0.4, "step_size": 1, "vat": 19}]}
            ],
            "last_updated": tariff[0]["last_updated"],
        }
    ]
    assert second["id"] == str(credit.id)
    assert second["credit"] is True
    assert second["credit_reference_id"] == str(cdr_id)
    assert second["total_cost"] == {"excl_vat": -4.8, "incl_vat": -5.71}
    assert second["total_energy_cost"] == {"excl_vat": -4.8, "incl_vat": -5.71}
    assert second["remark"] == "meter corrected"
    assert bad.json()["status_code"] == 2001
