"""Sessions module, sender: a partner reads its own drivers' sessions, priced by the one
engine, and nothing else; charging preferences are answered per spec."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from tests.conftest import MakeBrand
from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.roaming_support import (
    MSP_CDR_TOKEN,
    Partner,
    add_partner,
    add_roaming_token,
    add_site,
    add_tariff,
    charge,
    roaming_scene,
)
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingSession, Evse
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Ocpi

DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


async def _setup(
    database: Database, settings: Settings, cpo: TenantInfo
) -> tuple[Partner, Partner, dict[str, Any]]:
    scene = await roaming_scene(database, settings.secret_key, cpo, "CP-ROAM-1")
    made = {"site": scene.site, "finished": scene.mine, "other": scene.theirs, "own": scene.own}
    return scene.msp, scene.other, made


async def test_a_partner_reads_only_its_own_sessions_priced_at_its_roaming_tariff(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    msp, _other, made = await _setup(database, settings, cpo)
    async with database.tenant_session(cpo.key) as db_session:
        session = await db_session.get(ChargingSession, made["finished"])
        assert session is not None
        evse_uid = await db_session.scalar(select(Evse.id).where(Evse.id == session.evse_pk))
    async with ocpi_for(cpo, msp.token) as client:
        response = await client.get(
            "/ocpi/2.2.1/sessions", params={"date_from": "2026-01-01T00:00:00Z"}
        )
    assert response.headers["X-Total-Count"] == "1"
    [item] = data_of(response)
    assert DATETIME.match(item.pop("last_updated"))
    assert item == {
        "country_code": "DE",
        "party_id": "VLT",
        "id": str(made["finished"]),
        "start_date_time": "2026-03-02T10:00:00Z",
        "end_date_time": "2026-03-02T11:00:00Z",
        "kwh": 12,
        "cdr_token": MSP_CDR_TOKEN,
        "auth_method": "AUTH_REQUEST",
        "authorization_reference": "AUTH-1",
        "location_id": str(made["site"].location_id),
        "evse_uid": str(evse_uid),
        "connector_id": "1",
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
        # 12 kWh at 0.40 = 4.80 + 19 % VAT = 5.71 (the partner's price, not 0.49 public).
        "total_cost": {"excl_vat": 4.8, "incl_vat": 5.71},
        "status": "COMPLETED",
    }


async def test_date_from_is_required_and_filters_by_last_update(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    msp, _other, _made = await _setup(database, settings, cpo)
    async with ocpi_for(cpo, msp.token) as client:
        missing = await client.get("/ocpi/2.2.1/sessions")
        bad = await client.get("/ocpi/2.2.1/sessions", params={"date_from": "yesterday"})
        future = await client.get(
            "/ocpi/2.2.1/sessions", params={"date_from": "2999-01-01T00:00:00Z"}
        )
    assert missing.status_code == 200
    assert missing.json()["status_code"] == 2001
    assert "date_from" in missing.json()["status_message"]
    assert bad.json()["status_code"] == 2001
    assert data_of(future) == []
    assert future.headers["X-Total-Count"] == "0"


async def test_an_ongoing_session_shows_its_live_cost_and_the_pages_link_onwards(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    msp = await add_partner(database, settings.secret_key, cpo, party_id="MSP")
    await add_tariff(database, cpo, "PUBLIC-049", "0.49")
    site = await add_site(database, cpo, "CP-ROAM-2")
    token_id = await add_roaming_token(database, cpo, msp, "04EEFF")
    first = await charge(database, cpo, site, id_tag="04EEFF", roaming_token_id=token_id)
    running = await charge(
        database, cpo, site, id_tag="04EEFF", roaming_token_id=token_id, stop=False
    )
    async with ocpi_for(cpo, msp.token) as client:
        page = await client.get(
            "/ocpi/2.2.1/sessions", params={"date_from": "2026-01-01T00:00:00Z", "limit": 1}
        )
        rest = await client.get(
            "/ocpi/2.2.1/sessions",
            params={"date_from": "2026-01-01T00:00:00Z", "limit": 1, "offset": 1},
        )
    assert [s["id"] for s in data_of(page)] == [str(first)]
    assert page.headers["X-Total-Count"] == "2"
    assert page.headers["Link"] == (
        f"<http://{cpo.slug}.localhost:8000/ocpi/2.2.1/sessions?"
        'date_from=2026-01-01T00%3A00%3A00Z&offset=1&limit=1>; rel="next"'
    )
    [live] = data_of(rest)
    assert live["id"] == str(running)
    assert live["status"] == "ACTIVE"
    assert "end_date_time" not in live
    # 6 kWh so far (the reading at 10:30) at the public price, the partner having none.
    assert live["kwh"] == 6
    assert live["total_cost"] == {"excl_vat": 2.94, "incl_vat": 3.5}


async def test_a_token_of_another_brand_sees_nothing_and_sessions_stay_in_their_brand(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    make_brand: MakeBrand,
    ocpi_for: OcpiClientFactory,
) -> None:
    msp, _other, _made = await _setup(database, settings, cpo)
    other_brand = await make_brand(ocpi=Ocpi(country_code="FR", party_id="OTB"))
    stranger = await add_partner(database, settings.secret_key, other_brand, party_id="MSP")
    async with ocpi_for(other_brand, stranger.token) as client:
        listed = await client.get(
            "/ocpi/2.2.1/sessions", params={"date_from": "2026-01-01T00:00:00Z"}
        )
    async with ocpi_for(other_brand, msp.token) as client:
        refused = await client.get(
            "/ocpi/2.2.1/sessions", params={"date_from": "2026-01-01T00:00:00Z"}
        )
    assert data_of(listed) == []
    assert refused.status_code == 401


async def test_charging_preferences_are_answered_for_the_callers_ongoing_session_only(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    msp, other, made = await _setup(database, settings, cpo)
    token_id = await add_roaming_token(database, cpo, msp, "04ABAB")
    running = await charge(
        database, cpo, made["site"], id_tag="04ABAB", roaming_token_id=token_id, stop=False
    )
    body = {"profile_type": "FAST", "departure_time": "2026-03-02T18:00:00Z", "energy_need": 30}
    path = f"/ocpi/2.2.1/sessions/{running}/charging_preferences"
    async with ocpi_for(cpo, msp.token) as client:
        answered = await client.put(path, json=body)
        bad_type = await client.put(path, json={"profile_type": "TURBO"})
        bad_need = await client.put(path, json={"profile_type": "FAST", "energy_need": "lots"})
        ended = await client.put(
            f"/ocpi/2.2.1/sessions/{made['finished']}/charging_preferences", json=body
        )
        unknown = await client.put("/ocpi/2.2.1/sessions/nope/charging_preferences", json=body)
    async with ocpi_for(cpo, other.token) as client:
        foreign = await client.put(path, json=body)
    assert answered.status_code == 200
    assert data_of(answered) == "NOT_POSSIBLE"
    assert bad_type.json()["status_code"] == 2001
    assert "profile_type" in bad_type.json()["status_message"]
    assert bad_need.json()["status_code"] == 2001
    assert "energy_need" in bad_need.json()["status_message"]
    assert ended.json()["status_code"] == 2001
    for response in (unknown, foreign):
        assert response.status_code == 404
        assert "data" not in response.json()
