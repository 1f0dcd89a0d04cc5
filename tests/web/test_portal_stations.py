"""The stations section driven over HTTP as a browser would: list, station page, message
log, commands, approval and onboarding, each with its refusals."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from tests.api.conftest import PASSWORD as STATION_PASSWORD
from tests.api.conftest import api_client, charger, gateway  # noqa: F401 - fixtures
from tests.factories import ac_evse, add_fleet_account, add_location, add_station, add_user
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.identity.passwords import verify_station_password
from voltlane.models.platform import GatewayNode, StationPresence
from voltlane.models.tenant import (
    AuditEntry,
    ChargingStation,
    CommandStatus,
    Connector,
    Location,
    OcppFrame,
    Role,
    StationCommand,
)
from voltlane.ocpp.translate import OcppTranslator
from voltlane.portal.stations.command_forms import COMMAND_FORMS
from voltlane.portal.stations.forms import read_form
from voltlane.station import operations
from voltlane.station import service as stations
from voltlane.station.ports import UnsupportedCommandError
from voltlane.station.schemas import StationCreate
from voltlane.web.i18n import translations

PASSWORD = "correct horse battery"
ROW_RE = re.compile(r'<tr data-station-id="([^"]+)">')


def station_rows(page: str) -> list[str]:
    return ROW_RE.findall(page)


def field_error(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    assert match is not None, f"no error beside {field_id}"
    return html.unescape(match.group(1))


def form_error(page: str) -> str:
    match = re.search(r'<p class="alert" role="alert" id="form-error">([^<]*)</p>', page)
    assert match is not None, "no form error"
    return html.unescape(match.group(1))


async def set_protocol(database: Database, brand, station_id: str, protocol: str) -> None:
    async with database.tenant_transaction(brand.key) as db_session:
        station = await db_session.scalar(
            select(ChargingStation).where(ChargingStation.station_id == station_id)
        )
        assert station is not None
        station.protocol = protocol


async def connect(database: Database, brand, station_id: str, at: datetime) -> None:
    """The station's socket held by a live gateway node (as the gateway records it)."""
    node = f"node-{uuid.uuid4().hex[:8]}"
    async with database.platform_transaction() as platform:
        platform.add(GatewayNode(node_id=node, hostname="gw1", heartbeat_at=utcnow()))
        await platform.flush()
        platform.add(
            StationPresence(
                tenant_key=brand.key,
                station_id=station_id,
                node_id=node,
                protocol="ocpp1.6",
                connected_at=at,
                connection_id=str(uuid.uuid4()),
            )
        )


async def count(database: Database, brand, model) -> int:
    async with database.tenant_session(brand.key) as db_session:
        return int(await db_session.scalar(select(func.count()).select_from(model)) or 0)


async def audits(database: Database, brand) -> list[tuple[str, str | None, dict]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action.startswith("portal."))
            .order_by(AuditEntry.id)
        )
        return [(a.action, a.actor_email, a.detail) for a in rows]


async def network(database: Database, brand):
    """Two sites, three stations (one of them connected), one waiting for approval."""
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
        await add_user(db_session, "viewer@example.com", PASSWORD, Role.READ_ONLY)
        depot = await add_location(db_session, "Harbour depot", city="Hamburg")
        mall = await add_location(db_session, "Elbe mall", city="Kiel")
        a = await add_station(db_session, depot, "HH-001", evses=2)
        b = await add_station(db_session, mall, "KI-001")
        c = await add_station(db_session, mall, "KI-002")
        pending = await operations.auto_commission(
            db_session, station_id="NEW-77", password="p" * 20, security_profile=1
        )
        ids = {"HH-001": a.id, "KI-001": b.id, "KI-002": c.id, "NEW-77": pending.id}
        locations = {"depot": depot.id, "mall": mall.id}
    await set_protocol(database, brand, "HH-001", "ocpp1.6")
    await set_protocol(database, brand, "KI-001", "ocpp2.0.1")
    await connect(database, brand, "KI-001", datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    return ids, locations


# -- the list -----------------------------------------------------------------------------
async def test_the_list_filters_by_search_registration_connection_and_protocol(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        everything = await client.get("/portal/stations", headers=HTML)
        by_city = await client.get("/portal/stations?q=kiel", headers=HTML)
        by_name = await client.get("/portal/stations?q=harbour", headers=HTML)
        by_id = await client.get("/portal/stations?q=ki-002", headers=HTML)
        pending = await client.get("/portal/stations?registration=Pending", headers=HTML)
        online = await client.get("/portal/stations?connectivity=online", headers=HTML)
        offline = await client.get("/portal/stations?connectivity=offline", headers=HTML)
        v16 = await client.get("/portal/stations?protocol=ocpp1.6", headers=HTML)
        nothing = await client.get("/portal/stations?q=%25", headers=HTML)
        fragment = await client.get(
            "/portal/stations?q=kiel", headers={**HTML, "HX-Request": "true"}
        )
        bad = await client.get("/portal/stations?connectivity=sometimes", headers=HTML)
    assert station_rows(everything.text) == ["HH-001", "KI-001", "KI-002", "NEW-77"]
    assert station_rows(by_city.text) == ["KI-001", "KI-002"]
    assert station_rows(by_name.text) == ["HH-001"]
    assert station_rows(by_id.text) == ["KI-002"]
    assert station_rows(pending.text) == ["NEW-77"]
    assert station_rows(online.text) == ["KI-001"]
    assert station_rows(offline.text) == ["HH-001", "KI-002", "NEW-77"]
    assert station_rows(v16.text) == ["HH-001"]
    assert station_rows(nothing.text) == []
    assert "No station matches these filters." in nothing.text
    assert station_rows(fragment.text) == ["KI-001", "KI-002"]
    assert "<h1>" not in fragment.text
    assert '<a class="csv" href="?q=kiel&amp;format=csv" download>' in by_city.text
    assert bad.status_code == 400
    row = everything.text.split('<tr data-station-id="KI-001">')[1].split("</tr>")[0]
    assert '<span class="badge good">Online</span>' in row
    assert "Elbe mall, Kiel" in row
    assert "No location yet" in everything.text.split('data-station-id="NEW-77"')[1]


async def test_the_csv_keeps_the_filters(database: Database, make_brand, client_for):
    brand = await make_brand()
    await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        response = await client.get("/portal/stations?q=kiel&page=2&format=csv", headers=HTML)
        pending = await client.get("/portal/stations?registration=Pending&format=csv")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="stations.csv"'
    assert response.text.split("\r\n") == [
        "station_id,location,city,vendor,model,protocol,evses,connectors,max_power_w,"
        "security_profile,registration",
        "KI-001,Elbe mall,Kiel,,,ocpp2.0.1,1,1,22000,2,Accepted",
        "KI-002,Elbe mall,Kiel,,,,1,1,22000,2,Accepted",
        "",
    ]
    assert pending.text.split("\r\n")[1:] == ["NEW-77,,,,,,0,0,,1,Pending", ""]


async def test_a_role_without_stations_read_is_refused(database: Database, make_brand, client_for):
    brand = await make_brand()
    ids, _ = await network(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = await add_fleet_account(db_session)
        await add_user(
            db_session, "fleet@example.com", PASSWORD, Role.FLEET_MANAGER, fleet_account_id=fleet.id
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "fleet@example.com", PASSWORD)
        listing = await client.get("/portal/stations", headers=HTML)
        page = await client.get(f"/portal/stations/{ids['HH-001']}", headers=HTML)
        log = await client.get(f"/portal/stations/{ids['HH-001']}/messages", headers=HTML)
    assert [listing.status_code, page.status_code, log.status_code] == [403, 403, 403]


async def test_every_page_of_every_station_opens_for_writers_and_readers(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    ids, locations = await network(database, brand)
    pages = ["", "/live", "/messages", "/commands", "/edit", "/evses/new"]
    for email, writes in (("ops@example.com", True), ("viewer@example.com", False)):
        async with client_for(f"{brand.slug}.localhost") as client:
            await sign_in(client, email, PASSWORD)
            statuses = {}
            for station_id, pk in ids.items():
                for path in pages:
                    for headers in (HTML, {**HTML, "HX-Request": "true"}):
                        response = await client.get(f"/portal/stations/{pk}{path}", headers=headers)
                        statuses[station_id, path, "HX-Request" in headers] = response.status_code
            for path in (
                "/portal/stations",
                "/portal/stations/new",
                f"/portal/stations/new/station?location_id={locations['depot']}&evses=3",
            ):
                response = await client.get(path, headers=HTML)
                statuses["-", path, False] = response.status_code
        write_only = {"/edit", "/evses/new", "/portal/stations/new"}
        expected = {
            key: 403
            if not writes and (key[1] in write_only or key[1].startswith("/portal/stations/new"))
            else 200
            for key in statuses
        }
        assert statuses == expected, email


# -- approval -----------------------------------------------------------------------------
async def test_a_pending_station_is_approved_at_a_location(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    ids, locations = await network(database, brand)
    station = f"/portal/stations/{ids['NEW-77']}"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        listing = await client.get("/portal/stations?registration=Pending", headers=HTML)
        waiting = await client.get(station, headers=HTML)
        token = csrf_token(listing.text)
        missing = await client.post(f"{station}/approve", data={"_csrf_token": token}, headers=HTML)
        unknown = await client.post(
            f"{station}/approve",
            data={"_csrf_token": token, "location_id": str(uuid.uuid4())},
            headers=HTML,
        )
        approved = await client.post(
            f"{station}/approve",
            data={"_csrf_token": token, "location_id": str(locations["mall"])},
            headers=HTML,
        )
        again = await client.post(
            f"{station}/approve",
            data={"_csrf_token": token, "location_id": str(locations["mall"])},
            headers=HTML,
        )
        page = await client.get(station, headers=HTML)
    assert f'action="{station}/approve"' in listing.text
    assert waiting.status_code == 200
    assert f'<form method="post" action="{station}/approve"' in waiting.text
    assert f'<option value="{locations["mall"]}" >Elbe mall, Kiel</option>' in waiting.text
    assert missing.status_code == 400
    assert field_error(missing.text, "location_id") == "This field is required."
    assert unknown.status_code == 400
    assert field_error(unknown.text, "location_id").startswith("No location ")
    assert (approved.status_code, approved.headers["location"]) == (303, station)
    assert again.status_code == 400
    assert form_error(again.text) == "Station NEW-77 is Accepted, not waiting for approval."
    assert "Awaiting approval" not in page.text
    async with database.tenant_session(brand.key) as db_session:
        stored = await db_session.get(ChargingStation, ids["NEW-77"])
        assert stored is not None
        assert (stored.registration_status.value, stored.location_id) == (
            "Accepted",
            locations["mall"],
        )
    assert await audits(database, brand) == [
        (
            "portal.station.approve",
            "ops@example.com",
            {"station_id": "NEW-77", "location_id": str(locations["mall"])},
        )
    ]


async def test_a_read_only_role_cannot_write(database: Database, make_brand, client_for):
    brand = await make_brand()
    ids, locations = await network(database, brand)
    station = f"/portal/stations/{ids['NEW-77']}"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        page = await client.get(station, headers=HTML)
        token = csrf_token(page.text)
        approve = await client.post(
            f"{station}/approve",
            data={"_csrf_token": token, "location_id": str(locations["mall"])},
            headers=HTML,
        )
        password = await client.post(
            f"{station}/password", data={"_csrf_token": token}, headers=HTML
        )
        command = await client.post(
            f"/portal/stations/{ids['HH-001']}/commands/clear-cache",
            data={"_csrf_token": token},
            headers=HTML,
        )
        evse = await client.post(f"{station}/evses/new", data={"_csrf_token": token}, headers=HTML)
        edit = await client.get(f"{station}/edit", headers=HTML)
        change = await client.post(
            f"{station}/edit", data={"_csrf_token": token, "vendor": "X"}, headers=HTML
        )
        wizard = await client.get("/portal/stations/new", headers=HTML)
        create = await client.post(
            "/portal/stations/new", data={"_csrf_token": token, "location": "new"}, headers=HTML
        )
    assert page.status_code == 200
    assert f'action="{station}/approve"' not in page.text
    assert "Set a new password" not in page.text
    assert [approve.status_code, password.status_code, command.status_code] == [403, 403, 403]
    assert [wizard.status_code, create.status_code] == [403, 403]
    assert [edit.status_code, change.status_code, evse.status_code] == [403, 403, 403]
    assert "Change the station" not in page.text
    assert await audits(database, brand) == []
    assert await count(database, brand, StationCommand) == 0


# -- the station page ---------------------------------------------------------------------
async def test_the_station_page_shows_identity_connectors_events_and_configuration(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    ids, _ = await network(database, brand)
    at = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    async with database.tenant_transaction(brand.key) as db_session:
        await operations.record_boot(
            db_session,
            ids["HH-001"],
            protocol="ocpp1.6",
            vendor="Alfen",
            model="Eve Double",
            serial_number="ACE0001",
            firmware_version="6.1.2",
            info={},
        )
        await operations.record_status(
            db_session,
            ids["HH-001"],
            evse_id=2,
            connector_id=1,
            status="Faulted",
            at=at,
            error_code="GroundFailure",
            payload={"connectorId": 2, "status": "Faulted", "errorCode": "GroundFailure"},
        )
        await operations.record_event(
            db_session,
            ids["HH-001"],
            kind="firmware",
            action="FirmwareStatusNotification",
            at=at,
            payload={"status": "Installed"},
        )
        await operations.record_event(
            db_session,
            ids["HH-001"],
            kind="security",
            action="SecurityEventNotification",
            at=at + timedelta(minutes=1),
            payload={"type": "TamperDetectionActivated", "timestamp": "2026-11-24T09:31:00Z"},
        )
        db_session.add(
            StationCommand(
                charging_station_id=ids["HH-001"],
                station_id="HH-001",
                action="GetConfiguration",
                payload={},
                status=CommandStatus.ACCEPTED,
                response={
                    "configurationKey": [
                        {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                        {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
                    ]
                },
                deadline_at=at,
                completed_at=at,
            )
        )
        db_session.add(
            OcppFrame(
                charging_station_id=ids["HH-001"],
                station_id="HH-001",
                direction="in",
                message_type=2,
                message_id="1",
                action="Heartbeat",
                raw='[2,"1","Heartbeat",{}]',
                at=at,
            )
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/stations/{ids['HH-001']}", headers=HTML)
        live = await client.get(f"/portal/stations/{ids['HH-001']}/live", headers=HTML)
        online = await client.get(f"/portal/stations/{ids['KI-001']}/live", headers=HTML)
        never = await client.get(f"/portal/stations/{ids['KI-002']}/live", headers=HTML)
    assert page.status_code == 200
    text = page.text
    for shown in (
        "<dd>Alfen</dd>",
        "<dd>Eve Double</dd>",
        "<dd>ACE0001</dd>",
        "<dd>6.1.2</dd>",
        "<dd>ocpp1.6</dd>",
        '<code data-testid="ocpp-url">'
        f"wss://{brand.slug}.localhost:9443/ocpp/{brand.key}/HH-001</code>",
        "<dd>Harbour depot</dd>",
    ):
        assert shown in text
    assert 'hx-get="/portal/stations/' in text
    assert 'hx-trigger="every 5s"' in text
    faulted = live.text.split('data-connector="2-1"')[1].split("</tr>")[0]
    assert '<span class="status status-faulted">Faulted</span>' in faulted
    assert "24 Nov 2026, 10:30:00" in faulted  # Europe/Berlin
    assert "<td>GroundFailure</td>" in faulted
    assert '<span class="status status-unknown">Unknown</span>' in live.text
    assert "last heard from at 24 Nov 2026, 10:30:00" in live.text
    assert "<h1>" not in live.text
    assert '<span class="badge good">Online</span> since 24 Nov 2026, 09:00:00' in online.text
    assert "never connected" in never.text
    events = re.findall(
        r'<tr data-event-kind="([a-z]+)">\s*<td>[^<]*</td>\s*<td>(\w+)</td>'
        r'\s*<th scope="row">(\w+)</th>',
        text,
    )
    assert events == [
        ("security", "Security", "SecurityEventNotification"),
        ("firmware", "Firmware", "FirmwareStatusNotification"),
    ]
    assert "As reported by GetConfiguration at 24 Nov 2026, 10:30:00." in text
    configuration = text.split('id="configuration-title"')[1]
    config = re.findall(
        r'<th scope="row">(\w+)</th>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>', configuration
    )
    assert config == [
        ("HeartbeatInterval", "300", "Writable"),
        ("NumberOfConnectors", "2", "Read only"),
    ]


async def test_a_20_station_shows_its_newest_device_model_report(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    ids, _ = await network(database, brand)
    at = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def report(request_id: int, seq: int, name: str, value: str) -> dict:
        return {
            "requestId": request_id,
            "generatedAt": "2026-11-24T09:00:00Z",
            "seqNo": seq,
            "reportData": [
                {
                    "component": {"name": "OCPPCommCtrlr"},
                    "variable": {"name": name},
                    "variableAttribute": [{"value": value, "mutability": "ReadWrite"}],
                }
            ],
        }

    async with database.tenant_transaction(brand.key) as db_session:
        for when, payload in (
            (at, report(1, 0, "HeartbeatInterval", "60")),
            (at + timedelta(minutes=5), report(2, 1, "WebSocketPingInterval", "30")),
            (at + timedelta(minutes=5), report(2, 0, "HeartbeatInterval", "300")),
        ):
            await operations.record_event(
                db_session,
                ids["KI-001"],
                kind="report",
                action="NotifyReport",
                at=when,
                payload=payload,
            )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/stations/{ids['KI-001']}", headers=HTML)
    config = re.findall(
        r'<td>(OCPPCommCtrlr)</td>\s*<th scope="row">(\w+)</th>\s*<td>([^<]*)</td>\s*'
        r"<td>([^<]*)</td>",
        page.text,
    )
    assert config == [
        ("OCPPCommCtrlr", "HeartbeatInterval", "300", "Writable"),
        ("OCPPCommCtrlr", "WebSocketPingInterval", "30", "Writable"),
    ]
    assert "As reported by NotifyReport at 24 Nov 2026, 10:05:00." in page.text


# -- the message log ----------------------------------------------------------------------
async def test_the_message_log_filters_pages_and_exports(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    ids, _ = await network(database, brand)
    start = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
    async with database.tenant_transaction(brand.key) as db_session:
        for n in range(30):
            db_session.add(
                OcppFrame(
                    charging_station_id=ids["HH-001"],
                    station_id="HH-001",
                    direction="in" if n % 2 == 0 else "out",
                    message_type=2 if n % 2 == 0 else 3,
                    message_id=str(n // 2),
                    action="Heartbeat" if n % 2 == 0 else None,
                    raw=f'[2,"{n // 2}","Heartbeat",{{}}]'
                    if n % 2 == 0
                    else f'[3,"{n // 2}",{{}}]',
                    at=start + timedelta(minutes=n),
                )
            )
        db_session.add(
            OcppFrame(
                charging_station_id=ids["KI-001"],
                station_id="KI-001",
                direction="in",
                message_type=2,
                message_id="x",
                action="Heartbeat",
                raw='[2,"x","Heartbeat",{}]',
                at=start,
            )
        )
    base = f"/portal/stations/{ids['HH-001']}/messages"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        first = await client.get(base, headers=HTML)
        second = await client.get(f"{base}?page=2", headers=HTML)
        incoming = await client.get(f"{base}?direction=in&action=Heartbeat", headers=HTML)
        # 08:10 to 08:13 Berlin time = 07:10 to 07:13 UTC.
        window = await client.get(
            f"{base}?since=2026-11-24T08:10&until=2026-11-24T08:13", headers=HTML
        )
        bad = await client.get(f"{base}?since=yesterday", headers=HTML)
        exported = await client.get(f"{base}?direction=out&format=csv", headers=HTML)
    frames = re.compile(r'<tr data-frame-id="(\d+)">')
    assert len(frames.findall(first.text)) == 25
    assert len(frames.findall(second.text)) == 5
    assert 'rel="next"' in first.text
    assert 'rel="next"' not in second.text
    assert len(frames.findall(incoming.text)) == 15
    assert "out →" not in incoming.text
    assert re.findall(r"<td>24 Nov 2026, (\d\d:\d\d):00</td>", window.text) == [
        "08:12",
        "08:11",
        "08:10",
    ]
    assert bad.status_code == 400
    assert field_error(bad.text, "since") == "Enter a date and time."
    lines = exported.text.split("\r\n")
    assert exported.headers["content-disposition"] == ('attachment; filename="HH-001-messages.csv"')
    assert lines[0] == "at,direction,message_type,message_id,action,error_code,latency_ms,raw"
    assert lines[1] == '2026-11-24T07:29:00+00:00,out,3,14,,,,"[3,""14"",{}]"'
    assert len(lines) == 17  # header, 15 frames, the final line break


# -- commands -----------------------------------------------------------------------------
async def test_a_command_to_a_disconnected_station_is_recorded_offline_and_audited(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    ids, _ = await network(database, brand)
    base = f"/portal/stations/{ids['HH-001']}/commands"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(base, headers=HTML)
        token = csrf_token(page.text)
        sent = await client.post(
            f"{base}/unlock-connector",
            data={"_csrf_token": token, "evse_id": "2", "connector_id": "1"},
            headers=HTML,
        )
        after = await client.get(base, headers=HTML)
        exported = await client.get(f"{base}?format=csv", headers=HTML)
    async with database.tenant_session(brand.key) as db_session:
        [command] = list(await db_session.scalars(select(StationCommand)))
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{base}#command-{command.id}"
    assert (command.action, command.payload, command.status, command.requested_by) == (
        "UnlockConnector",
        {"connectorId": 2},
        CommandStatus.OFFLINE,
        "ops@example.com",
    )
    row = after.text.split(f'<tr id="command-{command.id}"')[1].split("</tr>")[0]
    assert '<th scope="row">UnlockConnector</th>' in row
    assert "Station offline" in row
    assert "The station is not connected." in row
    assert exported.text.split("\r\n")[0] == (
        "created_at,action,payload,status,response,error,requested_by,completed_at"
    )
    assert exported.text.split("\r\n")[1] == (
        f'{command.created_at.isoformat()},UnlockConnector,"{{""connectorId"": 2}}",offline,,'
        f"The station is not connected.,ops@example.com,{command.completed_at.isoformat()}"
    )
    assert await audits(database, brand) == [
        (
            "portal.station.command",
            "ops@example.com",
            {
                "station_id": "HH-001",
                "command": "unlock-connector",
                "action": "UnlockConnector",
                "command_id": str(command.id),
                "status": "offline",
            },
        )
    ]


async def test_a_bad_command_form_is_refused_and_sends_nothing(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    ids, _ = await network(database, brand)
    base = f"/portal/stations/{ids['HH-001']}/commands"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        offered = await client.get(base, headers=HTML)
        token = csrf_token(offered.text)
        missing = await client.post(
            f"{base}/unlock-connector",
            data={"_csrf_token": token, "evse_id": "", "connector_id": "0"},
            headers=HTML,
        )
        only_2x = await client.post(
            f"{base}/get-variables",
            data={"_csrf_token": token, "component": "OCPPCommCtrlr", "variable": "X"},
            headers=HTML,
        )
        secret = await client.post(
            f"{base}/change-configuration",
            data={"_csrf_token": token, "key": "AuthorizationKey", "value": "s" * 20},
            headers=HTML,
        )
        unknown = await client.post(f"{base}/self-destruct", data={"_csrf_token": token})
        never = await client.post(
            f"/portal/stations/{ids['KI-002']}/commands/clear-cache",
            data={"_csrf_token": token},
            headers=HTML,
        )
    assert missing.status_code == 400
    assert field_error(missing.text, "unlock-connector-evse_id") == "This field is required."
    assert field_error(missing.text, "unlock-connector-connector_id") == (
        "Enter a whole number of at least 1."
    )
    assert 'id="unlock-connector-connector_id" name="connector_id" value="0"' in missing.text
    assert '<details class="command" id="send-unlock-connector" open>' in missing.text
    assert 'id="send-get-configuration"' in offered.text
    assert 'id="send-get-variables"' not in offered.text
    assert only_2x.status_code == 400
    assert form_error(only_2x.text) == "GetVariables is not available on OCPP 1.6."
    assert 'value="OCPPCommCtrlr"' in only_2x.text
    assert secret.status_code == 400
    assert form_error(secret.text) == (
        "The station's password changes only with “Set a new password”."
    )
    assert unknown.status_code == 404
    assert never.status_code == 400
    assert form_error(never.text) == (
        "the station has not connected yet, so its OCPP version is unknown."
    )
    assert await count(database, brand, StationCommand) == 0
    assert await audits(database, brand) == []


async def test_a_connected_station_answers_and_its_configuration_shows(
    database: Database,
    make_brand,
    app,
    charger,  # noqa: F811 - the fixture imported above
):
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
        depot = await add_location(db_session, "Harbour depot")
        station, _ = await stations.create_station(
            db_session,
            depot,
            StationCreate(station_id="CP16", evses=ac_evse(), security_profile=1),
            password=STATION_PASSWORD,
        )
    cp = await charger(brand, "CP16", "ocpp1.6")
    base = f"/portal/stations/{station.id}"
    # A client in the test's own loop, so the charger answers while the request waits.
    async with api_client(app, brand, None) as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        before = await client.get(base, headers=HTML)
        sent = await client.post(
            f"{base}/commands/get-configuration",
            data={"_csrf_token": csrf_token(before.text), "keys": "HeartbeatInterval, Nope"},
            headers=HTML,
        )
        commands = await client.get(f"{base}/commands", headers=HTML)
        after = await client.get(base, headers=HTML)
    assert '<span class="badge good">Online</span> since' in before.text
    assert "The station has not reported its configuration yet." in before.text
    assert sent.status_code == 303
    assert cp.behaviour.received == [("GetConfiguration", {"key": ["HeartbeatInterval", "Nope"]})]
    row = commands.text.split('data-command-status="accepted">')[1].split("</tr>")[0]
    assert '<th scope="row">GetConfiguration</th>' in row
    assert html.unescape(row).count('"unknownKey": ["Nope"]') == 1
    configuration = after.text.split('id="configuration-title"')[1]
    assert re.findall(
        r'<th scope="row">(\w+)</th>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>', configuration
    ) == [("HeartbeatInterval", "300", "Writable")]
    assert [(a, d["status"]) for a, _, d in await audits(database, brand)] == [
        ("portal.station.command", "accepted")
    ]


# -- changing a station --------------------------------------------------------------------
async def test_a_station_is_moved_and_renamed_and_its_profile_changed(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    ids, locations = await network(database, brand)
    edit = f"/portal/stations/{ids['HH-001']}/edit"
    form = {
        "location_id": str(locations["mall"]),
        "security_profile": "2",
        "vendor": "Alfen",
        "model": "Eve Single",
        "serial_number": "",
    }
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(edit, headers=HTML)
        token = csrf_token(page.text)
        bad = await client.post(
            edit,
            data={**form, "_csrf_token": token, "location_id": "", "security_profile": "9"},
            headers=HTML,
        )
        saved = await client.post(edit, data={**form, "_csrf_token": token}, headers=HTML)
        to_three = await client.post(
            edit, data={**form, "_csrf_token": token, "security_profile": "3"}, headers=HTML
        )
        async with database.tenant_session(brand.key) as db_session:
            three = await db_session.get(ChargingStation, ids["HH-001"])
            assert three is not None
            hash_at_three = three.password_hash
        back_to_one = await client.post(
            edit, data={**form, "_csrf_token": token, "security_profile": "1"}, headers=HTML
        )
    assert page.status_code == 200
    assert f'<option value="{locations["depot"]}" selected>' in page.text
    assert bad.status_code == 400
    assert field_error(bad.text, "location_id") == "This field is required."
    assert field_error(bad.text, "security_profile") == "Choose one of the options."
    assert 'id="model" name="model" value="Eve Single"' in bad.text
    assert (saved.status_code, saved.headers["location"]) == (
        303,
        f"/portal/stations/{ids['HH-001']}",
    )
    assert to_three.status_code == 303
    assert hash_at_three is None
    assert back_to_one.status_code == 200
    assert back_to_one.headers["cache-control"] == "no-store"
    match = re.search(r'<code data-testid="station-password">([^<]+)</code>', back_to_one.text)
    assert match is not None
    async with database.tenant_session(brand.key) as db_session:
        stored = await db_session.get(ChargingStation, ids["HH-001"])
        assert stored is not None
        assert stored.password_hash is not None
        assert verify_station_password(stored.password_hash, match.group(1))
        assert (stored.location_id, stored.vendor, stored.model, stored.serial_number) == (
            locations["mall"],
            "Alfen",
            "Eve Single",
            None,
        )
    assert [(a, d.get("security_profile")) for a, _, d in await audits(database, brand)] == [
        ("portal.station.update", 2),
        ("portal.station.update", 3),
        ("portal.station.update", 1),
    ]


async def test_an_evse_is_added_to_a_station_in_service(database: Database, make_brand, client_for):
    brand = await make_brand()
    ids, _ = await network(database, brand)
    add = f"/portal/stations/{ids['HH-001']}/evses/new"
    connector = {
        "connectors": "2",
        "evse1_c1_standard": "IEC_62196_T2_COMBO",
        "evse1_c1_format": "CABLE",
        "evse1_c1_power_type": "DC",
        "evse1_c1_max_voltage": "920",
        "evse1_c1_max_amperage": "200",
        "evse1_c1_max_electric_power": "150000",
        "evse1_c2_standard": "CHADEMO",
        "evse1_c2_format": "CABLE",
        "evse1_c2_power_type": "DC",
        "evse1_c2_max_voltage": "500",
        "evse1_c2_max_amperage": "125",
        "evse1_c2_max_electric_power": "",
    }
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        form = await client.get(f"{add}?connectors=2", headers=HTML)
        token = csrf_token(form.text)
        bad = await client.post(
            add,
            data={**connector, "_csrf_token": token, "evse1_c2_power_type": "NUCLEAR"},
            headers=HTML,
        )
        added = await client.post(add, data={**connector, "_csrf_token": token}, headers=HTML)
        live = await client.get(f"/portal/stations/{ids['HH-001']}/live", headers=HTML)
    assert 'name="evse1_c2_max_voltage"' in form.text
    assert bad.status_code == 400
    assert field_error(bad.text, "evse1_c2_power_type") == "Choose one of the options."
    assert (added.status_code, added.headers["location"]) == (
        303,
        f"/portal/stations/{ids['HH-001']}",
    )
    assert re.findall(r'data-connector="(\d-\d)"', live.text) == ["1-1", "2-1", "3-1", "3-2"]
    assert "<td>CHAdeMO · Attached cable</td>" in live.text
    assert await audits(database, brand) == [
        (
            "portal.station.evse_add",
            "ops@example.com",
            {"station_id": "HH-001", "evse_id": 3, "connectors": 2},
        )
    ]


SAMPLES = {
    "id_token": "RFID0001",
    "transaction_id": "42",
    "keys": "HeartbeatInterval, MeterValueSampleInterval",
    "key": "HeartbeatInterval",
    "value": "300",
    "component": "OCPPCommCtrlr",
    "variable": "HeartbeatInterval",
    "location": "https://firmware.example/fw-6.2.bin",
    "retrieve_at": "2026-12-01T10:00",
    "expires_at": "2026-12-01T10:30",
}


def test_every_command_form_builds_a_call_the_ocpp_schemas_accept() -> None:
    translator = OcppTranslator()
    accepted: dict[str, list[str]] = {}
    for spec in COMMAND_FORMS:
        sent = {
            f.name: SAMPLES.get(f.name) or f.default or ("1" if f.kind == "int" else "x")
            for f in spec.fields
        }
        form = read_form(spec.fields, sent, zone=ZoneInfo("Europe/Berlin"))
        assert form.errors == {}, spec.name
        command = spec.build(form.values)
        for protocol in ("ocpp1.6", "ocpp2.0.1", "ocpp2.1"):
            try:
                translator.translate(protocol, command)
            except UnsupportedCommandError:
                continue
            accepted.setdefault(spec.name, []).append(protocol)
    assert accepted == {spec.name: list(spec.versions) for spec in COMMAND_FORMS}
    only_16 = ["ocpp1.6"]
    only_2x = ["ocpp2.0.1", "ocpp2.1"]
    every = ["ocpp1.6", *only_2x]
    assert accepted == {
        "reset": every,
        "unlock-connector": every,
        "change-availability": every,
        "trigger-message": every,
        "remote-start": every,
        "remote-stop": every,
        "get-configuration": only_16,
        "change-configuration": only_16,
        "get-base-report": only_2x,
        "get-variables": only_2x,
        "set-variables": only_2x,
        "clear-cache": every,
        "get-local-list-version": every,
        "update-firmware": every,
        "get-log": every,
        "reserve-now": every,
        "cancel-reservation": every,
        "get-composite-schedule": every,
        "clear-charging-profile": every,
    }


# -- a new password -----------------------------------------------------------------------
async def test_a_new_password_is_shown_once_and_stored_hashed(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    ids, _ = await network(database, brand)
    station = f"/portal/stations/{ids['KI-002']}"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(station, headers=HTML)
        token = csrf_token(page.text)
        unconfirmed = await client.post(
            f"{station}/password", data={"_csrf_token": token}, headers=HTML
        )
        answer = await client.post(
            f"{station}/password", data={"_csrf_token": token, "confirm": "yes"}, headers=HTML
        )
        later = await client.get(station, headers=HTML)
    match = re.search(r'<code data-testid="station-password">([^<]+)</code>', answer.text)
    assert match is not None
    password = match.group(1)
    assert unconfirmed.status_code == 400
    assert field_error(unconfirmed.text, "confirm") == "Tick the box to confirm."
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert len(password) == 32
    assert password not in later.text
    async with database.tenant_session(brand.key) as db_session:
        stored = await db_session.get(ChargingStation, ids["KI-002"])
        assert stored is not None
        assert stored.password_hash is not None
        assert verify_station_password(stored.password_hash, password)
    assert await audits(database, brand) == [
        ("portal.station.password_set", "ops@example.com", {"station_id": "KI-002"})
    ]


# -- onboarding ---------------------------------------------------------------------------
def location_form(token: str, **overrides: str) -> dict[str, str]:
    return {
        "_csrf_token": token,
        "location": "new",
        "name": "Airport P3",
        "address": "Flughafenstraße 1",
        "postal_code": "22335",
        "city": "Hamburg",
        "country": "DEU",
        "latitude": "53.6304",
        "longitude": "10.0065",
        "timezone": "Europe/Berlin",
    } | overrides


def station_form(token: str, location_id: uuid.UUID, **overrides: str) -> dict[str, str]:
    data = {
        "_csrf_token": token,
        "location_id": str(location_id),
        "evses": "2",
        "connectors": "1",
        "station_id": "HH-NEW",
        "security_profile": "2",
        "vendor": "Alfen",
        "model": "",
        "serial_number": "",
    }
    for evse, power in ((1, "22000"), (2, "")):
        prefix = f"evse{evse}_c1_"
        data |= {
            prefix + "standard": "IEC_62196_T2",
            prefix + "format": "SOCKET",
            prefix + "power_type": "AC_3_PHASE",
            prefix + "max_voltage": "400",
            prefix + "max_amperage": "32",
            prefix + "max_electric_power": power,
        }
    return data | overrides


async def test_the_wizard_creates_a_location_and_a_station_and_shows_its_password_once(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        step1 = await client.get("/portal/stations/new", headers=HTML)
        token = csrf_token(step1.text)
        location = await client.post(
            "/portal/stations/new",
            data=location_form(token, country="deu"),
            headers=HTML,
        )
        step2_url = location.headers["location"]
        step2 = await client.get(step2_url + "&evses=2", headers=HTML)
        async with database.tenant_session(brand.key) as db_session:
            airport = await db_session.scalar(select(Location).where(Location.name == "Airport P3"))
        assert airport is not None
        created = await client.post(
            "/portal/stations/new/station", data=station_form(token, airport.id), headers=HTML
        )
    assert step1.status_code == 200
    # Choosing an existing location must not need the new location's fields.
    assert re.search(r'id="location-name"[^>]*required', step1.text) is None
    assert location.status_code == 303
    assert step2_url == f"/portal/stations/new/station?location_id={airport.id}"
    assert step2.status_code == 200
    assert 'name="evse2_c1_max_voltage"' in step2.text
    assert 'name="evse3_c1_max_voltage"' not in step2.text
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    assert (
        f'<code data-testid="ocpp-url">wss://{brand.slug}.localhost:9443/ocpp/{brand.key}/HH-NEW'
        "</code>"
    ) in created.text
    match = re.search(r'<code data-testid="station-password">([^<]+)</code>', created.text)
    assert match is not None
    async with database.tenant_session(brand.key) as db_session:
        station = await db_session.scalar(
            select(ChargingStation).where(ChargingStation.station_id == "HH-NEW")
        )
        assert station is not None
        assert station.password_hash is not None
        assert verify_station_password(station.password_hash, match.group(1))
        assert (station.location_id, station.vendor, station.security_profile) == (
            airport.id,
            "Alfen",
            2,
        )
        powers = list(
            await db_session.scalars(
                select(Connector.max_electric_power)
                .join(Connector.evse)
                .where(Connector.evse.has(charging_station_id=station.id))
                .order_by(Connector.created_at)
            )
        )
        assert sorted(powers, key=lambda p: p or 0) == [None, 22000]
        assert airport.country == "DEU"
    assert [(a, e) for a, e, _ in await audits(database, brand)] == [
        ("portal.location.create", "ops@example.com"),
        ("portal.station.create", "ops@example.com"),
    ]


async def test_the_wizard_keeps_bad_input_beside_its_field_and_writes_nothing(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    _, locations = await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        token = csrf_token((await client.get("/portal/stations/new", headers=HTML)).text)
        no_choice = await client.post(
            "/portal/stations/new", data={"_csrf_token": token}, headers=HTML
        )
        bad_location = await client.post(
            "/portal/stations/new",
            data=location_form(token, latitude="north", timezone="Mars/Olympus"),
            headers=HTML,
        )
        bad_zone = await client.post(
            "/portal/stations/new",
            data=location_form(token, latitude="53.6", timezone="Mars/Olympus"),
            headers=HTML,
        )
        chosen = await client.post(
            "/portal/stations/new",
            data={"_csrf_token": token, "location": str(locations["depot"])},
            headers=HTML,
        )
        duplicate = await client.post(
            "/portal/stations/new/station",
            data=station_form(token, locations["depot"], station_id="HH-001"),
            headers=HTML,
        )
        invalid = await client.post(
            "/portal/stations/new/station",
            data=station_form(token, locations["depot"], station_id="has space"),
            headers=HTML,
        )
        no_voltage = await client.post(
            "/portal/stations/new/station",
            data=station_form(token, locations["depot"], evse2_c1_max_voltage="-1"),
            headers=HTML,
        )
    assert no_choice.status_code == 400
    assert field_error(no_choice.text, "location") == "This field is required."
    assert bad_location.status_code == 400
    assert field_error(bad_location.text, "location-latitude") == "Enter a number."
    assert 'id="location-name" name="name" value="Airport P3"' in bad_location.text
    assert bad_zone.status_code == 400
    assert field_error(bad_zone.text, "location-timezone") == (
        "'Mars/Olympus' is not an IANA timezone."
    )
    assert chosen.headers["location"] == (
        f"/portal/stations/new/station?location_id={locations['depot']}"
    )
    assert duplicate.status_code == 400
    assert field_error(duplicate.text, "station_id") == "Station HH-001 already exists."
    assert invalid.status_code == 400
    assert field_error(invalid.text, "station_id") == (
        "Station id: 1-48 characters of letters, digits and *_.:+|@-."
    )
    assert 'value="has space"' in invalid.text
    assert no_voltage.status_code == 400
    assert field_error(no_voltage.text, "evse2_c1_max_voltage") == (
        "Enter a whole number of at least 1."
    )
    assert await count(database, brand, Location) == 2
    assert await count(database, brand, ChargingStation) == 4
    assert await audits(database, brand) == []


async def test_coordinates_are_typed_with_the_brands_decimal_comma_or_a_point(
    database: Database, make_brand, client_for
):
    german = await make_brand(locale="de_DE", locales=["de_DE"])
    english = await make_brand()
    for brand in (german, english):
        async with database.tenant_transaction(brand.key) as db_session:
            await add_user(db_session, "ops@example.com", PASSWORD)
    sent: dict[str, Any] = {}
    async with client_for(f"{german.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        token = csrf_token((await client.get("/portal/stations/new", headers=HTML)).text)
        for name, latitude, longitude in (
            ("Brandenburger Tor", "52,5163", "13,3777"),
            ("Hafen", "53.5461", "9.9661"),  # a point, as maps print them
            ("Südpol", "\u221290,0", "-180"),  # the typographic minus sign, the very edges
            ("Zugspitze", "47,42109999", "10,98530001"),  # rounded to the column's 7 places
            ("Nordkap", "95,0", "-180,5"),
            ("Tausend", "52.520,1", "13,4.05"),  # grouping is no coordinate; two separators
            ("Unsinn", "52,52,1", "1e2"),
        ):
            answer = await client.post(
                "/portal/stations/new",
                data=location_form(token, name=name, latitude=latitude, longitude=longitude),
                headers=HTML,
            )
            sent[name] = answer
    async with client_for(f"{english.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        token = csrf_token((await client.get("/portal/stations/new", headers=HTML)).text)
        comma_in_english = await client.post(
            "/portal/stations/new",
            data=location_form(token, latitude="52,5163", longitude="13.3777"),
            headers=HTML,
        )
    german_text = translations("de_DE").gettext
    assert {name: answer.status_code for name, answer in sent.items()} == {
        "Brandenburger Tor": 303,
        "Hafen": 303,
        "Südpol": 303,
        "Zugspitze": 303,
        "Nordkap": 400,
        "Tausend": 400,
        "Unsinn": 400,
    }
    assert [
        (
            field_error(sent[name].text, "location-latitude"),
            field_error(sent[name].text, "location-longitude"),
        )
        for name in ("Nordkap", "Tausend", "Unsinn")
    ] == [
        (
            german_text("Enter a latitude from -90 to 90."),
            german_text("Enter a longitude from -180 to 180."),
        ),
        (german_text("Enter a latitude from -90 to 90."), german_text("Enter a number.")),
        (german_text("Enter a number."), german_text("Enter a number.")),
    ]
    assert 'id="location-latitude" name="latitude" value="95,0"' in sent["Nordkap"].text
    assert comma_in_english.status_code == 400
    assert field_error(comma_in_english.text, "location-latitude") == "Enter a number."
    async with database.tenant_session(german.key) as db_session:
        stored = {
            name: (latitude, longitude)
            for name, latitude, longitude in (
                await db_session.execute(
                    select(Location.name, Location.latitude, Location.longitude)
                )
            ).all()
        }
    assert stored == {
        "Brandenburger Tor": (Decimal("52.5163000"), Decimal("13.3777000")),
        "Hafen": (Decimal("53.5461000"), Decimal("9.9661000")),
        "Südpol": (Decimal("-90.0000000"), Decimal("-180.0000000")),
        "Zugspitze": (Decimal("47.4211000"), Decimal("10.9853000")),
    }
    assert await count(database, english, Location) == 0


# -- another brand's ids --------------------------------------------------------------------
async def test_another_brands_station_and_location_are_not_found(
    database: Database, make_brand, client_for
):
    brand = await make_brand()
    other = await make_brand()
    await network(database, brand)
    their_ids, their_locations = await network(database, other)
    theirs = f"/portal/stations/{their_ids['NEW-77']}"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        token = csrf_token((await client.get("/portal/stations", headers=HTML)).text)
        answers = [
            await client.get(theirs, headers=HTML),
            await client.get(f"{theirs}/live", headers=HTML),
            await client.get(f"{theirs}/messages", headers=HTML),
            await client.get(f"{theirs}/commands", headers=HTML),
            await client.get(f"{theirs}/commands?format=csv", headers=HTML),
            await client.post(f"{theirs}/password", data={"_csrf_token": token}, headers=HTML),
            await client.get(f"{theirs}/edit", headers=HTML),
            await client.get(f"{theirs}/evses/new", headers=HTML),
            await client.post(f"{theirs}/evses/new", data={"_csrf_token": token}, headers=HTML),
            await client.post(
                f"{theirs}/edit",
                data={"_csrf_token": token, "location_id": str(their_locations["mall"])},
                headers=HTML,
            ),
            await client.post(
                f"{theirs}/commands/clear-cache", data={"_csrf_token": token}, headers=HTML
            ),
            await client.post(
                f"{theirs}/approve",
                data={"_csrf_token": token, "location_id": str(their_locations["mall"])},
                headers=HTML,
            ),
            await client.get(
                f"/portal/stations/new/station?location_id={their_locations['mall']}",
                headers=HTML,
            ),
        ]
        their_place = await client.post(
            "/portal/stations/new",
            data={"_csrf_token": token, "location": str(their_locations["mall"])},
            headers=HTML,
        )
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert their_place.status_code == 400
    assert field_error(their_place.text, "location") == "Choose one of the options."
    assert await audits(database, brand) == []
    assert await audits(database, other) == []
