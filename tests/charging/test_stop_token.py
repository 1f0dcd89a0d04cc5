"""A brand session stopped with another card (a fleet card stopping a driver's charge) stays
the session of the card that started it: billed to the starter at the starter's price, the
stopping card recorded beside it and shown in the portal. A 2.x transaction started without
a token becomes the first token's; a Started event replayed after its Ended still names the
session's owner."""

from __future__ import annotations

import re
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from sqlalchemy import select

from tests.billing.test_cdrs import add_tariff, ocpi_tariff
from tests.factories import add_fleet_account, add_user
from tests.ocpp.conftest import add_ocpp_station, add_token, gateway, open_charger
from tests.web.helpers import HTML, sign_in
from voltlane import billing
from voltlane.billing import fleet_reports
from voltlane.billing.fleet_reports import SessionFilter
from voltlane.core.db import Database
from voltlane.models.tenant import (
    Cdr,
    ChargingSession,
    IdToken,
    IdTokenStatus,
    IdTokenType,
    Role,
    SessionStatus,
)
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo

__all__ = ["gateway", "open_charger"]

PASSWORD = "correct horse battery"
START, STOP = "2026-11-24T10:00:00Z", "2026-11-24T11:00:00Z"
REGISTER_START, REGISTER_STOP = 1_000_000, 1_012_000  # 12 kWh
TAG_RE = re.compile(r"<[^>]+>")


async def _brand(database: Database, make_brand: Any, station_id: str) -> tuple[TenantInfo, Any]:
    """A German brand: members pay 0.39/kWh, fleet contract ACME-7 0.29/kWh; driver card
    DRIVER-01 (no account: a member) and fleet card FLEET-01 of the fleet account."""
    brand: TenantInfo = await make_brand(locale="de_DE", locales=["de_DE"])
    await add_ocpp_station(database, brand, station_id)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS)
        fleet = await add_fleet_account(db_session, contract="ACME-7")
        db_session.add(
            IdToken(
                id_token="FLEET-01",
                type=IdTokenType.ISO14443,
                account_id=fleet.id,
                driver_name="Jonas Berg",
            )
        )
    await add_token(database, brand, "DRIVER-01", driver_name="Mia Wagner")
    energy = {"type": "ENERGY", "vat": "19", "step_size": 1}
    await add_tariff(
        database,
        brand,
        ocpi_tariff("MEMBER-039", {**energy, "price": "0.39"}),
        segment=SegmentKind.MEMBER,
    )
    await add_tariff(
        database,
        brand,
        ocpi_tariff("FLEET-029", {**energy, "price": "0.29"}),
        segment=SegmentKind.FLEET,
        segment_ref="ACME-7",
    )
    return brand, fleet


async def charge_16(
    open_charger: Any, brand: TenantInfo, station_id: str, starter: str, stopper: str
) -> tuple[str, str]:
    """A 1.6 charge of 12 kWh started with ``starter``, stopped with ``stopper``: the
    idTagInfo statuses of the start and the stop."""
    charger = await open_charger(brand, station_id, "ocpp1.6")
    await charger.cp.call(
        call16.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22"),
        suppress=False,
    )
    started = await charger.cp.call(
        call16.StartTransaction(
            connector_id=1, id_tag=starter, meter_start=REGISTER_START, timestamp=START
        ),
        suppress=False,
    )
    stopped = await charger.cp.call(
        call16.StopTransaction(
            transaction_id=started.transaction_id,
            meter_stop=REGISTER_STOP,
            timestamp=STOP,
            id_tag=stopper,
            reason="Local",
        ),
        suppress=False,
    )
    return str(started.id_tag_info["status"]), str(stopped.id_tag_info["status"])


def _event(event_type: str, seq_no: int, trigger: str, **fields: Any) -> Any:
    at, register, context = (
        (START, REGISTER_START, "Transaction.Begin")
        if event_type == "Started"
        else (STOP, REGISTER_STOP, "Transaction.End")
    )
    return call201.TransactionEvent(
        event_type=event_type,
        timestamp=at,
        trigger_reason=trigger,
        seq_no=seq_no,
        transaction_info={"transaction_id": "tx-card-201"},
        evse={"id": 1, "connector_id": 1},
        meter_value=[{"timestamp": at, "sampled_value": [{"value": register, "context": context}]}],
        **fields,
    )


def _card(uid: str) -> dict[str, str]:
    return {"id_token": uid, "type": "ISO14443"}


async def charge_201(
    open_charger: Any, brand: TenantInfo, station_id: str, starter: str, stopper: str
) -> tuple[str, str, Any]:
    """A 2.0.1 charge of 12 kWh Started with ``starter``, Ended by ``stopper``
    (StopAuthorized): the idTokenInfo statuses of both and the Ended answer's totalCost."""
    charger = await open_charger(brand, station_id, "ocpp2.0.1")
    await charger.cp.call(
        call201.BootNotification(
            charging_station={"model": "DC150", "vendor_name": "Acme"}, reason="PowerUp"
        ),
        suppress=False,
    )
    started = await charger.cp.call(
        _event("Started", 0, "Authorized", id_token=_card(starter)), suppress=False
    )
    ended = await charger.cp.call(
        _event("Ended", 1, "StopAuthorized", id_token=_card(stopper)), suppress=False
    )
    return (
        str(started.id_token_info["status"]),
        str(ended.id_token_info["status"]),
        ended.total_cost,
    )


async def _only(database: Database, brand: TenantInfo) -> tuple[ChargingSession, Cdr]:
    async with database.tenant_session(brand.key) as db_session:
        [session] = (await db_session.scalars(select(ChargingSession))).all()
    async with database.tenant_transaction(brand.key) as db_session:
        cdr = await billing.rate_session(db_session, session.id)
    assert cdr is not None
    return session, cdr


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
async def test_a_drivers_session_stopped_with_a_fleet_card_is_billed_to_the_driver(
    database: Database, make_brand: Any, open_charger: Any, client_for: Any, protocol: str
) -> None:
    station_id = "CARD-16" if protocol == "ocpp1.6" else "CARD-201"
    brand, fleet = await _brand(database, make_brand, station_id)
    # The fleet card's own status (and no group: the station let it stop).
    if protocol == "ocpp1.6":
        answers = await charge_16(open_charger, brand, station_id, "DRIVER-01", "FLEET-01")
    else:
        *answers, total_cost = await charge_201(
            open_charger, brand, station_id, "DRIVER-01", "FLEET-01"
        )
        assert total_cost == 5.57
    assert tuple(answers) == ("Accepted", "Accepted")

    session, cdr = await _only(database, brand)
    assert (session.id_token, session.group_id_token, session.stop_id_token) == (
        "DRIVER-01",
        None,
        "FLEET-01",
    )
    # 12 kWh at the members' 0.39 = 4.68 + 19 % VAT 0.89 = 5.57 (the fleet's 0.29 would be 3.48).
    assert (cdr.id_token, cdr.segment, cdr.tariff_code) == ("DRIVER-01", "MEMBER", "MEMBER-039")
    assert (cdr.total_excl_vat, cdr.total_vat, cdr.total_incl_vat) == (468, 89, 557)
    async with database.tenant_session(brand.key) as db_session:
        fleet_sessions = await fleet_reports.list_sessions(
            db_session, fleet.id, SessionFilter(), limit=10, offset=0
        )
    assert fleet_sessions == []

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/sessions/{session.id}", headers=HTML)
    facts = {
        TAG_RE.sub("", dt): " ".join(TAG_RE.sub("", dd).split())
        for dt, dd in re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", page.text, re.S)
    }
    assert (facts["Token"], facts["Beendet durch"]) == (
        "DRIVER-01 RFID-Karte (ISO 14443) · Mia Wagner",
        "FLEET-01"
        + (" RFID-Karte (ISO 14443)" if protocol == "ocpp2.0.1" else "")
        + " (der Ladevorgang bleibt beim Token, das ihn gestartet hat)",
    )


async def test_a_fleet_session_stopped_with_the_same_card_says_so_and_stays_the_fleets(
    database: Database, make_brand: Any, open_charger: Any, client_for: Any
) -> None:
    brand, fleet = await _brand(database, make_brand, "CARD-16")
    assert await charge_16(open_charger, brand, "CARD-16", "FLEET-01", "FLEET-01") == (
        "Accepted",
        "Accepted",
    )
    session, cdr = await _only(database, brand)
    assert (cdr.id_token, cdr.segment, cdr.total_excl_vat) == ("FLEET-01", "FLEET:ACME-7", 348)
    async with database.tenant_session(brand.key) as db_session:
        fleet_sessions = await fleet_reports.list_sessions(
            db_session, fleet.id, SessionFilter(), limit=10, offset=0
        )
    assert [(s.id, s.card, s.driver, s.total_excl_vat) for s in fleet_sessions] == [
        (session.id, "FLEET-01", "Jonas Berg", 348)
    ]
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/sessions/{session.id}", headers=HTML)
    assert '<dt>Beendet durch</dt><dd data-testid="stop-id-token">dasselbe Token</dd>' in page.text


async def test_a_201_transaction_started_without_a_token_is_the_first_tokens(
    database: Database, make_brand: Any, open_charger: Any
) -> None:
    """Plugged in first (no token), then the driver's card (Updated, Authorized), then the
    fleet card stops it: the driver's, with the fleet card as the stop."""
    brand, _fleet = await _brand(database, make_brand, "CARD-201")
    charger = await open_charger(brand, "CARD-201", "ocpp2.0.1")
    plugged = await charger.cp.call(_event("Started", 0, "CablePluggedIn"))
    authorized = await charger.cp.call(
        call201.TransactionEvent(
            event_type="Updated",
            timestamp="2026-11-24T10:00:30Z",
            trigger_reason="Authorized",
            seq_no=1,
            transaction_info={"transaction_id": "tx-card-201"},
            id_token=_card("DRIVER-01"),
        )
    )
    ended = await charger.cp.call(_event("Ended", 2, "StopAuthorized", id_token=_card("FLEET-01")))
    session, cdr = await _only(database, brand)
    assert plugged.id_token_info is None
    assert (authorized.id_token_info, ended.id_token_info) == (
        {"status": "Accepted"},
        {"status": "Accepted"},
    )
    assert (session.id_token, session.stop_id_token, cdr.segment, cdr.total_excl_vat) == (
        "DRIVER-01",
        "FLEET-01",
        "MEMBER",
        468,
    )


async def test_a_started_event_replayed_after_its_ended_names_the_sessions_owner(
    database: Database, make_brand: Any, open_charger: Any
) -> None:
    """Offline replay out of order: the Ended (the fleet card stopping) arrives before the
    Started (the driver's card). Until the Started arrives the fleet card is the only token
    seen; then the session is the driver's and the fleet card stays its stop."""
    brand, _fleet = await _brand(database, make_brand, "CARD-201")
    charger = await open_charger(brand, "CARD-201", "ocpp2.0.1")
    await charger.cp.call(
        _event("Ended", 1, "StopAuthorized", offline=True, id_token=_card("FLEET-01"))
    )
    async with database.tenant_session(brand.key) as db_session:
        [first] = (await db_session.scalars(select(ChargingSession))).all()
    assert (first.id_token, first.stop_id_token) == ("FLEET-01", "FLEET-01")
    await charger.cp.call(
        _event("Started", 0, "Authorized", offline=True, id_token=_card("DRIVER-01"))
    )
    session, cdr = await _only(database, brand)
    assert (session.id_token, session.stop_id_token, cdr.segment, cdr.total_excl_vat) == (
        "DRIVER-01",
        "FLEET-01",
        "MEMBER",
        468,
    )


async def test_a_blocked_card_that_stops_a_charge_is_answered_blocked_and_the_charge_ends(
    database: Database, make_brand: Any, open_charger: Any
) -> None:
    """The station decided the stop (OCPP 1.6: the Central System cannot refuse it); the
    answer tells it the card's own status, for its authorization cache."""
    brand, _fleet = await _brand(database, make_brand, "CARD-16")
    await add_token(database, brand, "LOST-01", status=IdTokenStatus.BLOCKED)
    assert await charge_16(open_charger, brand, "CARD-16", "DRIVER-01", "LOST-01") == (
        "Accepted",
        "Blocked",
    )
    session, cdr = await _only(database, brand)
    assert (session.status, session.id_token, session.stop_id_token, cdr.total_excl_vat) == (
        SessionStatus.FINISHED,
        "DRIVER-01",
        "LOST-01",
        468,
    )
