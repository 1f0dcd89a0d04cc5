"""The audit log: filters by actor, action, entity and dates, paging, CSV, the reading role."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update

from tests.factories import add_user
from tests.web.helpers import HTML, sign_in
from voltlane.core.db import Database
from voltlane.identity import service as identity
from voltlane.models.tenant import AuditEntry, Role
from voltlane.tenancy import TenantInfo

PASSWORD = "correct horse battery"
ADMIN = "admin@example.com"


async def logged(database: Database, brand: TenantInfo) -> None:
    """Three entries on 1, 2 and 3 October 2026 (noon in Berlin), besides the sign-ins."""
    entries = (
        ("2026-10-01T10:00:00", "kim@example.com", "portal.user.create", "operator_user", "u-1"),
        ("2026-10-02T10:00:00", "ops@example.com", "portal.station.approve", "station", "CS-1"),
        ("2026-10-03T10:00:00", "kim@example.com", "portal.user.role", "operator_user", "u-2"),
    )
    async with database.tenant_transaction(brand.key) as db_session:
        for _at, email, action, entity, entity_id in entries:
            await identity.audit(
                db_session,
                action=action,
                actor_email=email,
                entity=entity,
                entity_id=entity_id,
                detail={"note": "=cmd", "n": 1},
                ip="192.0.2.1",
            )
        await db_session.flush()
        for at, _email, action, _entity, _id in entries:
            await db_session.execute(
                update(AuditEntry)
                .where(AuditEntry.action == action)
                .values(at=datetime.fromisoformat(at).replace(tzinfo=UTC))
            )


async def test_the_audit_log_filters_pages_and_exports(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, ADMIN, PASSWORD, Role.ADMIN, "Adam Admin")
    await logged(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, ADMIN, PASSWORD)
        kims = await client.get("/portal/audit?actor=KIM&format=csv", headers=HTML)
        users = await client.get("/portal/audit?action=portal.user", headers=HTML)
        station = await client.get("/portal/audit?entity=CS-1&format=csv", headers=HTML)
        second = await client.get(
            "/portal/audit?since=2026-10-02&until=2026-10-02&format=csv", headers=HTML
        )
        everything = await client.get("/portal/audit", headers=HTML)
        bad = await client.get("/portal/audit?since=2.10.2026", headers=HTML)

    header = "at,actor,action,entity,entity_id,ip,detail"
    assert kims.headers["content-disposition"] == 'attachment; filename="audit-log.csv"'
    assert kims.text.split("\r\n") == [
        header,
        "2026-10-03T10:00:00+00:00,kim@example.com,portal.user.role,operator_user,u-2,192.0.2.1,"
        '"{""n"":1,""note"":""=cmd""}"',
        "2026-10-01T10:00:00+00:00,kim@example.com,portal.user.create,operator_user,u-1,192.0.2.1,"
        '"{""n"":1,""note"":""=cmd""}"',
        "",
    ]
    assert users.text.count('data-audit-action="portal.user.') == 2
    assert 'data-audit-action="portal.station.approve"' not in users.text
    assert station.text.split("\r\n")[1].startswith(
        "2026-10-02T10:00:00+00:00,ops@example.com,portal.station.approve,station,CS-1,"
    )
    assert len(station.text.split("\r\n")) == 3
    assert [line.split(",")[2] for line in second.text.split("\r\n")[1:-1]] == [
        "portal.station.approve"
    ]
    assert everything.text.index('data-audit-action="login.succeeded"') < everything.text.index(
        'data-audit-action="portal.user.role"'
    )
    assert bad.status_code == 400
    assert '<p class="field-error" id="since-error">Enter a date as YYYY-MM-DD.</p>' in bad.text


async def test_the_audit_log_pages_by_twenty_five(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, ADMIN, PASSWORD, Role.ADMIN, "Adam Admin")
        for n in range(30):
            await identity.audit(db_session, action=f"test.step{n:02d}", actor_email=ADMIN)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, ADMIN, PASSWORD)
        first = await client.get("/portal/audit?action=test.", headers=HTML)
        second = await client.get("/portal/audit?action=test.&page=2", headers=HTML)
    assert first.text.count('data-audit-action="test.') == 25
    assert second.text.count('data-audit-action="test.') == 5
    assert '<a href="?action=test.&amp;page=2"' in first.text
    assert 'rel="next"' not in second.text


async def test_only_roles_with_audit_read_open_the_log(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get("/portal/audit", headers=HTML)
        csv = await client.get("/portal/audit?format=csv", headers=HTML)
    assert (page.status_code, csv.status_code) == (403, 403)
