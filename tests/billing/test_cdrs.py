"""A session charged through the gateway ends in exactly one CDR priced by the one engine."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tests.factories import add_fleet_account
from tests.ocpp.conftest import add_ocpp_station, add_token, gateway, open_charger
from voltlane import billing
from voltlane.billing.repository import BillingRepository, SessionRow
from voltlane.billing.tasks import RATE_SESSION
from voltlane.core.db import Database
from voltlane.models.tenant import (
    Cdr,
    ChargingSession,
    ChargingStation,
    Connector,
    Evse,
    IdTokenType,
    Location,
)
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo
from voltlane.worker import outbox as outbox_module
from voltlane.worker.models import OutboxMessage

__all__ = ["gateway", "open_charger"]

REGISTER = "Energy.Active.Import.Register"


def ocpi_tariff(code: str, *components: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "id": code,
        "currency": "EUR",
        "elements": [{"price_components": list(components)}],
        **extra,
    }


ENERGY_039 = {"type": "ENERGY", "price": "0.39", "vat": "19", "step_size": 1}
SESSION_FEE = {"type": "FLAT", "price": "0.50", "vat": "19", "step_size": 0}


async def add_tariff(
    database: Database,
    brand: TenantInfo,
    definition: dict[str, Any],
    *,
    segment: SegmentKind = SegmentKind.PUBLIC,
    segment_ref: str | None = None,
    idle_fee: dict[str, Any] | None = None,
    assign: dict[str, uuid.UUID] | None = None,
) -> None:
    async with database.tenant_transaction(brand.key) as db_session:
        await billing.create_tariff_version(
            db_session,
            definition=definition,
            segment=segment,
            segment_ref=segment_ref,
            idle_fee=idle_fee,
            brand_currency="EUR",
            created_by="finance@example.com",
        )
        await billing.assign_tariff(db_session, definition["id"], **(assign or {}))


async def only_session(database: Database, brand: TenantInfo) -> ChargingSession:
    async with database.tenant_session(brand.key) as db_session:
        [session] = (await db_session.scalars(select(ChargingSession))).all()
        return session


async def cdr_count(database: Database, brand: TenantInfo) -> int:
    async with database.tenant_session(brand.key) as db_session:
        return int(await db_session.scalar(select(func.count()).select_from(Cdr)) or 0)


def meter(at: str, wh: int, *extra: dict[str, str]) -> dict[str, Any]:
    value = {"value": str(wh), "measurand": REGISTER, "unit": "Wh"}
    return {"timestamp": at, "sampledValue": [value, *extra]}


async def charge_16(cp: Any) -> int:
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
            meter_value=[meter("2026-11-24T10:15:05Z", 1_003_500)],
        )
    )
    return int(start.transaction_id)


async def stop_16(cp: Any, transaction_id: int) -> None:
    await cp.call(
        call16.StopTransaction(
            transaction_id=transaction_id,
            meter_stop=1_007_250,
            timestamp="2026-11-24T10:45:05Z",
            id_tag="RFID0001",
            reason="EVDisconnected",
        )
    )


async def brand_charging_at_039(database: Database, make_brand: Any) -> TenantInfo:
    """A brand with station CP16, card RFID0001 and 0.39 per kWh everywhere."""
    brand: TenantInfo = await make_brand()
    await add_ocpp_station(database, brand, "CP16")
    await add_token(database, brand, "RFID0001")
    await add_tariff(database, brand, ocpi_tariff("AC-STD", ENERGY_039))
    return brand


async def charge_sessions(charger: Any, count: int) -> None:
    """``count`` sessions one after the other: session n charges (n + 1) kWh."""
    for n in range(count):
        start = await charger.cp.call(
            call16.StartTransaction(
                connector_id=1,
                id_tag="RFID0001",
                meter_start=1_000_000 + n * 100_000,
                timestamp=f"2026-11-24T{n + 10:02d}:00:00Z",
            )
        )
        await charger.cp.call(
            call16.StopTransaction(
                transaction_id=start.transaction_id,
                meter_stop=1_000_000 + n * 100_000 + 1_000 * (n + 1),
                timestamp=f"2026-11-24T{n + 10:02d}:30:00Z",
            )
        )


async def test_a_16_session_ends_in_one_cdr_that_matches_the_live_cost(
    database: Database, make_brand, open_charger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No relay in this process (another test's app may have installed one): the job stays
    # in the outbox where the test can see it.
    monkeypatch.setattr(outbox_module, "_relay", None)
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP16")
    await add_token(database, brand, "RFID0001")
    await add_tariff(database, brand, ocpi_tariff("AC-STD", ENERGY_039, SESSION_FEE))
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    transaction_id = await charge_16(cp)
    session = await only_session(database, brand)

    async with database.tenant_session(brand.key) as db_session:
        live = await billing.live_cost(
            db_session, session.id, now=datetime(2026, 11, 24, 10, 15, 5, tzinfo=UTC)
        )
    await stop_16(cp, transaction_id)
    async with database.tenant_session(brand.key) as db_session:
        outbox = (
            await db_session.scalars(
                select(OutboxMessage).where(OutboxMessage.actor_name == RATE_SESSION)
            )
        ).all()
    async with database.tenant_transaction(brand.key) as db_session:
        cdr = await billing.rate_session(db_session, session.id)
    async with database.tenant_transaction(brand.key) as db_session:
        again = await billing.rate_session(db_session, session.id)

    # 3.5 kWh x 0.39 = 1.365 -> 1.37; + 0.50 fee = 1.87 net; VAT 19 % of 1.87 = 0.3553 -> 0.36.
    assert (live.total_excl_vat, live.total_vat, live.total_incl_vat) == (187, 36, 223)
    # The outbox is the platform's: other tests' brands may have left messages in it.
    assert [m.message["kwargs"] for m in outbox if m.message["kwargs"]["tenant"] == brand.key] == [
        {"tenant": brand.key, "session_id": str(session.id)}
    ]
    assert cdr is not None
    assert again is not None
    assert again.id == cdr.id
    assert await cdr_count(database, brand) == 1
    # 7.25 kWh x 0.39 = 2.8275 -> 2.83; + 0.50 = 3.33 net; VAT 0.6327 -> 0.63; 3.96 in total.
    assert (cdr.currency, cdr.total_excl_vat, cdr.total_vat, cdr.total_incl_vat) == (
        "EUR",
        333,
        63,
        396,
    )
    assert cdr.total_energy_kwh == Decimal("7.250000")
    assert cdr.total_time_hours == Decimal("0.750000")
    assert (cdr.auth_method, cdr.segment, cdr.tariff_code, cdr.id_token) == (
        "AUTH_REQUEST",
        "MEMBER",
        "AC-STD",
        "RFID0001",
    )
    assert [(line["kind"], line["excl_vat"]) for line in cdr.priced["lines"]] == [
        ("ENERGY", 283),
        ("FLAT", 50),
    ]
    assert cdr.priced["vat_breakdown"] == [{"rate": "19", "taxable": 333, "vat": 63}]


async def test_a_cdr_cannot_be_changed_and_is_corrected_by_one_credit(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP16")
    await add_token(database, brand, "RFID0001")
    await add_tariff(database, brand, ocpi_tariff("AC-STD", ENERGY_039))
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await stop_16(cp, await charge_16(cp))
    session = await only_session(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        cdr = await billing.rate_session(db_session, session.id)
    assert cdr is not None

    with pytest.raises(DBAPIError, match="CDRs are immutable"):
        async with database.tenant_transaction(brand.key) as db_session:
            await db_session.execute(
                text(f'UPDATE "tenant_{brand.key}".cdrs SET total_incl_vat = 0')
            )
    with pytest.raises(DBAPIError, match="CDRs are immutable"):
        async with database.tenant_transaction(brand.key) as db_session:
            await db_session.execute(text(f'DELETE FROM "tenant_{brand.key}".cdrs'))
    async with database.tenant_transaction(brand.key) as db_session:
        credit = await billing.credit_cdr(db_session, cdr.id, reason="Charger fault, refunded")
    async with database.tenant_transaction(brand.key) as db_session:
        second = await billing.credit_cdr(db_session, cdr.id, reason="again")

    # 7.25 kWh x 0.39 = 2.8275 -> 2.83 net, VAT 0.5377 -> 0.54, 3.37 in total.
    assert (cdr.total_excl_vat, cdr.total_vat, cdr.total_incl_vat) == (283, 54, 337)
    assert (credit.kind.value, credit.credit_of, credit.session_id) == (
        "CREDIT",
        cdr.id,
        session.id,
    )
    assert (credit.total_excl_vat, credit.total_vat, credit.total_incl_vat) == (-283, -54, -337)
    assert credit.remark == "Charger fault, refunded"
    assert second.id == credit.id
    assert credit.number == cdr.number + 1
    assert await cdr_count(database, brand) == 2


async def test_without_a_tariff_a_session_is_not_rated_and_nothing_is_written(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP16")
    await add_token(database, brand, "RFID0001")
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await stop_16(cp, await charge_16(cp))
    session = await only_session(database, brand)

    with pytest.raises(billing.NoTariffError):
        async with database.tenant_transaction(brand.key) as db_session:
            await billing.rate_session(db_session, session.id)
    async with database.tenant_transaction(brand.key) as db_session:
        created = await billing.rate_pending(db_session)

    assert created == 0
    assert await cdr_count(database, brand) == 0


async def test_the_most_specific_assignment_and_the_drivers_segment_choose_the_tariff(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP16")
    await add_token(database, brand, "RFID0001")
    async with database.tenant_session(brand.key) as db_session:
        location_id = await db_session.scalar(
            select(Location.id).join(ChargingStation, ChargingStation.location_id == Location.id)
        )
    assert location_id is not None
    await add_tariff(database, brand, ocpi_tariff("BRAND", ENERGY_039))
    expensive = {"type": "ENERGY", "price": "0.59", "vat": "19", "step_size": 1}
    member = {"type": "ENERGY", "price": "0.29", "vat": "19", "step_size": 1}
    await add_tariff(
        database, brand, ocpi_tariff("SITE", expensive), assign={"location_id": location_id}
    )
    await add_tariff(
        database,
        brand,
        ocpi_tariff("SITE", member),
        segment=SegmentKind.MEMBER,
        assign={"location_id": location_id},
    )
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp
    await stop_16(cp, await charge_16(cp))
    session = await only_session(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        cdr = await billing.rate_pending(db_session)
        [stored] = (await db_session.scalars(select(Cdr))).all()

    # The location's member price: 7.25 kWh x 0.29 = 2.1025 -> 2.10 net, VAT 0.399 -> 0.40.
    assert cdr == 1
    assert (stored.tariff_code, stored.segment, stored.session_id) == ("SITE", "MEMBER", session.id)
    assert (stored.total_excl_vat, stored.total_vat, stored.total_incl_vat) == (210, 40, 250)


async def test_a_201_session_paused_when_full_pays_parking_and_the_idle_fee_and_shows_it(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP201")
    await add_token(database, brand, "APP-1", token_type=IdTokenType.CENTRAL)
    parking = {"type": "PARKING_TIME", "price": "1.20", "vat": "19", "step_size": 60}
    await add_tariff(
        database,
        brand,
        ocpi_tariff("DC", ENERGY_039, parking),
        idle_fee={"price_per_minute": "0.10", "grace": 600, "step_size": 60, "vat": "19"},
    )
    cp = (await open_charger(brand, "CP201", "ocpp2.0.1")).cp

    def event(kind: str, seq: int, at: str, state: str, wh: int, **more: Any) -> Any:
        return call201.TransactionEvent(
            event_type=kind,
            timestamp=at,
            trigger_reason="ChargingStateChanged" if kind == "Updated" else "Authorized",
            seq_no=seq,
            transaction_info={"transaction_id": "TX-1", "charging_state": state},
            evse={"id": 1, "connector_id": 1} if kind == "Started" else None,
            id_token={"id_token": "APP-1", "type": "Central"} if kind == "Started" else None,
            meter_value=[
                {
                    "timestamp": at,
                    "sampled_value": [
                        {"value": wh, "measurand": REGISTER, "unit_of_measure": {"unit": "Wh"}}
                    ],
                }
            ],
            **more,
        )

    await cp.call(event("Started", 0, "2026-11-24T10:00:00Z", "Charging", 50_000))
    # Full at 10:40 (20 kWh later): parked until the cable comes out at 11:10.
    await cp.call(event("Updated", 1, "2026-11-24T10:40:00Z", "SuspendedEV", 70_000))
    ended = await cp.call(event("Ended", 2, "2026-11-24T11:10:00Z", "EVConnected", 70_000))
    session = await only_session(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        cdr = await billing.rate_session(db_session, session.id)
    assert cdr is not None

    lines = {line["kind"]: line["excl_vat"] for line in cdr.priced["lines"]}
    # Energy 20 kWh x 0.39 = 7.80; parking 0.5 h x 1.20 = 0.60; idle 30 min - 10 min grace
    # = 20 min x 0.10 = 2.00. Net 10.40, VAT 19 % = 1.976 -> 1.98, 12.38 in total.
    assert lines == {"ENERGY": 780, "PARKING_TIME": 60, "IDLE_FEE": 200}
    assert (cdr.total_excl_vat, cdr.total_vat, cdr.total_incl_vat) == (1040, 198, 1238)
    assert cdr.total_parking_time_hours == Decimal("0.500000")
    assert cdr.total_energy_kwh == Decimal("20.000000")
    # The charger displays the same total the CDR bills.
    assert ended.total_cost == 12.38


async def test_many_sessions_rated_on_one_connection_get_one_cdr_each(
    database: Database, make_brand, open_charger
) -> None:
    # psycopg prepares a statement after 5 uses on a connection, and PostgreSQL plans a
    # prepared statement generically after 5 more: the CDR insert must still find its index.
    brand = await brand_charging_at_039(database, make_brand)
    await charge_sessions(await open_charger(brand, "CP16", "ocpp1.6"), 12)
    async with database.tenant_transaction(brand.key) as db_session:
        ids = (await db_session.scalars(select(ChargingSession.id))).all()
        # One session after the other on one connection, as the worker's jobs do.
        made = [await billing.rate_session(db_session, i) for i in ids]
    async with database.tenant_transaction(brand.key) as db_session:
        again = await billing.rate_pending(db_session)
        totals = sorted((await db_session.scalars(select(Cdr.total_excl_vat))).all())

    assert (sum(c is not None for c in made), again) == (12, 0)
    # (n + 1) kWh x 0.39 for n = 0..11, each exact to the cent.
    assert totals == [39 * (n + 1) for n in range(12)]


async def test_a_billing_run_reads_a_16_stations_states_like_the_live_cost(
    database: Database, make_brand, open_charger
) -> None:
    # The run reads states and samples for a whole batch; the live cost reads them for one
    # session: both must price the parking after SuspendedEV the same.
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP16")
    await add_token(database, brand, "RFID0001")
    parking = {"type": "PARKING_TIME", "price": "1.20", "vat": "19", "step_size": 60}
    await add_tariff(database, brand, ocpi_tariff("AC-STD", ENERGY_039, parking))
    cp = (await open_charger(brand, "CP16", "ocpp1.6")).cp

    def status(state: str, at: str) -> Any:
        return call16.StatusNotification(
            connector_id=1, error_code="NoError", status=state, timestamp=at
        )

    start = await cp.call(
        call16.StartTransaction(
            connector_id=1, id_tag="RFID0001", meter_start=0, timestamp="2026-11-24T10:00:00Z"
        )
    )
    await cp.call(status("Charging", "2026-11-24T10:00:01Z"))
    await cp.call(
        call16.MeterValues(
            connector_id=1,
            transaction_id=start.transaction_id,
            meter_value=[meter("2026-11-24T10:30:00Z", 10_000)],
        )
    )
    await cp.call(status("SuspendedEV", "2026-11-24T10:30:00Z"))
    await cp.call(
        call16.StopTransaction(
            transaction_id=start.transaction_id,
            meter_stop=10_000,
            timestamp="2026-11-24T11:00:00Z",
        )
    )
    session = await only_session(database, brand)
    async with database.tenant_session(brand.key) as db_session:
        live = await billing.live_cost(db_session, session.id)
    async with database.tenant_transaction(brand.key) as db_session:
        created = await billing.rate_pending(db_session)
        [cdr] = (await db_session.scalars(select(Cdr))).all()

    # 10 kWh x 0.39 = 3.90; parked 30 min x 1.20/h = 0.60; net 4.50, VAT 0.855 -> 0.86.
    assert created == 1
    assert (cdr.total_excl_vat, cdr.total_vat, cdr.total_incl_vat) == (450, 86, 536)
    assert (live.total_excl_vat, live.total_vat, live.total_incl_vat) == (450, 86, 536)
    assert cdr.total_parking_time_hours == Decimal("0.500000")


async def test_billing_runs_in_parallel_skip_each_others_sessions(
    database: Database, make_brand, open_charger
) -> None:
    brand = await brand_charging_at_039(database, make_brand)
    await charge_sessions(await open_charger(brand, "CP16", "ocpp1.6"), 3)
    async with database.tenant_transaction(brand.key) as first:
        first_made = await billing.rate_pending(first, limit=2)
        # The first run has not committed: a second one takes only the session left.
        async with database.tenant_transaction(brand.key) as second:
            second_made = await billing.rate_pending(second)

    assert (first_made, second_made) == (2, 1)
    assert await cdr_count(database, brand) == 3


async def test_a_session_that_ends_behind_a_runs_batches_is_rated_by_the_next_run_once(
    database: Database, make_brand, open_charger
) -> None:
    # A run hands each batch where the previous one ended (stopped_at, id). A charger that
    # was offline delivers its stop later, with the time it really stopped: that session
    # ends behind the run and must be rated by the next run, which starts from the start.
    brand = await brand_charging_at_039(database, make_brand)
    await add_ocpp_station(database, brand, "CP2")
    await add_token(database, brand, "RFID0002")
    late = (await open_charger(brand, "CP2", "ocpp1.6")).cp
    started = await late.call(
        call16.StartTransaction(
            connector_id=1, id_tag="RFID0002", meter_start=0, timestamp="2026-11-24T10:40:00Z"
        )
    )
    # CP16: 1 kWh stopped 10:30, 2 kWh stopped 11:30, 3 kWh stopped 12:30.
    await charge_sessions(await open_charger(brand, "CP16", "ocpp1.6"), 3)

    first_run = []
    after = None
    for _ in range(2):
        async with database.tenant_transaction(brand.key) as db_session:
            batch = await billing.rate_pending_batch(db_session, limit=2, after=after)
        first_run.append(batch.created)
        after = batch.last
    # CP2's stop arrives from its offline queue: 5 kWh, stopped at 11:00.
    await late.call(
        call16.StopTransaction(
            transaction_id=started.transaction_id,
            meter_stop=5_000,
            timestamp="2026-11-24T11:00:00Z",
        )
    )
    async with database.tenant_transaction(brand.key) as db_session:
        ended_run = await billing.rate_pending_batch(db_session, limit=2, after=after)
    async with database.tenant_transaction(brand.key) as db_session:
        next_run = await billing.rate_pending_batch(db_session, limit=2)
    async with database.tenant_transaction(brand.key) as db_session:
        after_that = await billing.rate_pending(db_session)
        rows = await db_session.execute(
            select(Cdr.end_date_time, Cdr.total_excl_vat, Cdr.total_vat).order_by(Cdr.number)
        )
        cdrs = [(end.strftime("%H:%M"), excl, vat) for end, excl, vat in rows]

    assert first_run == [2, 1]
    assert after is not None
    assert after[0] == datetime(2026, 11, 24, 12, 30, tzinfo=UTC)
    # The first run has gone past 11:00: its next batch finds nothing and ends it.
    assert (ended_run.created, ended_run.last) == (0, None)
    assert next_run.created == 1
    assert next_run.last is not None
    assert next_run.last[0] == datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    assert after_that == 0
    # In the order they were rated; 5 kWh x 0.39 = 1.95, VAT 0.3705 -> 0.37.
    assert cdrs == [("10:30", 39, 7), ("11:30", 78, 15), ("12:30", 117, 22), ("11:00", 195, 37)]


async def test_one_batch_prices_each_place_by_its_most_specific_assignment(
    database: Database, make_brand, open_charger
) -> None:
    # The batch reads every place's assignments at once; each session must still get the
    # tariff of its own connector, EVSE, location or the brand, the most specific first.
    brand = await brand_charging_at_039(database, make_brand)  # AC-STD 0.39 brand-wide
    for station in ("CP2", "CP3", "CP4"):
        await add_ocpp_station(database, brand, station)
    places = {}
    async with database.tenant_session(brand.key) as db_session:
        for station in ("CP16", "CP2", "CP3", "CP4"):
            places[station] = (
                await db_session.execute(
                    select(ChargingStation.location_id, Evse.id, Connector.id)
                    .join(Evse, Evse.charging_station_id == ChargingStation.id)
                    .join(Connector, Connector.evse_pk == Evse.id)
                    .where(ChargingStation.station_id == station)
                )
            ).one()
    at = {
        station: dict(zip(("location_id", "evse_pk", "connector_pk"), ids, strict=True))
        for station, ids in places.items()
    }
    for code, price, station, scope in (
        ("SITE2", "0.45", "CP2", "location_id"),
        ("EVSE3", "0.50", "CP3", "evse_pk"),
        ("SITE4", "0.41", "CP4", "location_id"),
        ("PLUG4", "0.60", "CP4", "connector_pk"),
    ):
        energy = {**ENERGY_039, "price": price}
        await add_tariff(
            database, brand, ocpi_tariff(code, energy), assign={scope: at[station][scope]}
        )
    for station in ("CP16", "CP2", "CP3", "CP4"):
        await charge_sessions(await open_charger(brand, station, "ocpp1.6"), 1)  # 1 kWh each

    async with database.tenant_transaction(brand.key) as db_session:
        created = await billing.rate_pending(db_session)
        rows = await db_session.execute(
            select(ChargingStation.station_id, Cdr.tariff_code, Cdr.total_excl_vat, Cdr.total_vat)
            .join(ChargingStation, ChargingStation.id == Cdr.charging_station_id)
            .order_by(ChargingStation.station_id)
        )
        cdrs = [tuple(row) for row in rows]

    assert created == 4
    # 1 kWh at the price, VAT 19 % half up: 0.0741, 0.0855, 0.095, 0.114.
    assert cdrs == [
        ("CP16", "AC-STD", 39, 7),
        ("CP2", "SITE2", 45, 9),
        ("CP3", "EVSE3", 50, 10),
        ("CP4", "PLUG4", 60, 11),
    ]


# Signed meter data as a charger sends it: quotes, a backslash, a tab, a newline, an umlaut.
SIGNED = 'OCMF|{"FV":"1.0","ID":"Müller\\01"}|{"SD":"30\t45\n"}'


async def charge_signed_16(cp: Any) -> None:
    """``charge_16`` with a signed reading at 10:30:05, then ``stop_16``: 7.25 kWh."""
    transaction_id = await charge_16(cp)
    signed = {"value": SIGNED, "format": "SignedData", "context": "Sample.Periodic"}
    await cp.call(
        call16.MeterValues(
            connector_id=1,
            transaction_id=transaction_id,
            meter_value=[{"timestamp": "2026-11-24T10:30:05Z", "sampledValue": [signed]}],
        )
    )
    await stop_16(cp, transaction_id)


async def test_the_workers_job_and_a_billing_run_make_the_same_cdr_of_the_same_charge(
    database: Database, make_brand, open_charger
) -> None:
    # Both read a session as the plain row pricing reads (no ORM object) and price it by one
    # path: the same charge at two brands gives the same CDR whichever made it; the run
    # writes its batch with COPY (JSON encoded as text), the job with an INSERT.
    worker, run = [await brand_charging_at_039(database, make_brand) for _ in range(2)]
    for brand in (worker, run):
        await charge_signed_16((await open_charger(brand, "CP16", "ocpp1.6")).cp)
    session = await only_session(database, worker)
    async with database.tenant_session(worker.key) as db_session:
        [row] = await BillingRepository(db_session).session_rows([session.id])
    async with database.tenant_transaction(worker.key) as db_session:
        by_job = await billing.rate_session(db_session, session.id)
    async with database.tenant_transaction(run.key) as db_session:
        batch = await billing.rate_pending_batch(db_session)
        [by_run] = (await db_session.scalars(select(Cdr))).all()

    assert row == tuple(getattr(session, name) for name in SessionRow._fields)
    assert batch.created == 1
    assert by_job is not None
    same = ("currency", "segment", "tariff_code", "auth_method", "id_token", "start_date_time")
    same += ("end_date_time", "total_energy_kwh", "total_time_hours", "priced")
    assert {name: getattr(by_run, name) for name in same} == {
        name: getattr(by_job, name) for name in same
    }
    signed = [
        {
            "at": "2026-11-24T10:30:05.000Z",
            "measurand": "Energy.Active.Import.Register",
            "signed_data": SIGNED,
        }
    ]
    assert by_job.signed_data == by_run.signed_data == signed
    # 7.25 kWh x 0.39 = 2.8275 -> 2.83 net; VAT 0.5377 -> 0.54.
    assert (by_job.total_excl_vat, by_job.total_vat, by_job.total_incl_vat) == (283, 54, 337)
    assert (by_run.total_excl_vat, by_run.total_vat, by_run.total_incl_vat) == (283, 54, 337)


async def test_a_card_is_priced_by_its_own_account_not_by_another_type_of_the_same_value(
    database: Database, make_brand
) -> None:
    # A batch looks its cards up by value (one array parameter) and matches the type itself:
    # an eMAID with the same text as an RFID card is another card with another account.
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        spree = (await add_fleet_account(db_session, contract="SPREE-2026")).id
        havel = (await add_fleet_account(db_session, name="Havel Taxi eG")).id
    await add_token(database, brand, "04A1B2C3", account_id=spree)
    await add_token(database, brand, "04A1B2C3", token_type=IdTokenType.EMAID, account_id=havel)
    async with database.tenant_session(brand.key) as db_session:
        repo = BillingRepository(db_session)
        rfid = await repo.customers_of_tokens({("04A1B2C3", "ISO14443")})
        both = await repo.customers_of_tokens({("04A1B2C3", "ISO14443"), ("04A1B2C3", "eMAID")})

    assert {card: (c.account_id, c.contract) for card, c in rfid.items()} == {
        ("04A1B2C3", "ISO14443"): (spree, "SPREE-2026")
    }
    assert {card: (c.account_id, c.contract) for card, c in both.items()} == {
        ("04A1B2C3", "ISO14443"): (spree, "SPREE-2026"),
        ("04A1B2C3", "eMAID"): (havel, None),
    }
