"""A full session on each protocol version lands as one ChargingSession with exact energy."""

from __future__ import annotations

from decimal import Decimal

from ocpp.v16 import call as call16
from ocpp.v21 import call as call21
from ocpp.v201 import call as call201
from sqlalchemy import func, select

from tests.ocpp.conftest import add_ocpp_station, add_token
from voltlane.core.db import Database
from voltlane.models.tenant import ChargingSession, Connector, IdTokenType, MeterSample


async def _sessions(database: Database, key: str) -> list[ChargingSession]:
    async with database.tenant_session(key) as db_session:
        return list(await db_session.scalars(select(ChargingSession).order_by(ChargingSession.seq)))


async def test_ocpp16_session_boot_to_stop(database: Database, make_brand, open_charger) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP16")
    await add_token(database, brand, "RFID0001")
    charger = await open_charger(brand, "CP16", "ocpp1.6")
    cp = charger.cp

    boot = await cp.call(
        call16.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22")
    )
    auth = await cp.call(call16.Authorize(id_tag="RFID0001"))
    unknown = await cp.call(call16.Authorize(id_tag="NOPE"))
    await cp.call(
        call16.StatusNotification(
            connector_id=1,
            error_code="NoError",
            status="Preparing",
            timestamp="2026-11-24T10:00:00Z",
        )
    )
    start = await cp.call(
        call16.StartTransaction(
            connector_id=1,
            id_tag="RFID0001",
            meter_start=1_000_000,
            timestamp="2026-11-24T10:00:05Z",
        )
    )
    await cp.call(
        call16.MeterValues(
            connector_id=1,
            transaction_id=start.transaction_id,
            meter_value=[
                {
                    "timestamp": "2026-11-24T10:15:05Z",
                    "sampledValue": [
                        {
                            "value": "1003500",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "Wh",
                        },
                        {"value": "11.0", "measurand": "Power.Active.Import", "unit": "kW"},
                    ],
                }
            ],
        )
    )
    stop = await cp.call(
        call16.StopTransaction(
            transaction_id=start.transaction_id,
            meter_stop=1_007_250,
            timestamp="2026-11-24T10:45:05Z",
            id_tag="RFID0001",
            reason="EVDisconnected",
        )
    )

    assert (boot.status, boot.interval) == ("Accepted", 300)
    assert auth.id_tag_info == {"status": "Accepted"}
    assert unknown.id_tag_info == {"status": "Invalid"}
    assert start.id_tag_info == {"status": "Accepted"}
    assert stop.id_tag_info == {"status": "Accepted"}
    [session] = await _sessions(database, brand.key)
    assert session.transaction_id == str(start.transaction_id)
    assert (session.evse_id, session.connector_id, session.id_token) == (1, 1, "RFID0001")
    assert (session.status.value, session.stop_reason) == ("finished", "EVDisconnected")
    assert session.meter_start_wh == Decimal("1000000.000")
    assert session.energy_wh == Decimal("7250.000")
    assert session.energy_review is None
    async with database.tenant_session(brand.key) as db_session:
        samples = await db_session.scalar(
            select(func.count())
            .select_from(MeterSample)
            .where(MeterSample.session_id == session.id)
        )
        status = await db_session.scalar(select(Connector.status))
    assert samples == 4  # begin register, periodic register and power, end register
    assert status == "Preparing"


def _register(at: str, wh: float) -> dict[str, object]:
    return {
        "timestamp": at,
        "sampled_value": [
            {
                "value": wh,
                "measurand": "Energy.Active.Import.Register",
                "context": "Sample.Periodic",
            }
        ],
    }


async def _session_v2(cp, call, *, station_kind: str) -> dict[str, object]:
    boot = await cp.call(
        call.BootNotification(
            charging_station={"model": "DC150", "vendor_name": "Acme"}, reason="PowerUp"
        )
    )
    auth = await cp.call(call.Authorize(id_token={"id_token": "APP-42", "type": "Central"}))
    await cp.call(
        call.StatusNotification(
            timestamp="2026-11-24T11:00:00Z", connector_status="Occupied", evse_id=1, connector_id=1
        )
    )
    started = await cp.call(
        call.TransactionEvent(
            event_type="Started",
            timestamp="2026-11-24T11:00:02Z",
            trigger_reason="Authorized",
            seq_no=0,
            transaction_info={
                "transaction_id": f"{station_kind}-tx-1",
                "charging_state": "Charging",
            },
            evse={"id": 1, "connector_id": 1},
            id_token={"id_token": "APP-42", "type": "Central"},
            meter_value=[_register("2026-11-24T11:00:02Z", 52_000.5)],
        )
    )
    await cp.call(
        call.TransactionEvent(
            event_type="Updated",
            timestamp="2026-11-24T11:10:02Z",
            trigger_reason="MeterValuePeriodic",
            seq_no=1,
            transaction_info={"transaction_id": f"{station_kind}-tx-1"},
            meter_value=[_register("2026-11-24T11:10:02Z", 60_000.0)],
        )
    )
    ended = await cp.call(
        call.TransactionEvent(
            event_type="Ended",
            timestamp="2026-11-24T11:20:02Z",
            trigger_reason="EVCommunicationLost",
            seq_no=2,
            transaction_info={
                "transaction_id": f"{station_kind}-tx-1",
                "stopped_reason": "EVDisconnected",
                "charging_state": "Idle",
            },
            meter_value=[_register("2026-11-24T11:20:02Z", 64_500.5)],
        )
    )
    return {"boot": boot, "auth": auth, "started": started, "ended": ended}


async def test_ocpp201_session_lands_with_exact_energy(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CS201")
    await add_token(database, brand, "APP-42", token_type=IdTokenType.CENTRAL)
    charger = await open_charger(brand, "CS201", "ocpp2.0.1")
    replies = await _session_v2(charger.cp, call201, station_kind="201")

    assert (replies["boot"].status, replies["boot"].interval) == ("Accepted", 300)
    assert replies["auth"].id_token_info == {"status": "Accepted"}
    assert replies["started"].id_token_info == {"status": "Accepted"}
    assert replies["ended"].id_token_info is None
    [session] = await _sessions(database, brand.key)
    assert (session.transaction_id, session.evse_id, session.connector_id) == ("201-tx-1", 1, 1)
    assert (session.status.value, session.stop_reason, session.charging_state) == (
        "finished",
        "EVDisconnected",
        "Idle",
    )
    assert session.energy_wh == Decimal("12500.000")
    assert session.last_seq_no == 2


async def test_ocpp21_session_lands_with_exact_energy(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CS21")
    await add_token(database, brand, "APP-42", token_type=IdTokenType.CENTRAL)
    charger = await open_charger(brand, "CS21", "ocpp2.1")
    replies = await _session_v2(charger.cp, call21, station_kind="21")

    assert replies["boot"].status == "Accepted"
    [session] = await _sessions(database, brand.key)
    assert (session.transaction_id, session.protocol) == ("21-tx-1", "ocpp2.1")
    assert session.energy_wh == Decimal("12500.000")
