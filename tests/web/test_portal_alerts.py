"""Alerts in the portal: the list by status, CSV, acknowledging, the rules and their form."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.factories import add_location, add_station, add_user
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import Alert, AlertKind, AlertRule, AuditEntry, Role
from voltlane.monitoring import service as monitoring
from voltlane.tenancy import TenantInfo

PASSWORD = "correct horse battery"


async def brand_with_two_offline_stations(database: Database, make_brand) -> TenantInfo:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS)
        await add_user(db_session, "viewer@example.com", PASSWORD, Role.READ_ONLY)
        depot = await add_location(db_session)
        await add_station(db_session, depot, "CS-1")
        await add_station(db_session, depot, "CS-2")
    async with database.tenant_transaction(brand.key) as db_session:
        await monitoring.detect(db_session, brand, now=utcnow() + timedelta(minutes=16))
    return brand


async def stored_alerts(database: Database, brand: TenantInfo) -> list[Alert]:
    async with database.tenant_session(brand.key) as db_session:
        return list(await db_session.scalars(select(Alert).order_by(Alert.station_id)))


async def audit_actions(database: Database, brand: TenantInfo) -> list[tuple[str, str | None]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(
            select(AuditEntry).where(~AuditEntry.action.like("login%")).order_by(AuditEntry.id)
        )
        return [(row.action, row.entity_id) for row in rows]


async def test_open_alerts_are_listed_and_exported_with_exact_columns(
    database: Database, make_brand, client_for
):
    brand = await brand_with_two_offline_stations(database, make_brand)
    first, second = await stored_alerts(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/alerts", headers=HTML)
        exported = await client.get("/portal/alerts?status=open&format=csv", headers=HTML)
        resolved = await client.get("/portal/alerts?status=resolved", headers=HTML)
        faulted = await client.get("/portal/alerts?status=all&kind=faulted", headers=HTML)
        wrong = await client.get("/portal/alerts?kind=flooded", headers=HTML)
    assert page.status_code == 200
    assert page.text.count('<th scope="row">Station offline</th>') == 2
    assert f'action="/portal/alerts/{first.id}/acknowledge"' in page.text
    assert f'<a href="/portal/stations/{first.charging_station_id}">CS-1</a>' in page.text
    assert '<a href="/portal/alerts?status=open" aria-current="page">Open</a>' in page.text
    assert exported.headers["content-disposition"] == 'attachment; filename="alerts-open.csv"'
    lines = exported.text.split("\r\n")
    assert lines[0] == (
        "id,kind,station_id,detail,occurrences,status,since,opened_at,acknowledged_at,"
        "acknowledged_by,resolved_at"
    )
    assert lines[1:3] == [
        f"{a.id},offline,{a.station_id},,1,open,{a.since.isoformat()},{a.opened_at.isoformat()},,,"
        for a in (first, second)
    ]
    assert lines[3:] == [""]
    assert "No alerts here." in resolved.text
    assert "No alerts here." in faulted.text
    assert '<option value="faulted" selected>Faulted connector</option>' in faulted.text
    assert wrong.status_code == 400


async def test_acknowledging_an_alert_is_audited_and_moves_it_to_acknowledged(
    database: Database, make_brand, client_for
):
    brand = await brand_with_two_offline_stations(database, make_brand)
    first, second = await stored_alerts(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/alerts", headers=HTML)
        response = await client.post(
            f"/portal/alerts/{first.id}/acknowledge",
            data={"_csrf_token": csrf_token(page.text), "status": "open"},
            headers=HTML,
        )
        again = await client.post(
            f"/portal/alerts/{first.id}/acknowledge",
            data={"_csrf_token": csrf_token(page.text), "status": "open"},
            headers=HTML,
        )
        open_now = await client.get("/portal/alerts", headers=HTML)
        acknowledged = await client.get("/portal/alerts?status=acknowledged", headers=HTML)
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/portal/alerts?status=open",
    )
    assert again.status_code == 303
    first_now, second_now = await stored_alerts(database, brand)
    assert (first_now.status.value, first_now.acknowledged_by) == (
        "acknowledged",
        "ops@example.com",
    )
    assert second_now.status.value == "open"
    assert await audit_actions(database, brand) == [("alert.acknowledge", str(first.id))]
    assert str(first.id) not in open_now.text
    assert str(second.id) in open_now.text
    assert "by ops@example.com" in acknowledged.text


async def test_a_read_only_role_sees_alerts_but_cannot_acknowledge_or_edit_rules(
    database: Database, make_brand, client_for
):
    brand = await brand_with_two_offline_stations(database, make_brand)
    first, _ = await stored_alerts(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        page = await client.get("/portal/alerts", headers=HTML)
        refused = await client.post(
            f"/portal/alerts/{first.id}/acknowledge",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
        rules = await client.get("/portal/alerts/rules", headers=HTML)
        form = await client.get("/portal/alerts/rules/offline", headers=HTML)
        save = await client.post(
            "/portal/alerts/rules/offline",
            data={"_csrf_token": csrf_token(page.text), "threshold": "5", "enabled": "on"},
            headers=HTML,
        )
    assert page.status_code == 200
    assert "/acknowledge" not in page.text
    assert refused.status_code == 403
    assert rules.status_code == 200
    assert "/portal/alerts/rules/offline" not in rules.text
    assert (form.status_code, save.status_code) == (403, 403)
    first_now, _ = await stored_alerts(database, brand)
    assert first_now.status.value == "open"
    async with database.tenant_session(brand.key) as db_session:
        rule = await db_session.scalar(select(AlertRule).where(AlertRule.kind == AlertKind.OFFLINE))
    assert rule is not None
    assert rule.threshold == 15
    assert await audit_actions(database, brand) == []


async def test_another_brands_alert_is_not_found(database: Database, make_brand, client_for):
    other = await brand_with_two_offline_stations(database, make_brand)
    theirs, _ = await stored_alerts(database, other)
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/alerts", headers=HTML)
        response = await client.post(
            f"/portal/alerts/{theirs.id}/acknowledge",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
        unknown_rule = await client.get("/portal/alerts/rules/nonsense", headers=HTML)
    assert response.status_code == 404
    assert unknown_rule.status_code == 404
    theirs_now, _ = await stored_alerts(database, other)
    assert theirs_now.status.value == "open"


async def test_a_rule_with_wrong_fields_comes_back_with_each_error_and_nothing_saved(
    database: Database, make_brand, client_for
):
    brand = await brand_with_two_offline_stations(database, make_brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        form = await client.get("/portal/alerts/rules/offline", headers=HTML)
        response = await client.post(
            "/portal/alerts/rules/offline",
            data={
                "_csrf_token": csrf_token(form.text),
                "enabled": "on",
                "threshold": "0",
                "emails": "ops@example.com, not-an-address",
                "webhook_url": "ftp://hooks.example/alerts",
            },
            headers=HTML,
        )
    assert form.status_code == 200
    assert 'name="threshold" type="number" value="15"' in form.text
    assert response.status_code == 400
    assert (
        '<p class="field-error" id="threshold-error">Enter a number from 1 to 10080.</p>'
        in response.text
    )
    assert (
        '<p class="field-error" id="emails-error">Not an e-mail address: not-an-address</p>'
        in response.text
    )
    assert (
        '<p class="field-error" id="webhook_url-error">'
        "Enter an http:// or https:// URL of at most 500 characters.</p>" in response.text
    )
    assert 'value="ftp://hooks.example/alerts"' in response.text
    assert ">ops@example.com, not-an-address</textarea>" in response.text
    async with database.tenant_session(brand.key) as db_session:
        rule = await db_session.scalar(select(AlertRule).where(AlertRule.kind == AlertKind.OFFLINE))
    assert rule is not None
    assert (rule.threshold, rule.emails, rule.webhook_url) == (15, [], None)
    assert await audit_actions(database, brand) == []


async def test_saving_a_rule_changes_it_records_what_changed_and_shows_the_secret(
    database: Database, make_brand, client_for
):
    brand = await brand_with_two_offline_stations(database, make_brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        form = await client.get("/portal/alerts/rules/stuck_session", headers=HTML)
        response = await client.post(
            "/portal/alerts/rules/stuck_session",
            data={
                "_csrf_token": csrf_token(form.text),
                "threshold": "3",
                "emails": "Night@Example.com\nops@example.com",
                "webhook_url": "https://hooks.example/alerts",
            },
            headers=HTML,
        )
        rules = await client.get("/portal/alerts/rules", headers=HTML)
        again = await client.get("/portal/alerts/rules/stuck_session", headers=HTML)
    assert (response.status_code, response.headers["location"]) == (303, "/portal/alerts/rules")
    async with database.tenant_session(brand.key) as db_session:
        rule = await db_session.scalar(
            select(AlertRule).where(AlertRule.kind == AlertKind.STUCK_SESSION)
        )
        entry = await db_session.scalar(
            select(AuditEntry).where(AuditEntry.action == "alert_rule.update")
        )
    assert rule is not None
    assert entry is not None
    assert (rule.enabled, rule.threshold, rule.emails, rule.webhook_url) == (
        False,
        3,
        ["night@example.com", "ops@example.com"],
        "https://hooks.example/alerts",
    )
    assert rule.webhook_secret is not None
    assert len(rule.webhook_secret) == 64
    assert entry.detail == {
        "kind": "stuck_session",
        "changes": {
            "enabled": False,
            "threshold": 3,
            "emails": ["night@example.com", "ops@example.com"],
            "webhook_url": "https://hooks.example/alerts",
        },
    }
    assert "active, no meter progress for 3 hours" in rules.text
    assert f'value="{rule.webhook_secret}" readonly' in again.text
