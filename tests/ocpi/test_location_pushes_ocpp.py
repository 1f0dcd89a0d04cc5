"""A real OCPP 1.6 charger's StatusNotification, through the gateway's batched path,
reaches a partner's locations receiver as a PATCH of the EVSE."""

from __future__ import annotations

import json
from typing import Any

from ocpp.v16 import call as call16
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from tests.ocpi.emi3_support import roamable
from tests.ocpi.h4_support import registered_emsp
from tests.ocpi.test_location_pushes import partners_hear  # noqa: F401 - autouse wiring
from tests.ocpp.conftest import add_ocpp_station, gateway, open_charger  # noqa: F401
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingStation, Connector, Evse, OcpiPush
from voltlane.ocpi.protocol import ocpi_datetime
from voltlane.ocpi.pushes import deliver
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo

OK = {"status_code": 1000, "timestamp": "2026-11-25T03:00:00Z"}


async def test_a_chargers_status_reaches_the_partner_as_a_patch_of_the_evse(
    database: Database,
    settings: Settings,
    cpo: TenantInfo,
    httpserver: HTTPServer,
    open_charger: Any,  # noqa: F811 - the fixture imported above
) -> None:
    await add_ocpp_station(database, cpo, "ROAM-1")
    await roamable(database, cpo)
    emsp = await registered_emsp(
        database, settings.secret_key, cpo, receiver_base=httpserver.url_for("/emsp")
    )
    charger = await open_charger(cpo, "ROAM-1", "ocpp1.6")
    await charger.cp.call(call16.BootNotification(charge_point_vendor="V", charge_point_model="M"))
    for status in ("Available", "Preparing", "Charging"):
        await charger.cp.call(
            call16.StatusNotification(connector_id=1, error_code="NoError", status=status)
        )

    async with database.tenant_session(cpo.key) as db_session:
        location_id, evse, stamp = (
            await db_session.execute(
                select(ChargingStation.location_id, Evse.id, Connector.updated_at)
                .join(Evse, Evse.charging_station_id == ChargingStation.id)
                .join(Connector, Connector.evse_pk == Evse.id)
                .where(ChargingStation.station_id == "ROAM-1")
            )
        ).one()
        pushes = (await db_session.scalars(select(OcpiPush).order_by(OcpiPush.created_at))).all()
    bodies = [push.body or {} for push in pushes]
    path = f"/DE/VLT/{location_id}/{evse}"
    # Unknown -> AVAILABLE, then CHARGING; Preparing -> Charging changes nothing partners see.
    sent = zip(pushes, bodies, strict=True)
    assert [(push.method, push.path, body["status"]) for push, body in sent] == [
        ("PATCH", path, "AVAILABLE"),
        ("PATCH", path, "CHARGING"),
    ]
    # Each PATCH carries the time of the batch that changed the status (its own creation).
    assert [body["last_updated"] for body in bodies] == [
        ocpi_datetime(push.created_at) for push in pushes
    ]
    assert pushes[1].created_at <= stamp

    httpserver.expect_request(f"/emsp/locations{path}", method="PATCH").respond_with_json(OK)
    report = await deliver(database, cpo, emsp.id, settings.secret_key)
    assert (report.sent, report.failed, report.waiting) == (2, 0, 0)
    assert [json.loads(request.data)["status"] for request, _ in httpserver.log] == [
        "AVAILABLE",
        "CHARGING",
    ]
