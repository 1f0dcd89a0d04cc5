"""The live view over time: each session's last 30 minutes of limits and measured current
as a sparkline, and a circuit's available current within what its parent leaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.api.test_sites_api import make_depot
from tests.web.helpers import HTML, sign_in
from tests.web.test_portal_sites import PASSWORD, _staff
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.portal.sites_chart import sparkline
from voltlane.smart_charging import overview
from voltlane.smart_charging import sites as service
from voltlane.smart_charging.overview import SessionHistory
from voltlane.smart_charging.sites import SiteInput

D = Decimal
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_a_sparkline_steps_the_limits_and_joins_the_measurements() -> None:
    history = SessionHistory(
        limits=[(NOW - timedelta(minutes=30), D(16)), (NOW - timedelta(minutes=15), D(32))],
        currents=[(NOW - timedelta(minutes=15), D(8)), (NOW, D(24))],
    )
    line = sparkline(history, NOW)
    assert line.top_a == D(32)
    assert line.limit_points == "0.0,16.0 80.0,16.0 80.0,0.0 160.0,0.0"
    assert line.current_points == "80.0,24.0 160.0,8.0"
    assert sparkline(SessionHistory([], []), NOW).limit_points == ""


async def test_a_circuit_shows_what_its_parent_leaves_and_sessions_show_their_half_hour(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await _staff(database, brand)
    depot = await make_depot(database, brand)  # 100 A, a session with limits 16 A then 20.5 A
    now = utcnow()
    async with database.tenant_transaction(brand.key) as db_session:
        await service.record_reading(
            db_session,
            depot.site_id,
            kind="building_load",
            per_phase_a=[D(90), D(80), D(70)],
            measured_at=now,
            now=now,
        )
        circuit = await service.create_site(
            db_session,
            SiteInput(
                name="Halle 2", capacity_a=D(25), safe_limit_a=D(10), parent_id=depot.site_id
            ),
        )
    async with database.tenant_session(brand.key) as db_session:
        view = await overview.site_view(db_session, circuit.id, now=now)
        depot_view = await overview.site_view(db_session, depot.site_id, now=now)
    assert view.available_a == (D(10), D(20), D(25))
    assert depot_view.available_a == (D(10), D(20), D(30))
    [history] = depot_view.history.values()
    assert [limit for _, limit in history.limits] == [D(16), D("20.5")]
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        live = await client.get(
            f"/portal/sites/{depot.site_id}/live", headers={**HTML, "HX-Request": "true"}
        )
    assert live.status_code == 200
    assert live.text.count('data-testid="sparkline"') == 1
    assert "<title>Allocated (solid) and measured current (dashed), 0 to 20.5 A</title>" in (
        live.text
    )
