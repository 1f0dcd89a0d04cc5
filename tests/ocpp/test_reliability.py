"""Nothing lost, nothing doubled: retries, replays, odd ids, odd clocks, odd meters."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from sqlalchemy import func, select

from tests.ocpp.conftest import add_ocpp_station, add_token, exchange
from voltlane.core.db import Database, tenant_text
from voltlane.models.platform import StationPresence
from voltlane.models.tenant import (
    ChargingSession,
    Connector,
    MeterSample,
    TransactionEventRecord,
)

START = call16.StartTransaction(
    connector_id=1, id_tag="RFID0001", meter_start=5_000, timestamp="2026-11-24T08:00:00Z"
)


async def _one(database: Database, key: str, statement):
    async with database.tenant_session(key) as db_session:
        return await db_session.scalar(statement)


async def _sessions(database: Database, key: str) -> list[ChargingSession]:
    async with database.tenant_session(key) as db_session:
        return list(await db_session.scalars(select(ChargingSession).order_by(ChargingSession.seq)))


async def _count(database: Database, key: str, model) -> int:
    return int(await _one(database, key, select(func.count()).select_from(model)) or 0)


async def test_a_retried_1_6_start_and_stop_have_one_effect(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "RETRY16")
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "RETRY16", "ocpp1.6")).cp
    first = await cp.call(START)
    again = await cp.call(START)  # the reply to the first was lost; the station retries
    meter = call16.MeterValues(
        connector_id=1,
        transaction_id=first.transaction_id,
        meter_value=[
            {
                "timestamp": "2026-11-24T08:10:00Z",
                "sampled_value": [{"value": "7000", "unit": "Wh"}],
            }
        ],
    )
    await cp.call(meter)
    await cp.call(meter)
    stop = call16.StopTransaction(
        transaction_id=first.transaction_id, meter_stop=9_000, timestamp="2026-11-24T08:20:00Z"
    )
    stopped = await cp.call(stop)
    stopped_again = await cp.call(stop)

    assert (again.transaction_id, again.id_tag_info) == (first.transaction_id, first.id_tag_info)
    assert stopped.id_tag_info is None
    assert stopped_again.id_tag_info is None
    [session] = await _sessions(database, brand.key)
    assert (session.status.value, session.energy_wh) == ("finished", Decimal("4000.000"))
    assert await _count(database, brand.key, MeterSample) == 3  # begin, 08:10, end


async def test_a_repeated_transaction_event_gets_the_same_answer_once(
    database: Database, make_brand, open_raw
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "RETRY2")
    await add_token(database, brand, "TOK-1")
    ws = await open_raw(brand, "RETRY2", "ocpp2.0.1")
    started = (
        '[2,"{id}","TransactionEvent",{{"eventType":"Started","timestamp":"2026-11-24T09:00:00Z",'
        '"triggerReason":"Authorized","seqNo":0,"transactionInfo":{{"transactionId":"T-1"}},'
        '"evse":{{"id":1,"connectorId":1}},"idToken":{{"idToken":"TOK-1","type":"ISO14443"}},'
        '"meterValue":[{{"timestamp":"2026-11-24T09:00:00Z","sampledValue":[{{"value":100}}]}}]}}]'
    )
    first = await exchange(ws, started.format(id="a"))
    second = await exchange(ws, started.format(id="b"))
    assert first == [3, "a", {"idTokenInfo": {"status": "Accepted"}}]
    assert second == [3, "b", {"idTokenInfo": {"status": "Accepted"}}]
    assert await _count(database, brand.key, TransactionEventRecord) == 1
    assert await _count(database, brand.key, ChargingSession) == 1
    assert await _count(database, brand.key, MeterSample) == 1


async def test_offline_events_replayed_out_of_order_build_one_session(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "OFFLINE2")
    cp = (await open_charger(brand, "OFFLINE2", "ocpp2.0.1")).cp

    def event(kind: str, seq: int, at: str, wh: float, **info: object):
        return call201.TransactionEvent(
            event_type=kind,
            timestamp=at,
            trigger_reason="MeterValuePeriodic",
            seq_no=seq,
            offline=True,
            transaction_info={"transaction_id": "OFF-9", **info},
            evse={"id": 1, "connector_id": 1} if seq == 0 else None,
            meter_value=[{"timestamp": at, "sampled_value": [{"value": wh}]}],
        )

    # The station queued these while offline and sends them after reconnecting, the
    # Ended event first.
    await cp.call(event("Ended", 2, "2026-11-24T07:40:00Z", 31_000.0, stopped_reason="Local"))
    await cp.call(event("Started", 0, "2026-11-24T07:00:00Z", 21_000.0))
    await cp.call(event("Updated", 1, "2026-11-24T07:20:00Z", 26_000.0))

    [session] = await _sessions(database, brand.key)
    assert session.offline is True
    assert session.status.value == "finished"
    assert session.started_at.isoformat() == "2026-11-24T07:00:00+00:00"
    assert session.stopped_at.isoformat() == "2026-11-24T07:40:00+00:00"
    assert (session.evse_id, session.last_seq_no) == (1, 2)
    assert session.energy_wh == Decimal("10000.000")


async def test_stop_with_transaction_id_minus_one_finds_its_session(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "MINUS1")
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "MINUS1", "ocpp1.6")).cp
    await cp.call(START)  # its reply never reached the station
    await cp.call(
        call16.StopTransaction(
            transaction_id=-1, meter_stop=6_500, timestamp="2026-11-24T08:30:00Z", id_tag="RFID0001"
        )
    )
    [session] = await _sessions(database, brand.key)
    assert (session.status.value, session.energy_wh) == ("finished", Decimal("1500.000"))
    assert session.energy_review == (
        "stopped with transactionId -1; matched by token and start time"
    )


async def test_unknown_and_largest_transaction_ids_are_recorded_not_crashed(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "BIGID")
    cp = (await open_charger(brand, "BIGID", "ocpp1.6")).cp
    largest = 2**63 - 1
    meter = await cp.call(
        call16.MeterValues(
            connector_id=1,
            transaction_id=largest,
            meter_value=[
                {
                    "timestamp": "2026-11-24T06:10:00Z",
                    "sampled_value": [{"value": "88000", "unit": "Wh"}],
                }
            ],
        )
    )
    stop = await cp.call(
        call16.StopTransaction(
            transaction_id=largest,
            meter_stop=90_000,
            timestamp="2026-11-24T06:20:00Z",
            transaction_data=[
                {
                    "timestamp": "2026-11-24T06:00:00Z",
                    "sampled_value": [{"value": "86000", "unit": "Wh"}],
                }
            ],
        )
    )
    assert meter is not None
    assert stop.id_tag_info is None
    [session] = await _sessions(database, brand.key)
    assert session.transaction_id == f"?{largest}@2026-11-24T06:20:00+00:00"
    assert session.energy_wh == Decimal("4000.000")
    assert session.energy_review.startswith(
        f"stop for transaction {largest}, which this platform never started"
    )


async def test_an_offline_meter_start_of_zero_never_bills_the_lifetime_register(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "ZERO")
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "ZERO", "ocpp1.6")).cp
    started = await cp.call(
        call16.StartTransaction(
            connector_id=1, id_tag="RFID0001", meter_start=0, timestamp="2026-11-24T05:00:00Z"
        )
    )
    await cp.call(
        call16.MeterValues(
            connector_id=1,
            transaction_id=started.transaction_id,
            meter_value=[
                {
                    "timestamp": "2026-11-24T05:05:00Z",
                    "sampled_value": [{"value": "123400000", "unit": "Wh"}],
                }
            ],
        )
    )
    await cp.call(
        call16.StopTransaction(
            transaction_id=started.transaction_id,
            meter_stop=123_410_000,
            timestamp="2026-11-24T05:35:00Z",
        )
    )
    # A second charger that only ever reports 0 and the lifetime register at stop.
    second = await cp.call(
        call16.StartTransaction(
            connector_id=1, id_tag="RFID0001", meter_start=0, timestamp="2026-11-24T06:00:00Z"
        )
    )
    await cp.call(
        call16.StopTransaction(
            transaction_id=second.transaction_id,
            meter_stop=123_420_000,
            timestamp="2026-11-24T06:30:00Z",
        )
    )
    first_session, second_session = await _sessions(database, brand.key)
    assert first_session.energy_wh == Decimal("10000.000")
    assert first_session.energy_review == (
        "meter start 0 ignored: baseline is the first register reading "
        "(123400000 Wh at 2026-11-24T05:05:00+00:00)"
    )
    assert second_session.energy_wh is None
    assert second_session.energy_review == (
        "meter start 0 against a register of 123420000 Wh and no earlier reading: energy unknown"
    )


async def test_an_older_status_never_overwrites_a_newer_one(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CLOCK")
    cp = (await open_charger(brand, "CLOCK", "ocpp2.0.1")).cp
    for status, at in (("Occupied", "2026-11-24T10:05:00Z"), ("Available", "2026-11-24T10:00:00Z")):
        await cp.call(
            call201.StatusNotification(
                timestamp=at, connector_status=status, evse_id=1, connector_id=1
            )
        )
    async with database.tenant_session(brand.key) as db_session:
        row = (await db_session.execute(select(Connector.status, Connector.status_at))).one()
    assert row[0] == "Occupied"
    assert row[1].isoformat() == "2026-11-24T10:05:00+00:00"


async def test_a_reconnect_replaces_the_half_open_socket(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "TWICE")
    old = await open_charger(brand, "TWICE", "ocpp1.6")
    new = await open_charger(brand, "TWICE", "ocpp1.6")
    await asyncio.wait_for(old.ws.wait_closed(), timeout=5)
    boot = await new.cp.call(
        call16.BootNotification(charge_point_vendor="V", charge_point_model="M")
    )
    assert boot.status == "Accepted"
    assert old.ws.close_code == 1000
    assert old.ws.close_reason == "replaced by a new connection"
    async with database.platform_session() as db_session:
        rows = list(
            await db_session.scalars(
                select(StationPresence).where(
                    StationPresence.tenant_key == brand.key, StationPresence.station_id == "TWICE"
                )
            )
        )
    assert len(rows) == 1


async def test_no_reply_goes_out_when_the_effect_cannot_be_committed(
    database: Database, make_brand, open_raw
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "NOCOMMIT")
    # Make the next meter sample impossible to store, as a failing disk or constraint would.
    async with database.tenant_transaction(brand.key) as db_session:
        await db_session.execute(
            tenant_text(
                brand.key,
                "ALTER TABLE {schema}.meter_samples ADD CONSTRAINT refuse_all CHECK (value < 0)",
            )
        )
    ws = await open_raw(brand, "NOCOMMIT", "ocpp2.0.1")
    reply = await exchange(
        ws,
        '[2,"mv","MeterValues",{"evseId":1,"meterValue":[{"timestamp":"2026-11-24T10:00:00Z",'
        '"sampledValue":[{"value":5}]}]}]',
    )
    assert reply[:3] == [4, "mv", "InternalError"]
    assert await _count(database, brand.key, MeterSample) == 0


async def test_a_live_meter_value_that_cannot_be_stored_gets_no_result(
    database: Database, make_brand, open_raw
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "NOCOMMIT16")
    await add_token(database, brand, "RFID0001")
    ws = await open_raw(brand, "NOCOMMIT16", "ocpp1.6")
    started = await exchange(
        ws,
        '[2,"s","StartTransaction",{"connectorId":1,"idTag":"RFID0001","meterStart":10,'
        '"timestamp":"2026-11-24T10:00:00Z"}]',
    )
    async with database.tenant_transaction(brand.key) as db_session:
        await db_session.execute(
            tenant_text(
                brand.key,
                "ALTER TABLE {schema}.meter_samples ADD CONSTRAINT small CHECK (value < 1000)",
            )
        )
    tx = started[2]["transactionId"]
    reply = await exchange(
        ws,
        f'[2,"mv","MeterValues",{{"connectorId":1,"transactionId":{tx},"meterValue":'
        '[{"timestamp":"2026-11-24T10:05:00Z","sampledValue":[{"value":"5000"}]}]}]',
    )
    accepted = await exchange(
        ws,
        f'[2,"mv2","MeterValues",{{"connectorId":1,"transactionId":{tx},"meterValue":'
        '[{"timestamp":"2026-11-24T10:06:00Z","sampledValue":[{"value":"500"}]}]}]',
    )
    assert reply[:3] == [4, "mv", "InternalError"]
    assert accepted == [3, "mv2", {}]
    [session] = await _sessions(database, brand.key)
    # Only what was stored counts: 500 - 10, never the refused 5000.
    assert session.energy_wh == Decimal("490.000")


async def test_a_held_session_stop_keeps_its_transaction_data_as_sent(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "STOPDATA")
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "STOPDATA", "ocpp1.6")).cp
    started = await cp.call(START)
    stopped = await cp.call(
        call16.StopTransaction(
            transaction_id=started.transaction_id,
            meter_stop=8_000,
            timestamp="2026-11-24T08:20:00Z",
            id_tag="RFID0001",
            reason="EVDisconnected",
            transaction_data=[
                {
                    "timestamp": "2026-11-24T08:10:00.250Z",
                    "sampled_value": [
                        {"value": "6500.5", "unit": "Wh"},
                        {
                            "value": "16.2",
                            "measurand": "Current.Import",
                            "phase": "L2",
                            "unit": "A",
                        },
                    ],
                },
                {
                    "timestamp": "2026-11-24T08:15:00Z",
                    "sampled_value": [
                        {"value": "c2lnbmVk", "format": "SignedData", "context": "Sample.Clock"},
                    ],
                },
            ],
        )
    )
    again = await cp.call(
        call16.StopTransaction(
            transaction_id=started.transaction_id,
            meter_stop=8_000,
            timestamp="2026-11-24T08:20:00Z",
        )
    )

    assert stopped.id_tag_info == {"status": "Accepted"}
    assert again.id_tag_info is None
    [session] = await _sessions(database, brand.key)
    assert (session.status.value, session.stop_reason, session.energy_wh) == (
        "finished",
        "EVDisconnected",
        Decimal("3000.000"),
    )
    async with database.tenant_session(brand.key) as db_session:
        rows = (
            await db_session.execute(
                select(
                    MeterSample.sampled_at,
                    MeterSample.measurand,
                    MeterSample.phase,
                    MeterSample.context,
                    MeterSample.unit,
                    MeterSample.value,
                    MeterSample.signed_data,
                ).order_by(MeterSample.sampled_at, MeterSample.measurand, MeterSample.id)
            )
        ).all()
    assert [(r[0].isoformat(), *r[1:]) for r in rows] == [
        (
            "2026-11-24T08:00:00+00:00",
            "Energy.Active.Import.Register",
            None,
            "Transaction.Begin",
            "Wh",
            Decimal("5000.000000"),
            None,
        ),
        (
            "2026-11-24T08:10:00.250000+00:00",
            "Current.Import",
            "L2",
            None,
            "A",
            Decimal("16.200000"),
            None,
        ),
        (
            "2026-11-24T08:10:00.250000+00:00",
            "Energy.Active.Import.Register",
            None,
            None,
            "Wh",
            Decimal("6500.500000"),
            None,
        ),
        (
            "2026-11-24T08:15:00+00:00",
            "Energy.Active.Import.Register",
            None,
            "Sample.Clock",
            "Wh",
            None,
            "c2lnbmVk",
        ),
        (
            "2026-11-24T08:20:00+00:00",
            "Energy.Active.Import.Register",
            None,
            "Transaction.End",
            "Wh",
            Decimal("8000.000000"),
            None,
        ),
    ]
