"""Sites in the portal: the list, the editor with errors beside fields, EVSE assignment,
schedule windows, the live view, read-only staff and another brand's site."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select

from tests.api.test_sites_api import make_depot
from tests.factories import add_location, add_station, add_user
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AllocationStatus,
    AuditEntry,
    ChargingAllocation,
    Evse,
    ProfileSupport,
    ReadingKind,
    Role,
    Site,
    SiteEvse,
    SiteSchedule,
    StationProfileSupport,
)
from voltlane.smart_charging import sites
from voltlane.tenancy import TenantInfo

D = Decimal
PASSWORD = "correct horse battery"
SITE_FORM = {
    "name": "Depot Süd",
    "location_id": "",
    "parent_id": "",
    "phases": "3",
    "voltage_v": "230",
    "capacity_a": "125",
    "safe_limit_a": "50",
    "min_current_a": "6",
    "discharge_limit_a": "",
    "allocation_period_s": "60",
    "stale_after_s": "300",
    "mode": "dynamic",
    "segment_priorities": "fleet=10\nmember=5",
}


async def _staff(database: Database, brand: TenantInfo) -> None:
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS)
        await add_user(db_session, "viewer@example.com", PASSWORD, Role.READ_ONLY)


async def _audit(database: Database, brand: TenantInfo) -> list[str]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(
            select(AuditEntry.action)
            .where(~AuditEntry.action.like("login%"))
            .order_by(AuditEntry.id)
        )
        return list(rows)


async def test_a_site_is_created_and_listed_and_bad_fields_are_refused_beside_them(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await _staff(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        form = await client.get("/portal/sites/new", headers=HTML)
        token = csrf_token(form.text)
        bad = await client.post(
            "/portal/sites/new",
            data={
                **SITE_FORM,
                "capacity_a": "lots",
                "safe_limit_a": "50",
                "stale_after_s": "0",
                "_csrf_token": token,
            },
            headers=HTML,
        )
        too_safe = await client.post(
            "/portal/sites/new",
            data={**SITE_FORM, "safe_limit_a": "130", "_csrf_token": token},
            headers=HTML,
        )
        bad_priorities = await client.post(
            "/portal/sites/new",
            data={**SITE_FORM, "segment_priorities": "fleet", "_csrf_token": token},
            headers=HTML,
        )
        saved = await client.post(
            "/portal/sites/new", data={**SITE_FORM, "_csrf_token": token}, headers=HTML
        )
        listing = await client.get("/portal/sites", headers=HTML)
    assert form.status_code == 200
    assert bad.status_code == 400
    assert '<p class="field-error" id="capacity_a-error">Enter a number.</p>' in bad.text
    assert 'value="lots"' in bad.text
    assert too_safe.status_code == 400
    assert (
        '<p class="field-error" id="safe_limit_a-error">'
        "Enter a current from 0 to 125 A, in steps of 0.1 A.</p>"
    ) in too_safe.text
    assert bad_priorities.status_code == 400
    assert (
        '<p class="field-error" id="segment_priorities-error">'
        "Write one segment=weight per line, e.g. fleet=10.</p>"
    ) in bad_priorities.text
    assert saved.status_code == 303
    async with database.tenant_session(brand.key) as db_session:
        [site] = list(await db_session.scalars(select(Site)))
    assert saved.headers["location"] == f"/portal/sites/{site.id}"
    assert (site.name, site.capacity_a, site.safe_limit_a, site.segment_priorities) == (
        "Depot Süd",
        D(125),
        D(50),
        {"fleet": 10, "member": 5},
    )
    assert f'<a href="/portal/sites/{site.id}">Depot Süd</a>' in listing.text
    assert '<td class="num">125.0 A</td>' in listing.text
    assert await _audit(database, brand) == ["site.create"]


async def test_evses_and_schedule_windows_are_added_with_errors_beside_fields(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await _staff(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        location = await add_location(db_session)
        station = await add_station(db_session, location, "CP7", evses=2)
        site = await sites.create_site(
            db_session, sites.SiteInput(name="Hof", capacity_a=D(63), safe_limit_a=D(32))
        )
        evse_pks = list(
            await db_session.scalars(
                select(Evse.id).where(Evse.charging_station_id == station.id).order_by(Evse.evse_id)
            )
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/sites/{site.id}", headers=HTML)
        token = csrf_token(page.text)
        wiring = await client.post(
            f"/portal/sites/{site.id}/evses",
            data={
                "evse_pk": str(evse_pks[1]),
                "priority": "0",
                "phases": "44",
                "max_current_a": "",
                "_csrf_token": token,
            },
            headers=HTML,
        )
        assigned = await client.post(
            f"/portal/sites/{site.id}/evses",
            data={
                "evse_pk": str(evse_pks[0]),
                "priority": "5",
                "phases": "231",
                "max_current_a": "16",
                "_csrf_token": token,
            },
            headers=HTML,
        )
        no_days = await client.post(
            f"/portal/sites/{site.id}/schedules",
            data={
                "kind": "time_of_use",
                "starts_at": "07:00",
                "ends_at": "22:00",
                "limit_a": "20",
                "_csrf_token": token,
            },
            headers=HTML,
        )
        window = await client.post(
            f"/portal/sites/{site.id}/schedules",
            data={
                "kind": "peak_shaving",
                "weekdays": ["0", "4"],
                "starts_at": "17:00",
                "ends_at": "20:00",
                "limit_a": "40",
                "label": "Evening peak",
                "_csrf_token": token,
            },
            headers=HTML,
        )
        shown = await client.get(f"/portal/sites/{site.id}", headers=HTML)
    assert wiring.status_code == 400
    assert (
        '<p class="field-error" id="phases-error">'
        "Give the site phases the EVSE is wired to, e.g. 123, 231 or 2.</p>"
    ) in wiring.text
    assert assigned.status_code == 303
    assert no_days.status_code == 400
    assert '<p class="field-error" id="weekdays-error">Choose at least one weekday.</p>' in (
        no_days.text
    )
    assert window.status_code == 303
    async with database.tenant_session(brand.key) as db_session:
        [row] = list(await db_session.scalars(select(SiteEvse)))
        [schedule] = list(await db_session.scalars(select(SiteSchedule)))
    assert (row.evse_pk, row.priority, row.phases, row.max_current_a) == (
        evse_pks[0],
        5,
        "231",
        D(16),
    )
    assert (schedule.weekdays, schedule.starts_at, schedule.ends_at, schedule.limit_a) == (
        0b10001,
        time(17),
        time(20),
        D(40),
    )
    assert '<th scope="row">CP7 / 1</th>' in shown.text
    assert "<td>Monday Friday </td>" in shown.text
    assert await _audit(database, brand) == ["site.evse.assign", "site.schedule.add"]


async def test_live_view_shows_allocations_against_measurements_and_flags(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await _staff(database, brand)
    depot = await make_depot(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        await sites.record_reading(
            db_session,
            depot.site_id,
            kind=ReadingKind.BUILDING_LOAD.value,
            per_phase_a=[D(30), D(20), D(10)],
            measured_at=utcnow() - timedelta(hours=1),
        )
        station_pk = await db_session.scalar(
            select(Evse.charging_station_id).where(Evse.id == depot.evse_pk)
        )
        assert station_pk is not None
        db_session.add(
            StationProfileSupport(
                charging_station_id=station_pk,
                status=ProfileSupport.REJECTED,
                reason="Rejected",
                fallback_limit_a=D(10),
                checked_at=datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
            )
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        live = await client.get(
            f"/portal/sites/{depot.site_id}/live", headers={**HTML, "HX-Request": "true"}
        )
        page = await client.get(f"/portal/sites/{depot.site_id}", headers=HTML)
    assert live.status_code == 200
    assert live.text.lstrip().startswith('<section id="site-live"')
    assert 'hx-trigger="every 5s"' in live.text
    # The building load is an hour old (stale after 300 s): the safe limit of 40 A holds.
    assert "Available now per phase: 40.0 A · 40.0 A · 40.0 A" in live.text
    assert (
        "A reading is stale: the site falls back to its safe limit of 40.0 A per phase."
        in live.text
    )
    assert f'<tr data-session="{depot.session_id}">' in live.text
    assert '<td class="num">20.5 A \u00d7 3</td>' in live.text
    assert '<td class="num">11.0 kW</td>' in live.text
    assert "CP1 does not take charging profiles (Rejected). Held at 10.0 A per phase." in (
        live.text
    )
    assert live.text.count('<span class="status status-sent">Sent</span>') == 2
    assert '<span class="status status-accepted">Accepted</span>' in live.text
    assert page.status_code == 200
    assert "Edit site" not in page.text
    assert 'id="evse-form"' not in page.text


async def test_read_only_staff_cannot_edit_and_another_brands_site_is_not_found(
    database: Database, make_brand, client_for
) -> None:
    brand, other = await make_brand(), await make_brand()
    await _staff(database, brand)
    theirs = await make_depot(database, other)
    mine = await make_depot(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        page = await client.get(f"/portal/sites/{mine.site_id}", headers=HTML)
        token = csrf_token(page.text)
        edit_form = await client.get(f"/portal/sites/{mine.site_id}/edit", headers=HTML)
        edit = await client.post(
            f"/portal/sites/{mine.site_id}/edit",
            data={**SITE_FORM, "_csrf_token": token},
            headers=HTML,
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/sites/{mine.site_id}", headers=HTML)
        token = csrf_token(page.text)
        foreign = await client.get(f"/portal/sites/{theirs.site_id}", headers=HTML)
        foreign_live = await client.get(f"/portal/sites/{theirs.site_id}/live", headers=HTML)
        foreign_edit = await client.post(
            f"/portal/sites/{theirs.site_id}/edit",
            data={**SITE_FORM, "_csrf_token": token},
            headers=HTML,
        )
        listing = await client.get("/portal/sites", headers=HTML)
    assert (edit_form.status_code, edit.status_code) == (403, 403)
    assert (foreign.status_code, foreign_live.status_code, foreign_edit.status_code) == (
        404,
        404,
        404,
    )
    assert str(theirs.site_id) not in listing.text
    async with database.tenant_session(other.key) as db_session:
        [site] = list(await db_session.scalars(select(Site)))
    assert site.name == "Depot Nord"
    assert await _audit(database, brand) == []


async def test_a_site_is_edited_and_an_evse_removed_both_audited(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await _staff(database, brand)
    depot = await make_depot(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        form = await client.get(f"/portal/sites/{depot.site_id}/edit", headers=HTML)
        token = csrf_token(form.text)
        saved = await client.post(
            f"/portal/sites/{depot.site_id}/edit",
            data={**SITE_FORM, "name": "Depot Nord II", "capacity_a": "80.5", "_csrf_token": token},
            headers=HTML,
        )
        removed = await client.post(
            f"/portal/sites/{depot.site_id}/evses/{depot.evse_pk}/remove",
            data={"_csrf_token": token},
            headers=HTML,
        )
        page = await client.get(f"/portal/sites/{depot.site_id}", headers=HTML)
    assert form.status_code == 200
    assert 'id="capacity_a" name="capacity_a" type="text" value="100.0"' in form.text
    assert "fleet=10</textarea>" in form.text
    assert (saved.status_code, removed.status_code) == (303, 303)
    async with database.tenant_session(brand.key) as db_session:
        site = await db_session.get(Site, depot.site_id)
        evses = list(await db_session.scalars(select(SiteEvse)))
    assert site is not None
    assert (site.name, site.capacity_a, site.segment_priorities) == (
        "Depot Nord II",
        D("80.5"),
        {"fleet": 10, "member": 5},
    )
    assert evses == []
    assert "No EVSEs in this site yet." in page.text
    assert await _audit(database, brand) == ["site.update", "site.evse.remove"]


async def test_live_view_shows_the_discharge_limit_of_a_bidirectional_car(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await _staff(database, brand)
    depot = await make_depot(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        db_session.add(
            ChargingAllocation(
                session_id=depot.session_id,
                site_id=depot.site_id,
                limit_a=D(16),
                discharge_limit_a=D(8),
                phases=3,
                decided_at=utcnow(),
                status=AllocationStatus.ACCEPTED,
            )
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        live = await client.get(
            f"/portal/sites/{depot.site_id}/live", headers={**HTML, "HX-Request": "true"}
        )
    assert live.status_code == 200
    assert (
        '<td class="num">16.0 A \u00d7 3<br>'
        '<span data-testid="discharge">Feeds back up to 8.0 A</span></td>'
    ) in live.text
    assert live.text.count('data-testid="discharge"') == 1
