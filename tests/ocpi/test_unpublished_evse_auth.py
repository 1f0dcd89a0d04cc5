"""A partner's token at an EVSE partners are not told of (no eMI3 EVSE id, or a connector
the station has no EVSE for) is Invalid, on every OCPP version, whether its whitelist rule
decides locally or its eMSP would be asked (it is not asked); the session is not the
partner's. A roaming session at no published EVSE is never reported (no "#NA" evse_uid)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from ocpp.v16 import call as call16
from ocpp.v21 import call as call21
from ocpp.v201 import call as call201
from sqlalchemy import select

from tests.ocpi.conftest import OcpiClientFactory, data_of
from tests.ocpi.emi3_support import emi3_id
from tests.ocpi.h6_support import registered_partner
from tests.ocpi.test_realtime_auth import Rig, _authorization, _pushed, _token, rig, roaming
from tests.ocpp.conftest import add_ocpp_station, gateway, open_charger
from voltlane.core.clock import utcnow
from voltlane.models.tenant import ChargingSession, ChargingStation, Evse
from voltlane.ocpi.roaming_pushes import queue_session_pushes

__all__ = ["gateway", "open_charger", "rig", "roaming"]

REFUSED_LOG = "ocpi partner token refused: the EVSE is not published to partners (no eMI3 EVSE id)"
CALLS = {"ocpp2.0.1": call201, "ocpp2.1": call21}


async def _emsp(rig: Rig) -> Any:
    return await registered_partner(
        rig.database,
        rig.settings,
        rig.cpo,
        endpoints=[
            {
                "identifier": "tokens",
                "role": "SENDER",
                "url": rig.httpserver.url_for("/emsp/tokens/"),
            },
            {"identifier": "sessions", "role": "RECEIVER", "url": "https://emsp.example/sessions"},
        ],
    )


async def _station(rig: Rig, station_id: str, *, named: tuple[int, ...]) -> None:
    """A station with two EVSEs; those in ``named`` get an eMI3 id."""
    await add_ocpp_station(rig.database, rig.cpo, station_id, evses=2)
    async with rig.database.tenant_transaction(rig.cpo.key) as db_session:
        for evse in await db_session.scalars(
            select(Evse)
            .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
            .where(ChargingStation.station_id == station_id, Evse.evse_id.in_(named))
        ):
            evse.emi3_id = emi3_id(("DE", "VLT"), station_id, evse.evse_id)


async def _sessions(rig: Rig) -> list[tuple[str, int | None, bool, str | None]]:
    async with rig.database.tenant_session(rig.cpo.key) as db_session:
        rows = (
            await db_session.scalars(select(ChargingSession).order_by(ChargingSession.created_at))
        ).all()
    return [
        (s.transaction_id, s.evse_id, s.roaming_token_id is not None, s.authorization_reference)
        for s in rows
    ]


async def test_16_a_partners_card_is_invalid_at_an_unnamed_evse_and_at_an_unmapped_connector(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    partner = await _emsp(rig)
    await _pushed(rig.database, rig.cpo, partner.partner_id, _token("WL01", "ALWAYS"))
    await _pushed(rig.database, rig.cpo, partner.partner_id, _token("RT01", "NEVER"))
    await _station(rig, "UNPUB-16", named=(1,))
    charger = await rig.open_charger(rig.cpo, "UNPUB-16", "ocpp1.6")
    await charger.cp.call(
        call16.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22"),
        suppress=False,
    )
    answers = []
    caplog.set_level(logging.WARNING, logger="voltlane.ocpi.realtime")
    for connector, id_tag, meter in ((2, "WL01", 100), (2, "RT01", 200), (3, "WL01", 300)):
        started = await charger.cp.call(
            call16.StartTransaction(
                connector_id=connector,
                id_tag=id_tag,
                meter_start=meter,
                timestamp="2026-11-25T10:00:00Z",
            ),
            suppress=False,
        )
        answers.append(started.id_tag_info["status"])
    # The station has a published EVSE: an Authorize (which names none) is decided as usual.
    authorized = await charger.cp.call(call16.Authorize(id_tag="WL01"), suppress=False)
    at_named = await charger.cp.call(
        call16.StartTransaction(
            connector_id=1, id_tag="WL01", meter_start=400, timestamp="2026-11-25T10:05:00Z"
        ),
        suppress=False,
    )
    assert answers == ["Invalid", "Invalid", "Invalid"]
    assert authorized.id_tag_info == {"status": "Accepted"}
    assert at_named.id_tag_info == {"status": "Accepted"}
    # Nobody was asked about RT01.
    assert rig.httpserver.log == []
    refusals = [r for r in caplog.records if r.name == "voltlane.ocpi.realtime"]
    assert [(r.message, r.__dict__["evse"]) for r in refusals] == [
        (REFUSED_LOG, 2),
        (REFUSED_LOG, 2),
        (REFUSED_LOG, 3),
    ]
    assert [(evse, linked) for _tx, evse, linked, _ref in await _sessions(rig)] == [
        (2, False),
        (2, False),
        (3, False),
        (1, True),
    ]


async def test_16_at_a_station_without_any_named_evse_even_authorize_is_invalid(
    rig: Rig,
) -> None:
    partner = await _emsp(rig)
    await _pushed(rig.database, rig.cpo, partner.partner_id, _token("RT02", "NEVER"))
    await _station(rig, "UNPUB-ALL", named=())
    charger = await rig.open_charger(rig.cpo, "UNPUB-ALL", "ocpp1.6")
    await charger.cp.call(
        call16.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22"),
        suppress=False,
    )
    authorized = await charger.cp.call(call16.Authorize(id_tag="RT02"), suppress=False)
    # A card no partner pushed stays unknown there, and no partner is asked about it.
    unknown = await charger.cp.call(call16.Authorize(id_tag="NOBODY"), suppress=False)
    assert authorized.id_tag_info == {"status": "Invalid"}
    assert unknown.id_tag_info == {"status": "Invalid"}
    assert rig.httpserver.log == []


@pytest.mark.parametrize("protocol", ["ocpp2.0.1", "ocpp2.1"])
async def test_2x_a_yes_remembered_from_authorize_does_not_carry_to_an_unnamed_evse(
    rig: Rig, protocol: str
) -> None:
    calls = CALLS[protocol]
    partner = await _emsp(rig)
    await _pushed(rig.database, rig.cpo, partner.partner_id, _token("RT03", "NEVER"))
    rig.httpserver.expect_oneshot_request(
        "/emsp/tokens/RT03/authorize", method="POST"
    ).respond_with_json(_authorization("ALLOWED", _token("RT03", "NEVER"), "REF-RT03"))
    station_id = f"UNPUB-{protocol[-3:].replace('.', '')}"
    await _station(rig, station_id, named=(1,))
    charger = await rig.open_charger(rig.cpo, station_id, protocol)
    await charger.cp.call(
        calls.BootNotification(
            charging_station={"model": "DC150", "vendor_name": "Acme"}, reason="PowerUp"
        ),
        suppress=False,
    )
    token = {"id_token": "RT03", "type": "ISO14443"}
    authorized = await charger.cp.call(calls.Authorize(id_token=token), suppress=False)

    async def start(transaction_id: str, evse: int) -> str:
        reply = await charger.cp.call(
            calls.TransactionEvent(
                event_type="Started",
                timestamp="2026-11-25T10:00:00Z",
                trigger_reason="Authorized",
                seq_no=0,
                transaction_info={"transaction_id": transaction_id},
                evse={"id": evse, "connector_id": 1},
                id_token=token,
            ),
            suppress=False,
        )
        return str(reply.id_token_info["status"])

    at_unnamed = await start("tx-unnamed", 2)
    at_named = await start("tx-named", 1)
    assert authorized.id_token_info["status"] == "Accepted"
    assert (at_unnamed, at_named) == ("Invalid", "Accepted")
    # Asked once (the Authorize); the start at EVSE 1 reuses that answer.
    assert len(rig.httpserver.log) == 1
    assert await _sessions(rig) == [
        ("tx-unnamed", 2, False, None),
        ("tx-named", 1, True, "REF-RT03"),
    ]


async def test_an_offline_transaction_ended_at_no_or_an_unnamed_evse_is_not_the_partners(
    rig: Rig, ocpi_for: OcpiClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A 2.0.1 charger replays only the end of offline transactions: one without its EVSE,
    one at the EVSE without an eMI3 id, one at the named EVSE. The partner's card is
    Invalid at the first two (no EVSE partners are told of), nobody is asked, and those
    sessions are not the partner's: never listed or pushed (never with evse_uid "#NA").
    At the named EVSE the card is linked and the session reported."""
    partner = await _emsp(rig)
    await _pushed(rig.database, rig.cpo, partner.partner_id, _token("WL04", "ALWAYS"))
    await _station(rig, "UNPUB-END", named=(1,))
    charger = await rig.open_charger(rig.cpo, "UNPUB-END", "ocpp2.0.1")
    await charger.cp.call(
        call201.BootNotification(
            charging_station={"model": "DC150", "vendor_name": "Acme"}, reason="PowerUp"
        ),
        suppress=False,
    )
    caplog.set_level(logging.WARNING, logger="voltlane.ocpi.realtime")

    async def ended(transaction_id: str, evse: int | None) -> str:
        named = {"evse": {"id": evse, "connector_id": 1}} if evse is not None else {}
        reply = await charger.cp.call(
            call201.TransactionEvent(
                event_type="Ended",
                timestamp="2026-11-25T11:00:00Z",
                trigger_reason="StopAuthorized",
                seq_no=3,
                offline=True,
                transaction_info={"transaction_id": transaction_id, "stopped_reason": "Local"},
                id_token={"id_token": "WL04", "type": "ISO14443"},
                meter_value=[
                    {
                        "timestamp": "2026-11-25T11:00:00Z",
                        "sampled_value": [{"value": 7000, "context": "Transaction.End"}],
                    }
                ],
                **named,
            ),
            suppress=False,
        )
        return str(reply.id_token_info["status"])

    answers = [
        await ended("tx-no-evse", None),
        await ended("tx-unnamed", 2),
        await ended("tx-named", 1),
    ]
    async with ocpi_for(rig.cpo, partner.token) as client:
        listed = data_of(await client.get("/ocpi/2.2.1/sessions?date_from=2020-01-01T00:00:00Z"))
    async with rig.database.tenant_transaction(rig.cpo.key) as db_session:
        queued = await queue_session_pushes(db_session, rig.cpo, now=utcnow())
    assert answers == ["Invalid", "Invalid", "Accepted"]
    assert await _sessions(rig) == [
        ("tx-no-evse", None, False, None),
        ("tx-unnamed", 2, False, None),
        ("tx-named", 1, True, None),
    ]
    refusals = [r for r in caplog.records if r.name == "voltlane.ocpi.realtime"]
    assert [(r.message, r.__dict__["evse"]) for r in refusals] == [
        (REFUSED_LOG, None),
        (REFUSED_LOG, 2),
    ]
    assert rig.httpserver.log == []
    async with rig.database.tenant_session(rig.cpo.key) as db_session:
        named_evse = await db_session.scalar(
            select(Evse.id)
            .join(ChargingStation, ChargingStation.id == Evse.charging_station_id)
            .where(ChargingStation.station_id == "UNPUB-END", Evse.evse_id == 1)
        )
    assert [
        (s["evse_uid"], s["connector_id"], s["status"], s["cdr_token"]["uid"], s["auth_method"])
        for s in listed
    ] == [(str(named_evse), "1", "COMPLETED", "WL04", "WHITELIST")]
    assert queued == 1
