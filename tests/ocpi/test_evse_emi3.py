"""An EVSE without an eMI3 id cannot roam: a CDR must name the EVSE by that id
(mod_cdrs CdrLocation.evse_id, ``#NA`` only for a reservation that never became a session),
so the locations module leaves such an EVSE out, a command cannot name it, and a CDR of a
session there waits until staff give the EVSE its id."""

from __future__ import annotations

from sqlalchemy import select, update

from tests.factories import add_location, add_station
from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.h6_support import registered_partner, rfid_token
from tests.ocpi.roaming_support import rate, roaming_scene
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingSession, Evse
from voltlane.ocpi.cdrs import unpushed_cdrs
from voltlane.settings import Settings
from voltlane.station import service as stations
from voltlane.station.schemas import EvseUpdate
from voltlane.tenancy import TenantInfo


async def test_an_evse_without_an_emi3_id_is_not_published_nor_commanded(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    emsp = await registered_partner(database, settings, cpo)
    async with database.tenant_transaction(cpo.key) as db_session:
        location = await add_location(db_session, "Hafen")
        station = await add_station(db_session, location, "EMI3-1", evses=2)
        named, unnamed = (
            await db_session.scalars(
                select(Evse).where(Evse.charging_station_id == station.id).order_by(Evse.evse_id)
            )
        ).all()
        await stations.update_evse(db_session, named.id, EvseUpdate(emi3_id="DE*VLT*E0001"))
        named_uid, unnamed_uid = str(named.id), str(unnamed.id)
    base = f"/ocpi/2.2.1/locations/{location.id}"
    async with ocpi_for(cpo, emsp.token) as client:
        served = data_of(await client.get(base))
        missing = await client.get(f"{base}/{unnamed_uid}")
        command = await client.post(
            "/ocpi/2.2.1/commands/START_SESSION",
            json={
                "response_url": "https://emsp.example/cmd/1",
                "token": rfid_token("AABB01"),
                "location_id": str(location.id),
                "evse_uid": unnamed_uid,
            },
        )
    assert [(e["uid"], e["evse_id"]) for e in served["evses"]] == [(named_uid, "DE*VLT*E0001")]
    assert (missing.status_code, missing.json()["status_code"]) == (404, 2003)
    assert command.json()["status_code"] == 2003


async def test_a_cdr_at_an_evse_without_an_emi3_id_waits_for_it(
    database: Database, settings: Settings, cpo: TenantInfo, ocpi_for: OcpiClientFactory
) -> None:
    scene = await roaming_scene(database, settings.secret_key, cpo, "CP-EMI3-1")
    async with database.tenant_transaction(cpo.key) as db_session:
        session = await db_session.get(ChargingSession, scene.mine)
        assert session is not None
        evse_pk = session.evse_pk
        assert evse_pk is not None
        await db_session.execute(update(Evse).where(Evse.id == evse_pk).values(emi3_id=None))
    cdr_id = await rate(database, cpo, scene.mine)

    async def owed() -> tuple[list[str], list[str]]:
        async with ocpi_for(cpo, scene.msp.token) as client:
            listed = data_of(await client.get("/ocpi/2.2.1/cdrs"))
        async with database.tenant_transaction(cpo.key) as db_session:
            rows = await unpushed_cdrs(
                db_session, scene.msp.id, since=utcnow().replace(year=2020), limit=10
            )
        return [c["cdr_location"]["evse_id"] for c in listed], [str(r.cdr.id) for r in rows]

    held = await owed()
    async with database.tenant_transaction(cpo.key) as db_session:
        await stations.update_evse(db_session, evse_pk, EvseUpdate(emi3_id="DE*VLT*E0009"))
    released = await owed()
    assert held == ([], [])
    assert released == (["DE*VLT*E0009"], [str(cdr_id)])
