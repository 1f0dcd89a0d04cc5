"""Sessions and CDRs in the portal: lists with filters and CSV, a session's curves and price,
the live figures of a running session, remote stop, and the CDR list."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from litestar import Litestar
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as Cp16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as Cp201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201
from sqlalchemy import select
from websockets.asyncio.client import connect

from tests.api.conftest import api_client
from tests.factories import add_fleet_account, add_location, add_session_16, add_station, add_user
from tests.ocpp.conftest import PASSWORD as STATION_PASSWORD
from tests.ocpp.conftest import add_ocpp_station, add_token, basic, gateway, url
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane import billing
from voltlane.billing import session_costs
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AuditEntry,
    Cdr,
    ChargingSession,
    IdToken,
    IdTokenType,
    Role,
    StationCommand,
)
from voltlane.ocpp.server import Gateway
from voltlane.portal import sessions as sessions_page
from voltlane.station.service import find_station
from voltlane.tariff import SegmentKind
from voltlane.tenancy import TenantInfo

__all__ = ["gateway"]

PASSWORD = "correct horse battery"
ENERGY_039 = {"type": "ENERGY", "price": "0.39", "vat": "19", "step_size": 1}
SESSION_FEE = {"type": "FLAT", "price": "0.50", "vat": "19", "step_size": 0}
SIGNED = {"signedMeterData": "OCMF|{}|{}", "encodingMethod": "OCMF"}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Network:
    finished: uuid.UUID  # RFID0001 (Mia Wagner), 7.25 kWh on 20 Nov, CDR no. 1
    late: uuid.UUID  # RFID0002, started 20 Nov 23:30 UTC = 21 Nov 00:30 in Berlin, CDR no. 2
    running: uuid.UUID  # RFID0002, charging since 24 Nov 08:00 UTC, 11 kWh so far


async def network(database: Database, brand: TenantInfo) -> Network:
    """Station CP-1 of a Berlin brand with three sessions, 0.39/kWh + 0.50 per session."""
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS)
        await add_user(db_session, "viewer@example.com", PASSWORD, Role.READ_ONLY)
        fleet = await add_fleet_account(db_session)
        await add_user(
            db_session, "fleet@example.com", PASSWORD, Role.FLEET_MANAGER, fleet_account_id=fleet.id
        )
        depot = await add_location(db_session, "Depot")
        station = await add_station(db_session, depot, "CP-1")
        db_session.add_all(
            [
                IdToken(id_token="RFID0001", type=IdTokenType.ISO14443, driver_name="Mia Wagner"),
                IdToken(id_token="RFID0002", type=IdTokenType.ISO14443),
            ]
        )
        await db_session.flush()
        await billing.create_tariff_version(
            db_session,
            definition={
                "id": "AC-STD",
                "currency": "EUR",
                "elements": [{"price_components": [ENERGY_039, SESSION_FEE]}],
            },
            segment=SegmentKind.PUBLIC,
            segment_ref=None,
            idle_fee=None,
            brand_currency="EUR",
            created_by="finance@example.com",
        )
        await billing.assign_tariff(db_session, "AC-STD")
        finished = await add_session_16(
            db_session,
            station,
            id_tag="RFID0001",
            started_at=utc("2026-11-20T09:00:00"),
            meter_start_wh=1_000_000,
            readings=((utc("2026-11-20T09:15:00"), 1_003_500, 14_000),),
            stop=(utc("2026-11-20T09:45:00"), 1_007_250, "EVDisconnected"),
            signed_data=SIGNED,
        )
        late = await add_session_16(
            db_session,
            station,
            id_tag="RFID0002",
            started_at=utc("2026-11-20T23:30:00"),
            meter_start_wh=2_000_000,
            stop=(utc("2026-11-21T00:30:00"), 2_011_000, "Local"),
        )
        running = await add_session_16(
            db_session,
            station,
            id_tag="RFID0002",
            started_at=utc("2026-11-24T08:00:00"),
            meter_start_wh=500_000,
            readings=(
                (utc("2026-11-24T08:15:00"), 505_500, None),
                (utc("2026-11-24T08:30:00"), 511_000, None),
            ),
        )
        for session_id in (finished, late):
            assert await billing.rate_session(db_session, session_id) is not None
    return Network(finished, late, running)


NOW = utc("2026-11-24T08:45:00")
ROW_RE = re.compile(r'<tr data-(?:session-id|cdr-number)="([^"]+)">(.*?)</tr>', re.S)
CELL_RE = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", re.S)
TAG_RE = re.compile(r"<[^>]+>")


def rows(html: str) -> list[list[str]]:
    """The table's rows as the text of their cells (the row's id first)."""
    return [
        [key, *(" ".join(TAG_RE.sub("", cell).split()) for cell in CELL_RE.findall(body))]
        for key, body in ROW_RE.findall(html)
    ]


def table(html: str, testid: str) -> list[list[str]]:
    """The body and footer rows of the table marked ``data-testid=testid``, as cell texts."""
    match = re.search(rf'data-testid="{testid}">(.*?)</table>', html, re.S)
    assert match is not None, f"no table {testid}"
    body = match.group(1).split("</thead>")[-1]
    return [
        [" ".join(TAG_RE.sub("", cell).split()) for cell in CELL_RE.findall(row)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)
    ]


def ids(html: str) -> list[str]:
    return [row[0] for row in rows(html)]


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages' clock: the running session has charged for 45 minutes."""
    monkeypatch.setattr(sessions_page, "utcnow", lambda: NOW)


async def request_stop(client: Any, session_id: uuid.UUID) -> Any:
    """Open the session's page and press its stop button (the form's CSRF token kept)."""
    page = await client.get(f"/portal/sessions/{session_id}", headers=HTML)
    return await client.post(
        f"/portal/sessions/{session_id}/stop",
        data={"_csrf_token": csrf_token(page.text)},
        headers=HTML,
    )


async def stored_commands(database: Database, brand: TenantInfo) -> list[StationCommand]:
    async with database.tenant_session(brand.key) as db_session:
        return list(await db_session.scalars(select(StationCommand)))


async def audit_entries(database: Database, brand: TenantInfo, action: str) -> list[AuditEntry]:
    async with database.tenant_session(brand.key) as db_session:
        return list(await db_session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_the_list_shows_running_sessions_first_with_driver_energy_and_cost(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    net = await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/sessions", headers=HTML)
        fragment = await client.get(
            "/portal/sessions?page=1", headers={**HTML, "HX-Request": "true"}
        )
    assert page.status_code == 200
    assert rows(page.text) == [
        [
            str(net.running),
            "24/11/2026, 09:00",
            "—",
            "CP-1 / 1 / 1",
            "RFID0002",
            "11.00 kWh",
            "0:45:00",
            "€5.70 so far",
            "Charging",
        ],
        [
            str(net.late),
            "21/11/2026, 00:30",
            "21/11/2026, 01:30",
            "CP-1 / 1 / 1",
            "RFID0002",
            "11.00 kWh",
            "1:00:00",
            "€5.70",
            "Finished",
        ],
        [
            str(net.finished),
            "20/11/2026, 10:00",
            "20/11/2026, 10:45",
            "CP-1 / 1 / 1",
            "RFID0001 (Mia Wagner)",
            "7.25 kWh",
            "0:45:00",
            "€3.96",
            "Finished",
        ],
    ]
    # A running session on the page: the table refreshes itself.
    assert '<div id="sessions-table"\nhx-get="?page=1" hx-trigger="every 5s">' in page.text
    assert '<a href="/portal/sessions" aria-current="page">Sessions</a>' in page.text
    assert fragment.text.lstrip().startswith('<div class="table-scroll">')
    assert rows(fragment.text) == rows(page.text)


async def test_filters_narrow_the_list_by_status_station_card_and_local_days(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    net = await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)

        async def listed(query: str) -> list[str]:
            response = await client.get(f"/portal/sessions?{query}", headers=HTML)
            assert response.status_code == 200, response.text
            return ids(response.text)

        running = await listed("status=active")
        finished = await listed("status=finished")
        by_card = await listed("id_token=rfid0001")
        by_station = await listed("station=cp-1")
        other_station = await listed("station=CP-9")
        # 20 Nov 23:30 UTC is 21 Nov 00:30 in Berlin: a day of the 21st, not the 20th.
        on_the_21st = await listed("from=2026-11-21&to=2026-11-21")
        on_the_20th = await listed("from=2026-11-20&to=2026-11-20")
        since_the_22nd = await listed("from=2026-11-22")
        kept = await client.get(
            "/portal/sessions?status=finished&id_token=RFID0002&from=2026-11-01", headers=HTML
        )
    assert running == [str(net.running)]
    assert finished == [str(net.late), str(net.finished)]
    assert by_card == [str(net.finished)]
    assert by_station == [str(net.running), str(net.late), str(net.finished)]
    assert other_station == []
    assert on_the_21st == [str(net.late)]
    assert on_the_20th == [str(net.finished)]
    assert since_the_22nd == [str(net.running)]
    assert ids(kept.text) == [str(net.late)]
    assert '<option value="finished" selected>Finished</option>' in kept.text
    assert 'name="id_token" type="text" value="RFID0002"' in kept.text
    assert (
        '<a class="csv" href="?status=finished&amp;id_token=RFID0002&amp;from=2026-11-01'
        '&amp;format=csv" download>' in kept.text
    )


async def test_a_bad_date_filter_is_refused_beside_its_field(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        bad_date = await client.get("/portal/sessions?from=2026-13-01&station=CP-1", headers=HTML)
        backwards = await client.get("/portal/sessions?from=2026-11-21&to=2026-11-20", headers=HTML)
        bad_status = await client.get("/portal/sessions?status=paused", headers=HTML)
        bad_csv = await client.get("/portal/sessions?to=yesterday&format=csv", headers=HTML)
        last_day = await client.get("/portal/sessions?to=9999-12-31", headers=HTML)
    assert bad_date.status_code == 400
    field = re.search(
        r'<div class="field has-error">\s*<label for="from">.*?</div>', bad_date.text, re.S
    )
    assert field is not None
    assert 'name="from" type="date" value="2026-13-01"' in field.group(0)
    assert '<p class="field-error" id="from-error">Enter a date as YYYY-MM-DD.</p>' in field.group(
        0
    )
    assert 'name="station" type="text" value="CP-1"' in bad_date.text
    assert ids(bad_date.text) == []
    assert backwards.status_code == 400
    assert (
        '<p class="field-error" id="to-error">The end date is before the start date.</p>'
        in backwards.text
    )
    assert last_day.status_code == 400
    assert '<p class="field-error" id="to-error">Enter a date as YYYY-MM-DD.</p>' in last_day.text
    assert bad_status.status_code == 400
    assert (
        '<p class="field-error" id="status-error">Choose charging or finished.</p>'
        in bad_status.text
    )
    assert (bad_csv.status_code, bad_csv.headers["content-type"]) == (
        400,
        "text/html; charset=utf-8",
    )


async def test_the_session_list_exports_csv_with_cost_in_minor_units(
    database: Database, make_brand, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Priced two sessions at a time: every row still gets its cost.
    monkeypatch.setattr(session_costs, "BATCH", 2)
    brand = await make_brand()
    net = await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        response = await client.get("/portal/sessions?format=csv", headers=HTML)
        filtered = await client.get("/portal/sessions?format=csv&status=active", headers=HTML)
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="sessions.csv"'
    assert response.text.split("\r\n") == [
        "session_id,transaction_id,status,started_at,stopped_at,stop_reason,station_id,evse_id,"
        "connector_id,id_token,driver,energy_kwh,duration_seconds,cost_incl_vat,currency,"
        "cost_source",
        f"{net.running},3,active,2026-11-24T08:00:00+00:00,,,CP-1,1,1,RFID0002,,11.000,2700,"
        "570,EUR,live",
        f"{net.late},2,finished,2026-11-20T23:30:00+00:00,2026-11-21T00:30:00+00:00,Local,"
        "CP-1,1,1,RFID0002,,11.000,3600,570,EUR,cdr",
        f"{net.finished},1,finished,2026-11-20T09:00:00+00:00,2026-11-20T09:45:00+00:00,"
        "EVDisconnected,CP-1,1,1,RFID0001,Mia Wagner,7.250,2700,396,EUR,cdr",
        "",
    ]
    assert filtered.text.split("\r\n")[1:] == [response.text.split("\r\n")[1], ""]


async def test_a_finished_session_shows_its_timeline_curves_cdr_and_signed_data(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    net = await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/sessions/{net.finished}", headers=HTML)
    html = page.text
    assert page.status_code == 200
    assert "<h1>Session 1 at CP-1</h1>" in html
    assert '<dd data-testid="live-energy">7.25 kWh</dd>' in html
    assert '<dd data-testid="live-power">14.0 kW</dd>' in html
    assert '<dd data-testid="live-duration">0:45:00</dd>' in html
    assert '<dd data-testid="live-cost">€3.96</dd>' in html
    assert 'hx-trigger="every 5s"' not in html  # nothing moves any more
    assert (
        '<dd data-testid="id-token">RFID0001 '
        '<span class="muted">RFID card (ISO 14443)</span> · Mia Wagner</dd>' in html
    )
    assert '<dd data-testid="signed">1 signed meter value</dd>' in html
    async with database.tenant_session(brand.key) as db_session:
        cdr = await db_session.scalar(select(Cdr).where(Cdr.session_id == net.finished))
    # The CDR carries the one signed reading, not the unsigned ones beside it.
    assert cdr is not None
    assert [entry["signed_data"] for entry in cdr.signed_data or []] == [SIGNED]
    timeline = re.search(r'<ol class="timeline" data-testid="timeline">(.*?)</ol>', html, re.S)
    assert timeline is not None
    events = [
        " ".join(TAG_RE.sub("", li).split())
        for li in re.findall(r"<li>(.*?)</li>", timeline.group(1), re.S)
    ]
    assert events[:2] == [
        "20 Nov 2026, 10:00:00 Started meter at 1,000,000 Wh",
        "20 Nov 2026, 10:45:00 Stopped, reason: EV unplugged",
    ]
    assert re.fullmatch(r"\d\d? \w{3} 2026, \d\d:\d\d:\d\d CDR no. 1 issued", events[2])
    # Energy from 0 to 7.25 kWh; power as measured (14 kW at 10:15).
    assert '<title id="energy-chart-title">Energy delivered</title>' in html
    assert (
        '<desc id="energy-chart-desc">Energy delivered since the start in kWh, 3 readings, '
        "7.25 kWh in total.</desc>"
    ) in html
    assert (
        'class="chart-line" aria-hidden="true" points="56.0,192.0 241.3,118.5 612.0,39.8"' in html
    )
    assert "<figcaption>Power (kW), as measured by the station</figcaption>" in html
    assert re.search(r"CDR no. 1 of [^,]+, \d\d:\d\d, tariff AC-STD, segment Members", html)
    assert table(html, "price-lines") == [
        ["Energy", "7.250 kWh", "€0.39 / kWh", "19 %", "€2.83", "€0.54", "€3.37"],
        ["Session fee", "1", "€0.50", "19 %", "€0.50", "€0.09", "€0.59"],
        ["VAT 19 % on €3.33", "", "€0.63", ""],
        ["Total", "€3.33", "€0.63", "€3.96"],
    ]
    assert "Stop this session" not in html
    assert "No remote stop was sent for this session." in html


async def test_a_running_session_shows_its_cost_so_far_and_refreshes_every_5_seconds(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    net = await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/sessions/{net.running}", headers=HTML)
        live = await client.get(
            f"/portal/sessions/{net.running}/live", headers={**HTML, "HX-Request": "true"}
        )
        ended = await client.get(
            f"/portal/sessions/{net.finished}/live", headers={**HTML, "HX-Request": "true"}
        )
    assert page.status_code == 200
    assert (
        f'hx-get="/portal/sessions/{net.running}/live" hx-trigger="every 5s" hx-swap="outerHTML"'
    ) in page.text
    assert '<dd data-testid="status">Charging</dd>' in page.text
    assert (
        '<p data-testid="cdr-heading">No CDR yet: this is what the CDR would say if the '
        "session ended now.</p>"
    ) in page.text
    assert '<td class="num" data-testid="total-incl-vat">€5.70</td>' in page.text
    # No power readings: power from the energy between readings (5.5 kWh in 15 min).
    assert "<figcaption>Power (kW), from the energy between two readings</figcaption>" in page.text
    assert '<button class="button danger" type="submit">Stop this session</button>' in page.text
    assert live.status_code == 200
    assert live.headers["cache-control"] == "no-store"
    assert live.text.lstrip().startswith('<section id="live"')
    figures = dict(re.findall(r'<dd data-testid="live-(\w+)">([^<]*)</dd>', live.text))
    assert figures == {
        "energy": "11.00 kWh",
        "power": "22.0 kW",
        "duration": "0:45:00",
        "cost": "€5.70",
    }
    assert "every 5s" in live.text
    assert "every 5s" not in ended.text
    assert "The session has ended: show its final price" in ended.text


async def test_remote_stop_of_a_station_that_is_not_connected_is_recorded_as_offline(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    net = await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        response = await request_stop(client, net.running)
        after = await client.get(f"/portal/sessions/{net.running}", headers=HTML)
    assert (response.status_code, response.headers["location"]) == (
        303,
        f"/portal/sessions/{net.running}#commands",
    )
    [command] = await stored_commands(database, brand)
    assert (command.action, command.payload, command.status.value, command.requested_by) == (
        "RemoteStopTransaction",
        {"transactionId": 3},
        "offline",
        "ops@example.com",
    )
    [entry] = await audit_entries(database, brand, "portal.session.stop")
    assert (entry.actor_email, entry.entity, entry.entity_id) == (
        "ops@example.com",
        "charging_session",
        str(net.running),
    )
    assert entry.detail == {
        "station_id": "CP-1",
        "transaction_id": "3",
        "action": "RemoteStopTransaction",
        "command_id": str(command.id),
        "status": "offline",
    }
    [[_, *cells]] = table(after.text, "stop-commands")
    assert cells == [
        "ops@example.com",
        "RemoteStopTransaction",
        "Station offline",
        "The station is not connected.",
    ]
    assert "Remote stop requested by ops@example.com: Station offline" in after.text


async def test_stopping_needs_stations_write_and_a_running_session(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    net = await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        page = await client.get(f"/portal/sessions/{net.running}", headers=HTML)
        refused = await request_stop(client, net.running)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        ended = await request_stop(client, net.finished)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "fleet@example.com", PASSWORD)
        fleet_list = await client.get("/portal/sessions", headers=HTML)
        fleet_cdrs = await client.get("/portal/sessions/cdrs", headers=HTML)
    assert page.status_code == 200
    assert "Stop this session" not in page.text
    assert refused.status_code == 403
    assert ended.status_code == 400
    assert (
        '<p class="alert" role="alert" id="form-error">This session has ended already.</p>'
        in ended.text
    )
    assert (fleet_list.status_code, fleet_cdrs.status_code) == (403, 403)
    assert await stored_commands(database, brand) == []
    assert await audit_entries(database, brand, "portal.session.stop") == []


async def test_another_brands_sessions_are_not_found(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    other = await make_brand()
    await network(database, brand)
    theirs = await network(database, other)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/sessions", headers=HTML)
        show = await client.get(f"/portal/sessions/{theirs.finished}", headers=HTML)
        live = await client.get(f"/portal/sessions/{theirs.running}/live", headers=HTML)
        stop = await client.post(
            f"/portal/sessions/{theirs.running}/stop",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
    assert (show.status_code, live.status_code, stop.status_code) == (404, 404, 404)
    assert str(theirs.finished) not in page.text
    assert await stored_commands(database, other) == []


async def test_the_cdr_list_shows_credits_totals_and_exports_csv(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    net = await network(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        first = await billing.rate_session(db_session, net.finished)
        assert first is not None
        await billing.credit_cdr(db_session, first.id, reason="=wrong card")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/sessions/cdrs", headers=HTML)
        the_21st = await client.get(
            "/portal/sessions/cdrs?from=2026-11-21&to=2026-11-21", headers=HTML
        )
        csv = await client.get("/portal/sessions/cdrs?format=csv", headers=HTML)
        bad = await client.get("/portal/sessions/cdrs?from=21.11.2026", headers=HTML)
    assert page.status_code == 200
    assert '<a href="/portal/sessions/cdrs" aria-current="page">CDRs</a>' in page.text
    assert rows(page.text) == [
        [
            "3",
            "3",
            "Credit of no. 1 (=wrong card)",
            "20/11/2026, 10:00",
            "CP-1 / 1",
            "RFID0001",
            "AC-STD",
            "7.25 kWh",
            "-€3.33",
            "-€0.63",
            "-€3.96",
        ],
        [
            "2",
            "2",
            "CDR",
            "21/11/2026, 00:30",
            "CP-1 / 1",
            "RFID0002",
            "AC-STD",
            "11.00 kWh",
            "€4.79",
            "€0.91",
            "€5.70",
        ],
        [
            "1",
            "1",
            "CDR",
            "20/11/2026, 10:00",
            "CP-1 / 1",
            "RFID0001",
            "AC-STD",
            "7.25 kWh",
            "€3.33",
            "€0.63",
            "€3.96",
        ],
    ]
    totals = re.search(r'data-testid="cdr-totals">(.*?)</dl>', page.text, re.S)
    assert totals is not None
    assert " ".join(TAG_RE.sub("", totals.group(1)).split()) == (
        "3 records in EUR €5.70 €4.79 excl. VAT + €0.91 VAT · 11.00 kWh"
    )
    assert ids(the_21st.text) == ["2"]
    assert csv.headers["content-disposition"] == 'attachment; filename="cdrs.csv"'
    assert csv.text.split("\r\n") == [
        "number,kind,credit_of,session_id,station_id,evse_id,connector_id,id_token,tariff_code,"
        "segment,start,end,energy_kwh,total_excl_vat,total_vat,total_incl_vat,currency,remark",
        f"3,CREDIT,1,{net.finished},CP-1,1,1,RFID0001,AC-STD,MEMBER,2026-11-20T09:00:00+00:00,"
        "2026-11-20T09:45:00+00:00,7.250,-333,-63,-396,EUR,'=wrong card",
        f"2,CDR,,{net.late},CP-1,1,1,RFID0002,AC-STD,MEMBER,2026-11-20T23:30:00+00:00,"
        "2026-11-21T00:30:00+00:00,11.000,479,91,570,EUR,",
        f"1,CDR,,{net.finished},CP-1,1,1,RFID0001,AC-STD,MEMBER,2026-11-20T09:00:00+00:00,"
        "2026-11-20T09:45:00+00:00,7.250,333,63,396,EUR,",
        "",
    ]
    assert bad.status_code == 400
    assert '<p class="field-error" id="from-error">Enter a date as YYYY-MM-DD.</p>' in bad.text


async def test_a_credited_session_shows_its_credit(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    net = await network(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        first = await billing.rate_session(db_session, net.finished)
        assert first is not None
        await billing.credit_cdr(db_session, first.id, reason="wrong card")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        page = await client.get(f"/portal/sessions/{net.finished}", headers=HTML)
    assert page.status_code == 200
    assert re.search(
        r'<p class="alert" data-testid="credited">Credited by credit CDR no. 3 of [^<]+ '
        r"\(-€3.96\): wrong card</p>",
        page.text,
    )
    assert "Credit CDR no. 3 issued" in page.text


class StoppingStation(Cp16):  # type: ignore[misc]
    """A 1.6 charger that accepts a remote stop and then ends the transaction."""

    asked: list[int]

    @on("RemoteStopTransaction")
    async def on_remote_stop(self, transaction_id: int) -> Any:
        self.asked.append(transaction_id)
        return result16.RemoteStopTransaction(status="Accepted")

    @after("RemoteStopTransaction")
    async def after_remote_stop(self, transaction_id: int) -> None:
        await self.call(
            call16.StopTransaction(
                transaction_id=transaction_id,
                meter_stop=1_004_000,
                timestamp="2026-11-24T08:40:00Z",
                reason="Remote",
            )
        )


class StoppingStation201(Cp201):  # type: ignore[misc]
    """A 2.0.1 charger that refuses to stop (the driver's cable is locked, say)."""

    asked: list[str]

    @on("RequestStopTransaction")
    async def on_request_stop(self, transaction_id: str) -> Any:
        self.asked.append(transaction_id)
        return result201.RequestStopTransaction(status="Rejected")


@contextlib.asynccontextmanager
async def connected(
    gateway: Gateway, brand: TenantInfo, station_id: str, protocol: str, cls: Any
) -> AsyncIterator[Any]:
    """A charger of class ``cls`` connected to the gateway as ``station_id``."""
    ws = await connect(
        url(gateway, brand.key, station_id),
        subprotocols=[protocol],  # type: ignore[list-item]
        additional_headers={"Authorization": basic(station_id, STATION_PASSWORD)},
        compression=None,
    )
    station = cls(station_id, ws, response_timeout=10)
    station.asked = []
    task = asyncio.create_task(station.start())
    try:
        yield station
    finally:
        await ws.close()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def only_session_id(database: Database, brand: TenantInfo) -> uuid.UUID:
    async with database.tenant_session(brand.key) as db_session:
        found = await db_session.scalar(select(ChargingSession.id))
    assert found is not None
    return found


async def test_remote_stop_reaches_a_connected_16_station_and_ends_the_session(
    database: Database, make_brand, app: Litestar, gateway: Gateway
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CP16")
    await add_token(database, brand, "RFID0001")
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS)
    async with connected(gateway, brand, "CP16", "ocpp1.6", StoppingStation) as station:
        await station.call(
            call16.BootNotification(charge_point_vendor="Acme", charge_point_model="AC22")
        )
        started = await station.call(
            call16.StartTransaction(
                connector_id=1,
                id_tag="RFID0001",
                meter_start=1_000_000,
                timestamp="2026-11-24T08:00:00Z",
            )
        )
        session_id = await only_session_id(database, brand)
        async with api_client(app, brand, None) as client:
            await sign_in(client, "ops@example.com", PASSWORD)  # type: ignore[arg-type]
            response = await request_stop(client, session_id)
            for _ in range(100):  # the station ends the transaction after its answer
                async with database.tenant_session(brand.key) as db_session:
                    found = await db_session.get(ChargingSession, session_id)
                if found is not None and found.stopped_at is not None:
                    break
                await asyncio.sleep(0.05)
            after_stop = await client.get(f"/portal/sessions/{session_id}", headers=HTML)
    assert response.status_code == 303
    assert station.asked == [started.transaction_id]
    [command] = await stored_commands(database, brand)
    assert (command.status.value, command.response) == ("accepted", {"status": "Accepted"})
    [[_, *cells]] = table(after_stop.text, "stop-commands")
    assert cells == ["ops@example.com", "RemoteStopTransaction", "Accepted", "Accepted"]
    assert '<dd data-testid="status">Finished</dd>' in after_stop.text
    assert "Stopped, reason: Remote stop" in after_stop.text
    assert '<dd data-testid="live-energy">4.00 kWh</dd>' in after_stop.text
    [entry] = await audit_entries(database, brand, "portal.session.stop")
    assert entry.detail["status"] == "accepted"


async def test_a_201_station_is_asked_in_its_words_and_its_refusal_is_shown(
    database: Database, make_brand, app: Litestar, gateway: Gateway
) -> None:
    brand = await make_brand()
    await add_ocpp_station(database, brand, "CS201")
    await add_token(database, brand, "APP-1", token_type=IdTokenType.CENTRAL)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS)
    async with connected(gateway, brand, "CS201", "ocpp2.0.1", StoppingStation201) as station:
        await station.call(
            call201.BootNotification(
                charging_station={"model": "DC150", "vendor_name": "Acme"}, reason="PowerUp"
            )
        )
        await station.call(
            call201.TransactionEvent(
                event_type="Started",
                timestamp="2026-11-24T08:00:00Z",
                trigger_reason="Authorized",
                seq_no=0,
                transaction_info={"transaction_id": "tx-7", "charging_state": "Charging"},
                evse={"id": 1, "connector_id": 1},
                id_token={"id_token": "APP-1", "type": "Central"},
            )
        )
        session_id = await only_session_id(database, brand)
        async with api_client(app, brand, None) as client:
            await sign_in(client, "ops@example.com", PASSWORD)  # type: ignore[arg-type]
            response = await request_stop(client, session_id)
            after_stop = await client.get(f"/portal/sessions/{session_id}", headers=HTML)
    assert response.status_code == 303
    assert station.asked == ["tx-7"]
    [command] = await stored_commands(database, brand)
    assert (command.action, command.payload, command.status.value) == (
        "RequestStopTransaction",
        {"transactionId": "tx-7"},
        "rejected",
    )
    [[_, *cells]] = table(after_stop.text, "stop-commands")
    assert cells == ["ops@example.com", "RequestStopTransaction", "Rejected", "Rejected"]
    assert '<dd data-testid="status">Charging</dd>' in after_stop.text
    assert "Stop this session" in after_stop.text  # still running: it may be asked again


async def test_numbers_money_and_times_follow_the_brands_locale(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand(locale="de_DE", locales=["de_DE"])
    net = await network(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/sessions?status=finished", headers=HTML)
        show = await client.get(f"/portal/sessions/{net.finished}", headers=HTML)
    [_, finished] = rows(page.text)
    assert finished[1:3] == ["20.11.26, 10:00", "20.11.26, 10:45"]
    assert (finished[5], finished[7]) == ("7,25 kWh", "3,96 €")
    assert '<dd data-testid="live-power">14,0 kW</dd>' in show.text
    assert '<td class="num" data-testid="total-incl-vat">3,96\xa0€</td>' in show.text


async def test_a_session_whose_energy_needs_review_shows_no_price(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await network(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        station = await find_station(db_session, "CP-1")
        assert station is not None
        # An offline start of 0 against the charger's lifetime register.
        doubtful = await add_session_16(
            db_session,
            station,
            id_tag="RFID0001",
            started_at=utc("2026-11-22T10:00:00"),
            meter_start_wh=0,
            stop=(utc("2026-11-22T10:30:00"), 5_000_000, "Local"),
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/sessions?from=2026-11-22&to=2026-11-22", headers=HTML)
        show = await client.get(f"/portal/sessions/{doubtful}", headers=HTML)
    assert rows(page.text) == [
        [
            str(doubtful),
            "22/11/2026, 11:00",
            "22/11/2026, 11:30",
            "CP-1 / 1 / 1",
            "RFID0001 (Mia Wagner)",
            "—",
            "0:30:00",
            "—",
            "Finished Energy to review",
        ]
    ]
    assert (
        '<p class="alert" data-testid="unpriced">This session has no price: Its energy needs '
        "a person&#39;s review before it can be priced.</p>"
    ) in show.text
    assert '<dd data-testid="live-cost">—</dd>' in show.text
    assert "meter start 0 against a register of 5000000 Wh" in show.text
