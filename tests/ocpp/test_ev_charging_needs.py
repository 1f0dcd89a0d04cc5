"""NotifyEVChargingNeeds from real 2.0.1 and 2.1 clients: the car's needs become its session's
departure target on a load-managed EVSE, and the answer says whether profiles will follow."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from ocpp.v21 import call as call21
from ocpp.v201 import call as call201
from sqlalchemy import select

from tests.ocpp.conftest import Charger, add_ocpp_station, add_token
from voltlane.core.db import Database
from voltlane.models.tenant import (
    ChargingSession,
    ChargingTarget,
    EvDischargeOffer,
    Evse,
    IdTokenType,
    StationEvent,
)
from voltlane.smart_charging import sites
from voltlane.smart_charging.sites import SiteInput
from voltlane.tenancy import TenantInfo

DEPARTURE = "2099-01-01T07:30:00Z"


async def _into_site(database: Database, key: str) -> None:
    async with database.tenant_transaction(key) as db_session:
        site = await sites.create_site(
            db_session,
            SiteInput(
                name="Depot",
                capacity_a=Decimal(32),
                safe_limit_a=Decimal(16),
                discharge_limit_a=Decimal(10),
            ),
        )
        evse = await db_session.scalar(select(Evse))
        assert evse is not None
        await sites.assign_evse(db_session, site.id, evse.id)


async def _start(cp, call, *, register_wh: float, updated_wh: float) -> None:
    await cp.call(
        call.BootNotification(
            charging_station={"model": "AC22", "vendor_name": "Acme"}, reason="PowerUp"
        )
    )
    tx = {"transaction_id": "tx-1", "charging_state": "Charging"}
    for seq_no, (kind, wh) in enumerate((("Started", register_wh), ("Updated", updated_wh))):
        at = f"2026-11-24T11:0{seq_no}:00Z"
        await cp.call(
            call.TransactionEvent(
                event_type=kind,
                timestamp=at,
                trigger_reason="Authorized" if seq_no == 0 else "MeterValuePeriodic",
                seq_no=seq_no,
                transaction_info=tx,
                evse={"id": 1, "connector_id": 1},
                id_token={"id_token": "APP-42", "type": "Central"},
                meter_value=[
                    {
                        "timestamp": at,
                        "sampled_value": [
                            {"value": wh, "measurand": "Energy.Active.Import.Register"}
                        ],
                    }
                ],
            )
        )


async def _charging_on_a_site(
    database: Database, brand: TenantInfo, open_charger, protocol: str, call, **meter: float
) -> Charger:
    """A station whose EVSE is in a site, connected, with transaction tx-1 under way."""
    await add_ocpp_station(database, brand, "CS")
    await add_token(database, brand, "APP-42", token_type=IdTokenType.CENTRAL)
    await _into_site(database, brand.key)
    charger: Charger = await open_charger(brand, "CS", protocol)
    await _start(charger.cp, call, **meter)
    return charger


async def _targets(database: Database, key: str) -> list[tuple[str, int, datetime]]:
    async with database.tenant_session(key) as db_session:
        rows = await db_session.execute(
            select(
                ChargingSession.transaction_id,
                ChargingTarget.energy_wh,
                ChargingTarget.departure_at,
            ).join(ChargingSession, ChargingSession.id == ChargingTarget.session_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def _recorded(database: Database, key: str) -> list[str]:
    async with database.tenant_session(key) as db_session:
        return list(
            await db_session.scalars(select(StationEvent.action).where(StationEvent.kind == "ev"))
        )


async def test_ocpp201_needs_on_a_site_evse_become_the_departure_target(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    charger = await _charging_on_a_site(
        database, brand, open_charger, "ocpp2.0.1", call201, register_wh=10_000, updated_wh=12_500
    )

    reply = await charger.cp.call(
        call201.NotifyEVChargingNeeds(
            evse_id=1,
            charging_needs={
                "requested_energy_transfer": "AC_three_phase",
                "departure_time": DEPARTURE,
                "ac_charging_parameters": {
                    "energy_amount": 20_000,
                    "ev_min_current": 6,
                    "ev_max_current": 16,
                    "ev_max_voltage": 400,
                },
            },
        )
    )

    assert reply.status == "Accepted"
    # 2.5 kWh charged so far plus the 20 kWh the car still wants.
    assert await _targets(database, brand.key) == [
        ("tx-1", 22_500, datetime(2099, 1, 1, 7, 30, tzinfo=UTC))
    ]
    assert await _recorded(database, brand.key) == ["NotifyEVChargingNeeds"]


async def test_ocpp21_v2x_needs_take_the_target_energy_request(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    charger = await _charging_on_a_site(
        database, brand, open_charger, "ocpp2.1", call21, register_wh=5_000, updated_wh=6_000
    )

    reply = await charger.cp.call(
        call21.NotifyEVChargingNeeds(
            evse_id=1,
            timestamp="2026-11-24T11:02:00Z",
            charging_needs={
                "requested_energy_transfer": "AC_BPT",
                "departure_time": DEPARTURE,
                "control_mode": "ScheduledControl",
                "ac_charging_parameters": {
                    "energy_amount": 30_000,
                    "ev_min_current": 6,
                    "ev_max_current": 32,
                    "ev_max_voltage": 400,
                },
                "v2x_charging_parameters": {
                    "ev_target_energy_request": 15_000,
                    "max_charge_power": 11_000,
                    "max_discharge_power": 7_000,
                },
            },
        )
    )

    assert reply.status == "Accepted"
    assert await _targets(database, brand.key) == [
        ("tx-1", 16_000, datetime(2099, 1, 1, 7, 30, tzinfo=UTC))
    ]


async def test_needs_outside_any_site_or_session_store_nothing(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CS21")
    await add_ocpp_station(database, brand, "CS201")
    await add_token(database, brand, "APP-42", token_type=IdTokenType.CENTRAL)
    needs = {
        "requested_energy_transfer": "DC",
        "departure_time": DEPARTURE,
        "dc_charging_parameters": {
            "ev_max_current": 200,
            "ev_max_voltage": 800,
            "energy_amount": 40_000,
        },
    }
    c21 = await open_charger(brand, "CS21", "ocpp2.1")
    c201 = await open_charger(brand, "CS201", "ocpp2.0.1")
    for cp, call in ((c21.cp, call21), (c201.cp, call201)):
        await cp.call(
            call.BootNotification(
                charging_station={"model": "DC150", "vendor_name": "Acme"}, reason="PowerUp"
            )
        )
    # No transaction on the EVSE: nothing to plan for.
    idle = await c201.cp.call(call201.NotifyEVChargingNeeds(evse_id=1, charging_needs=needs))
    await _start(c21.cp, call21, register_wh=0, updated_wh=0)
    await _start(c201.cp, call201, register_wh=0, updated_wh=0)
    # A session on an EVSE in no site: no profile will come.
    unmanaged21 = await c21.cp.call(call21.NotifyEVChargingNeeds(evse_id=1, charging_needs=needs))
    unmanaged201 = await c201.cp.call(
        call201.NotifyEVChargingNeeds(evse_id=1, charging_needs=needs)
    )

    assert (idle.status, unmanaged21.status, unmanaged201.status) == (
        "Rejected",
        "NoChargingProfile",
        "Rejected",
    )
    assert await _targets(database, brand.key) == []
    assert await _recorded(database, brand.key) == ["NotifyEVChargingNeeds"] * 3


async def test_needs_without_a_future_departure_keep_the_equal_share(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    charger = await _charging_on_a_site(
        database, brand, open_charger, "ocpp2.0.1", call201, register_wh=0, updated_wh=0
    )
    ac = {"ev_min_current": 6, "ev_max_current": 16, "ev_max_voltage": 400}
    past = await charger.cp.call(
        call201.NotifyEVChargingNeeds(
            evse_id=1,
            charging_needs={
                "requested_energy_transfer": "AC_single_phase",
                "departure_time": "2020-01-01T00:00:00Z",
                "ac_charging_parameters": {"energy_amount": 5_000, **ac},
            },
        )
    )
    nothing_wanted = await charger.cp.call(
        call201.NotifyEVChargingNeeds(
            evse_id=1,
            charging_needs={
                "requested_energy_transfer": "AC_single_phase",
                "departure_time": DEPARTURE,
                "ac_charging_parameters": {"energy_amount": 0, **ac},
            },
        )
    )
    negative = await charger.cp.call(
        call201.NotifyEVChargingNeeds(
            evse_id=1,
            charging_needs={
                "requested_energy_transfer": "AC_single_phase",
                "departure_time": DEPARTURE,
                "ac_charging_parameters": {"energy_amount": -5_000, **ac},
            },
        )
    )

    assert (past.status, nothing_wanted.status, negative.status) == ("Accepted",) * 3
    assert await _targets(database, brand.key) == []


async def test_ocpp21_bidirectional_needs_keep_the_cars_discharge_offer_until_withdrawn(
    database: Database, make_brand, open_charger
) -> None:
    brand = await make_brand()
    charger = await _charging_on_a_site(
        database, brand, open_charger, "ocpp2.1", call21, register_wh=5_000, updated_wh=6_000
    )
    ac = {"energy_amount": 20_000, "ev_min_current": 6, "ev_max_current": 32, "ev_max_voltage": 400}

    async def needs(transfer: str, **v2x: float) -> str:
        reply = await charger.cp.call(
            call21.NotifyEVChargingNeeds(
                evse_id=1,
                charging_needs={
                    "requested_energy_transfer": transfer,
                    "ac_charging_parameters": ac,
                    **({"v2x_charging_parameters": v2x} if v2x else {}),
                },
            )
        )
        return str(reply.status)

    async def offers() -> list[tuple[str, int | None, Decimal | None]]:
        async with database.tenant_session(brand.key) as db_session:
            rows = await db_session.execute(
                select(
                    ChargingSession.transaction_id,
                    EvDischargeOffer.max_discharge_w,
                    EvDischargeOffer.max_discharge_a,
                ).join(ChargingSession, ChargingSession.id == EvDischargeOffer.session_id)
            )
            return [tuple(row) for row in rows]  # type: ignore[misc]

    assert await needs("AC_BPT", max_discharge_power=7_000, max_discharge_current=12.37) == (
        "Accepted"
    )
    # Kept in tenths of an ampere, rounded down.
    assert await offers() == [("tx-1", 7_000, Decimal("12.3"))]
    assert await needs("AC_three_phase") == "Accepted"
    assert await offers() == []
