"""A schedule window is deleted from the portal: the row goes, the deletion is audited,
and another site's window cannot be deleted through this site's address."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

from sqlalchemy import select

from tests.api.test_sites_api import make_depot
from tests.web.helpers import HTML, csrf_token, sign_in
from tests.web.test_portal_sites import PASSWORD, _audit, _staff
from voltlane.core.db import Database
from voltlane.models.tenant import SiteSchedule
from voltlane.smart_charging import sites
from voltlane.smart_charging.sites import SiteInput


async def test_a_schedule_window_is_removed_and_audited(
    database: Database, make_brand, client_for
) -> None:
    brand = await make_brand()
    await _staff(database, brand)
    depot = await make_depot(database, brand)
    async with database.tenant_transaction(brand.key) as db_session:
        night = await sites.add_schedule(
            db_session,
            depot.site_id,
            kind="time_of_use",
            weekdays=127,
            starts_at=time(22),
            ends_at=time(6),
            limit_a=Decimal(90),
            label="Nacht",
        )
        other = await sites.create_site(
            db_session, SiteInput(name="Hof", capacity_a=Decimal(50), safe_limit_a=Decimal(20))
        )
        kept = await sites.add_schedule(
            db_session,
            other.id,
            kind="peak_shaving",
            weekdays=31,
            starts_at=time(17),
            ends_at=time(19),
            limit_a=Decimal(30),
        )
        night_id, kept_id = night.id, kept.id
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/sites/{depot.site_id}", headers=HTML)
        token = csrf_token(page.text)
        action = f"/portal/sites/{depot.site_id}/schedules/{night_id}/remove"
        foreign = await client.post(
            f"/portal/sites/{depot.site_id}/schedules/{kept_id}/remove",
            data={"_csrf_token": token},
            headers=HTML,
        )
        removed = await client.post(action, data={"_csrf_token": token}, headers=HTML)
        after = await client.get(f"/portal/sites/{depot.site_id}", headers=HTML)
    assert f'action="{action}"' in page.text
    assert (foreign.status_code, removed.status_code) == (303, 303)
    async with database.tenant_session(brand.key) as db_session:
        left = list(await db_session.scalars(select(SiteSchedule.id)))
    assert left == [kept_id]
    assert "No schedule windows." in after.text
    assert await _audit(database, brand) == ["site.schedule.remove"]
