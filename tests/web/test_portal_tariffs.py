"""The tariff pages driven as a browser would: the list, the editor, the preview, the places."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import add_fleet_account, add_location, add_station, add_user
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane import billing
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AuditEntry,
    Evse,
    Role,
    TariffAssignment,
    TariffVersion,
)
from voltlane.tariff import SegmentKind

PASSWORD = "correct horse battery"
FINANCE = "finance@example.com"
HTMX = {**HTML, "hx-request": "true"}
ERROR_RE = re.compile(r'<p class="field-error" id="([^"]+)-error">([^<]+)</p>')


def errors(html: str) -> dict[str, str]:
    """Each error message on the page by the name of the input it stands beside."""
    return dict(ERROR_RE.findall(html))


def component(kind: str, price: str, vat: str | None = "19", step: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, "price": Decimal(price), "step_size": step}
    if vat is not None:
        out["vat"] = Decimal(vat)
    return out


async def add_tariff(
    db_session: AsyncSession,
    code: str,
    *components: dict[str, Any],
    segment: SegmentKind = SegmentKind.PUBLIC,
    ref: str | None = None,
    start: datetime | None = None,
    idle_fee: dict[str, Any] | None = None,
) -> TariffVersion:
    definition: dict[str, Any] = {
        "id": code,
        "currency": "EUR",
        "elements": [{"price_components": list(components or [component("ENERGY", "0.40")])}],
    }
    if start is not None:
        definition["start_date_time"] = start.isoformat()
    return await billing.create_tariff_version(
        db_session,
        definition=definition,
        segment=segment,
        segment_ref=ref,
        idle_fee=idle_fee,
        brand_currency="EUR",
        created_by="seed@example.com",
    )


async def count(database: Database, key: str, model: Any) -> int:
    async with database.tenant_transaction(key) as db_session:
        return int(await db_session.scalar(select(func.count()).select_from(model)) or 0)


async def audit_actions(database: Database, key: str) -> list[tuple[str, str | None, dict]]:
    async with database.tenant_transaction(key) as db_session:
        rows = await db_session.execute(
            select(AuditEntry.action, AuditEntry.actor_email, AuditEntry.detail)
            .where(AuditEntry.action.like("portal.tariff.%"))
            .order_by(AuditEntry.id)
        )
        return [(a, e, d) for a, e, d in rows]


async def brand_with_finance(make_brand, database: Database, role: Role = Role.FINANCE):
    brand = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, FINANCE, PASSWORD, role, name="Fran Finance")
    return brand


def new_tariff_form(token: str, **overrides: str) -> dict[str, str]:
    """A complete editor form: energy by day and night, a session fee, caps, idle fee."""
    form = {
        "_csrf_token": token,
        "code": "STANDARD",
        "segment": "PUBLIC",
        "segment_ref": "",
        "valid_from": "",
        "valid_to": "",
        "description": "0.39 €/kWh, 0.10 €/min after 15 minutes plugged in",
        "elements-0-present": "1",
        "elements-0-energy-price": "0.29",
        "elements-0-energy-vat": "19",
        "elements-0-energy-step_size": "",
        "elements-0-start_time": "22:00",
        "elements-0-end_time": "06:00",
        "elements-3-present": "1",
        "elements-3-energy-price": "0,39",
        "elements-3-energy-vat": "19",
        "elements-3-flat-price": "1",
        "elements-3-flat-vat": "19",
        "min_price_excl_vat": "0.50",
        "max_price_excl_vat": "80",
        "idle_fee_price": "0.10",
        "idle_fee_grace": "15",
        "idle_fee_step": "60",
        "idle_fee_vat": "19",
        "save": "1",
    }
    form.update(overrides)
    return form


# -- the list -----------------------------------------------------------------------------


async def test_the_list_shows_each_tariff_with_its_versions_and_places_and_exports_them(
    database: Database, make_brand, client_for
):
    brand = await brand_with_finance(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        depot = await add_location(db_session, "Depot", city="Kiel")
        past = await add_tariff(db_session, "STANDARD", start=datetime(2024, 1, 1, tzinfo=UTC))
        current = await add_tariff(
            db_session,
            "STANDARD",
            component("ENERGY", "0.45"),
            start=datetime(2025, 1, 1, tzinfo=UTC),
            idle_fee={"price_per_minute": "0.10", "grace": 900},
        )
        scheduled = await add_tariff(db_session, "STANDARD", start=datetime(2099, 1, 1, tzinfo=UTC))
        member = await add_tariff(db_session, "STANDARD", segment=SegmentKind.FLEET, ref="ACME-7")
        night = await add_tariff(db_session, "=NIGHT", component("TIME", "2.00", vat=None))
        await billing.assign_tariff(db_session, "STANDARD")
        await billing.assign_tariff(db_session, "STANDARD", location_id=depot.id)
    async with database.tenant_transaction(brand.key) as db_session:
        created = {
            v.id: v.created_at.astimezone(UTC).isoformat()
            for v in await db_session.scalars(select(TariffVersion))
        }
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get("/portal/tariffs", headers=HTML)
        exported = await client.get("/portal/tariffs?format=csv", headers=HTML)
    assert page.status_code == 200
    rows = re.findall(r'<tr data-tariff="([^"]+)">', page.text)
    assert rows == ["=NIGHT", "STANDARD"]
    versions = re.findall(r'<li data-version="([^"]+)"><span class="tag tariff-(\w+)">', page.text)
    assert versions == [
        (str(night.id), "current"),
        (str(scheduled.id), "scheduled"),
        (str(current.id), "current"),
        (str(past.id), "past"),
        (str(member.id), "current"),
    ]
    assert "<li>Whole brand</li>" in page.text
    assert "<li>Location Depot</li>" in page.text
    assert exported.headers["content-disposition"] == 'attachment; filename="tariffs.csv"'
    assert exported.text.split("\r\n") == [
        "code,segment,status,valid_from,valid_to,currency,elements,min_price_excl_vat_minor,"
        "max_price_excl_vat_minor,idle_fee_per_minute,assigned_to,created_at,created_by",
        f"'=NIGHT,PUBLIC,current,,,EUR,1,,,,,{created[night.id]},seed@example.com",
        f"STANDARD,PUBLIC,scheduled,2099-01-01T00:00:00+00:00,,EUR,1,,,,brand location:Depot,"
        f"{created[scheduled.id]},seed@example.com",
        f"STANDARD,PUBLIC,current,2025-01-01T00:00:00+00:00,,EUR,1,,,0.10,brand location:Depot,"
        f"{created[current.id]},seed@example.com",
        f"STANDARD,PUBLIC,past,2024-01-01T00:00:00+00:00,,EUR,1,,,,brand location:Depot,"
        f"{created[past.id]},seed@example.com",
        f"STANDARD,FLEET:ACME-7,current,,,EUR,1,,,,brand location:Depot,"
        f"{created[member.id]},seed@example.com",
        "",
    ]


async def test_the_list_pages_by_tariff(database: Database, make_brand, client_for):
    brand = await brand_with_finance(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        for n in range(26):
            await add_tariff(db_session, f"T{n:02d}")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        first = await client.get("/portal/tariffs", headers=HTML)
        second = await client.get("/portal/tariffs?page=2", headers=HTMX)
    assert re.findall(r'<tr data-tariff="([^"]+)">', first.text) == [f"T{n:02d}" for n in range(25)]
    assert 'href="?page=2" hx-get="?page=2"' in first.text
    assert re.findall(r'<tr data-tariff="([^"]+)">', second.text) == ["T25"]
    assert "<h1>" not in second.text  # the table alone for HTMX


async def test_roles_without_finance_rights_are_refused(database: Database, make_brand, client_for):
    brand = await brand_with_finance(make_brand, database, role=Role.READ_ONLY)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS)
        fleet = await add_fleet_account(db_session)
        await add_user(
            db_session, "fleet@example.com", PASSWORD, Role.FLEET_MANAGER, fleet_account_id=fleet.id
        )
        await add_tariff(db_session, "STANDARD")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get("/portal/tariffs/STANDARD", headers=HTML)
        token = csrf_token(page.text)
        editor = await client.get("/portal/tariffs/new", headers=HTML)
        created = await client.post(
            "/portal/tariffs/new", data=new_tariff_form(token, code="OTHER"), headers=HTML
        )
        version = await client.post(
            "/portal/tariffs/STANDARD/versions", data=new_tariff_form(token), headers=HTML
        )
        assigned = await client.post(
            "/portal/tariffs/STANDARD/assignments",
            data={"_csrf_token": token, "place": "brand"},
            headers=HTML,
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        operations = await client.get("/portal/tariffs", headers=HTML)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "fleet@example.com", PASSWORD)
        fleet_list = await client.get("/portal/tariffs", headers=HTML)
        fleet_page = await client.get("/portal/tariffs/STANDARD", headers=HTML)
    assert page.status_code == 200
    assert "New version" not in page.text
    assert 'name="place"' not in page.text
    assert [editor.status_code, created.status_code, version.status_code] == [403, 403, 403]
    assert assigned.status_code == 403
    assert operations.status_code == 200  # operations staff read finance, not write it
    assert [fleet_list.status_code, fleet_page.status_code] == [403, 403]
    assert await count(database, brand.key, TariffVersion) == 1
    assert await count(database, brand.key, TariffAssignment) == 0


async def test_another_brands_tariffs_and_places_are_not_found(
    database: Database, make_brand, client_for
):
    brand = await brand_with_finance(make_brand, database)
    other = await make_brand()
    async with database.tenant_transaction(other.key) as db_session:
        theirs = await add_tariff(db_session, "THEIRS")
        their_depot = await add_location(db_session, "Their depot")
        station = await add_station(db_session, their_depot, "THEIR-1")
        their_evse = await db_session.scalar(
            select(Evse.id).where(Evse.charging_station_id == station.id)
        )
        their_assignment = await billing.assign_tariff(db_session, "THEIRS")
    async with database.tenant_transaction(brand.key) as db_session:
        mine = await add_tariff(db_session, "MINE")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get("/portal/tariffs/MINE", headers=HTML)
        token = csrf_token(page.text)
        answers = [
            await client.get("/portal/tariffs/THEIRS", headers=HTML),
            await client.get("/portal/tariffs/THEIRS/preview", headers=HTML),
            await client.get("/portal/tariffs/THEIRS/versions/new", headers=HTML),
            await client.get(
                f"/portal/tariffs/MINE/versions/new?based_on={theirs.id}", headers=HTML
            ),
            await client.post(
                "/portal/tariffs/THEIRS/versions",
                data=new_tariff_form(token, code="THEIRS"),
                headers=HTML,
            ),
            await client.post(
                "/portal/tariffs/MINE/assignments",
                data={"_csrf_token": token, "place": f"location:{their_depot.id}"},
                headers=HTML,
            ),
            await client.post(
                "/portal/tariffs/MINE/assignments",
                data={"_csrf_token": token, "place": f"evse:{their_evse}"},
                headers=HTML,
            ),
            await client.post(
                "/portal/tariffs/THEIRS/assignments",
                data={"_csrf_token": token, "place": "brand"},
                headers=HTML,
            ),
            await client.post(
                f"/portal/tariffs/THEIRS/assignments/{their_assignment.id}/delete",
                data={"_csrf_token": token},
                headers=HTML,
            ),
        ]
    assert page.status_code == 200
    assert str(mine.id) in page.text
    assert [a.status_code for a in answers] == [404] * len(answers)
    assert "Their depot" not in page.text
    assert await count(database, brand.key, TariffVersion) == 1
    assert await count(database, brand.key, TariffAssignment) == 0
    assert await count(database, other.key, TariffVersion) == 1
    assert await count(database, other.key, TariffAssignment) == 1


# -- the editor ---------------------------------------------------------------------------


async def test_finance_creates_a_tariff_without_code(database: Database, make_brand, client_for):
    brand = await brand_with_finance(make_brand, database)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        editor = await client.get("/portal/tariffs/new", headers=HTML)
        before = datetime.now(UTC)
        saved = await client.post(
            "/portal/tariffs/new", data=new_tariff_form(csrf_token(editor.text)), headers=HTML
        )
        after = datetime.now(UTC)
        page = await client.get("/portal/tariffs/STANDARD", headers=HTML)
    async with database.tenant_transaction(brand.key) as db_session:
        version = await db_session.scalar(select(TariffVersion))
    assert editor.status_code == 200
    assert 'id="elements-0-energy-price" name="elements-0-energy-price"' in editor.text
    assert version is not None
    assert (saved.status_code, saved.headers["location"]) == (
        303,
        f"/portal/tariffs/STANDARD#version-{version.id}",
    )
    definition = dict(version.definition)
    started = definition.pop("start_date_time")
    assert definition.pop("last_updated") == started
    assert before.replace(microsecond=0) <= datetime.fromisoformat(started) <= after
    assert version.valid_from == datetime.fromisoformat(started)
    assert definition == {
        "id": "STANDARD",
        "currency": "EUR",
        "tariff_alt_text": [
            {"language": "en", "text": "0.39 €/kWh, 0.10 €/min after 15 minutes plugged in"}
        ],
        "min_price": {"excl_vat": "0.50"},
        "max_price": {"excl_vat": "80"},
        "elements": [
            {
                "price_components": [
                    {"type": "ENERGY", "price": "0.29", "step_size": 1, "vat": "19"}
                ],
                "restrictions": {"start_time": "22:00", "end_time": "06:00"},
            },
            {
                "price_components": [
                    {"type": "ENERGY", "price": "0.39", "step_size": 1, "vat": "19"},
                    {"type": "FLAT", "price": "1", "step_size": 1, "vat": "19"},
                ]
            },
        ],
    }
    assert version.idle_fee == {
        "price_per_minute": "0.10",
        "grace": 900,
        "step_size": 60,
        "cap": None,
        "vat": "19",
    }
    assert (version.segment, version.segment_ref, version.created_by) == ("PUBLIC", None, FINANCE)
    assert await audit_actions(database, brand.key) == [
        (
            "portal.tariff.create",
            FINANCE,
            {"code": "STANDARD", "segment": "PUBLIC", "valid_from": version.valid_from.isoformat()},
        )
    ]
    assert f'id="version-{version.id}" data-status="current"' in page.text
    prices = re.search(r'<table class="table prices">.*?</dl>', page.text, re.S)
    assert prices is not None
    shown = [" ".join(TAG_RE.sub("", c).split()) for c in CELL_RE.findall(prices[0])]
    assert shown[6:] == [
        "1",
        "Time of day: 22:00\u201306:00",  # an en dash
        "Energy",
        "€0.29 per kWh",
        "19 %",
        "1 Wh",
        "2",
        "Always",
        "Energy",
        "€0.39 per kWh",
        "19 %",
        "1 Wh",
        "Session fee",
        "€1.00 per session",
        "19 %",
        "—",
    ]
    terms = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", prices[0])
    assert terms == [
        ("Minimum price", "€0.50 excl. VAT"),
        ("Maximum price", "€80.00 excl. VAT"),
        ("Idle fee", "€0.10 per minute after 15 min, VAT 19 %"),
        ("Shown to drivers", "0.39 €/kWh, 0.10 €/min after 15 minutes plugged in"),
    ]


async def test_a_bad_form_shows_each_error_beside_its_input_and_writes_nothing(
    database: Database, make_brand, client_for
):
    brand = await brand_with_finance(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_tariff(db_session, "STANDARD")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        editor = await client.get("/portal/tariffs/new", headers=HTML)
        form = new_tariff_form(
            csrf_token(editor.text),
            code="STANDARD",
            segment="PUBLIC",
            segment_ref="ACME",
            valid_from="2020-01-01T00:00",
            **{
                "elements-0-energy-price": "0.2x",
                "elements-0-energy-vat": "120",
                "elements-0-time-step_size": "0",
                "elements-0-start_time": "25:00",
                "elements-0-min_kwh": "10",
                "elements-0-max_kwh": "5",
                "elements-3-energy-price": "0.123456",
                "elements-3-reservation": "RESERVATION",
                "min_price_excl_vat": "90",
                "idle_fee_price": "",
                "idle_fee_cap": "-1",
            },
        )
        bad = await client.post("/portal/tariffs/new", data=form, headers=HTML)
        reserved = await client.post(
            "/portal/tariffs/new",
            data=new_tariff_form(csrf_token(editor.text), code="new"),
            headers=HTML,
        )
        empty = await client.post(
            "/portal/tariffs/new",
            data={"_csrf_token": csrf_token(editor.text), "code": "", "segment": "X"},
            headers=HTML,
        )
    assert bad.status_code == 400
    assert errors(bad.text) == {
        "code": "A tariff with this code exists: add a version to it instead.",
        "segment_ref": "Only subscription, fleet and roaming prices name a plan, contract or "
        "partner.",
        "valid_from": "Must not be in the past: leave it empty to start now.",
        "elements-0-energy-price": "Enter a number, such as 0.39.",
        "elements-0-energy-vat": "Enter a VAT rate from 0 to 100.",
        "elements-0-time-step_size": "Enter a whole number of at least 1.",
        "elements-0-start_time": "Enter a time as HH:MM.",
        "elements-0-max_kwh": "Must be more than the minimum.",
        "elements-3-energy-price": "Use at most 4 decimal places.",
        "min_price_excl_vat": "Must not be above the maximum price.",
        "idle_fee_cap": "Must not be negative.",
        "idle_fee_price": "Enter the price per minute, or clear the idle fee.",
    }
    # What was typed stays in the form.
    assert 'name="elements-0-energy-price" type="text" value="0.2x"' in bad.text
    assert 'name="elements-0-max_kwh" type="text" value="5"' in bad.text
    assert 'aria-describedby="elements-0-energy-vat-error"' in bad.text
    assert reserved.status_code == 400
    assert errors(reserved.text)["code"] == "This code is reserved: choose another."
    assert empty.status_code == 400
    assert errors(empty.text) == {
        "code": "Use 1 to 36 letters, digits, dots, dashes or underscores.",
        "segment": "Choose a customer segment.",
        "elements": "Add at least one element.",
    }
    assert await count(database, brand.key, TariffVersion) == 1
    assert await audit_actions(database, brand.key) == []


async def test_an_element_that_cannot_apply_as_given_is_refused(
    database: Database, make_brand, client_for
):
    brand = await brand_with_finance(make_brand, database)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        editor = await client.get("/portal/tariffs/new", headers=HTML)
        form = new_tariff_form(
            csrf_token(editor.text),
            **{
                "elements-0-energy-price": "",
                "elements-0-energy-vat": "",
                "elements-3-reservation": "RESERVATION",
            },
        )
        response = await client.post("/portal/tariffs/new", data=form, headers=HTML)
    assert response.status_code == 400
    assert errors(response.text) == {
        "elements-0": "Give this element at least one price.",
        "elements-3-reservation": "A reservation is priced by charging time and the session "
        "fee only.",
    }
    assert await count(database, brand.key, TariffVersion) == 0


async def test_element_rows_are_added_and_removed_in_place(
    database: Database, make_brand, client_for
):
    brand = await brand_with_finance(make_brand, database)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        editor = await client.get("/portal/tariffs/new", headers=HTML)
        token = csrf_token(editor.text)
        added = await client.post(
            "/portal/tariffs/new",
            data={**new_tariff_form(token), "add_element": "1", "save": ""},
            headers=HTMX,
        )
        removed = await client.post(
            "/portal/tariffs/new",
            data={**new_tariff_form(token), "remove_element": "0", "save": ""},
            headers=HTMX,
        )
    assert added.status_code == 200
    assert added.text.lstrip().startswith('<form id="tariff-editor"')  # the form alone
    assert re.findall(r"<legend>Element (\d)</legend>", added.text) == ["1", "2", "3"]
    assert re.findall(r'<input id="([^"]+)"[^>]*autofocus', added.text) == [
        "elements-4-energy-price"
    ]
    assert 'value="0,39"' in added.text  # what was typed stays
    assert removed.status_code == 200
    assert re.findall(r"<legend>Element (\d)</legend>", removed.text) == ["1"]
    assert "elements-0-" not in removed.text
    assert re.findall(r'<button [^>]*id="([^"]+)"[^>]*autofocus', removed.text) == ["add_element"]
    assert 'name="elements-3-energy-price" type="text" value="0,39"' in removed.text
    assert await count(database, brand.key, TariffVersion) == 0


async def test_a_change_is_scheduled_as_a_new_version_from_a_date(
    database: Database, make_brand, client_for
):
    brand = await brand_with_finance(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        current = await add_tariff(
            db_session,
            "STANDARD",
            component("ENERGY", "0.40"),
            component("FLAT", "1.00"),
            idle_fee={"price_per_minute": "0.10", "grace": 900, "vat": "19"},
        )
        fleet = await add_tariff(db_session, "STANDARD", segment=SegmentKind.FLEET, ref="ACME-7")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        editor = await client.get("/portal/tariffs/STANDARD/versions/new", headers=HTML)
        based = await client.get(
            f"/portal/tariffs/STANDARD/versions/new?based_on={fleet.id}", headers=HTML
        )
        form = {
            "_csrf_token": csrf_token(editor.text),
            "segment": "PUBLIC",
            "valid_from": "2031-01-01T00:00",
            "elements-0-present": "1",
            "elements-0-energy-price": "0.45",
            "elements-0-energy-vat": "19",
            "elements-0-flat-price": "1",
            "elements-0-flat-vat": "19",
            "save": "1",
        }
        saved = await client.post("/portal/tariffs/STANDARD/versions", data=form, headers=HTML)
        page = await client.get("/portal/tariffs/STANDARD", headers=HTML)
    assert editor.status_code == 200
    assert 'name="elements-0-energy-price" type="text" value="0.4"' in editor.text
    assert 'name="elements-0-flat-price" type="text" value="1"' in editor.text
    assert 'name="idle_fee_grace" type="text" value="15"' in editor.text
    assert 'name="valid_from" type="datetime-local" value=""' in editor.text
    assert 'name="segment_ref" type="text" value="ACME-7"' in based.text
    assert "Filled in from the version Public · from the start." in editor.text
    assert "Filled in from the version Fleet <code>ACME-7</code> · from the start." in based.text
    async with database.tenant_transaction(brand.key) as db_session:
        new = await db_session.scalar(
            select(TariffVersion).where(TariffVersion.id.not_in([current.id, fleet.id]))
        )
    assert new is not None
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/portal/tariffs/STANDARD#version-{new.id}"
    assert (new.code, new.segment) == ("STANDARD", "PUBLIC")
    assert new.valid_from == datetime(2030, 12, 31, 23, 0, tzinfo=UTC)  # midnight in Berlin
    assert new.idle_fee is None
    statuses = re.findall(
        r'<article class="tariff-version" id="version-([^"]+)" data-status="(\w+)"', page.text
    )
    assert statuses == [
        (str(new.id), "scheduled"),
        (str(current.id), "current"),
        (str(fleet.id), "current"),
    ]
    assert [a for a, _, _ in await audit_actions(database, brand.key)] == ["portal.tariff.create"]


# -- the preview --------------------------------------------------------------------------

ROW_RE = re.compile(r'<tr data-kind="(\w+)">(.*?)</tr>', re.S)
CELL_RE = re.compile(r"<t[hd][^>]*>(.*?)</t[hd]>", re.S)
TAG_RE = re.compile(r"<[^>]+>")


def preview_lines(html: str) -> list[list[str]]:
    """The preview's lines: kind, billed, unit price, VAT rate, excl. and incl. VAT."""
    return [[" ".join(c.split()) for c in CELL_RE.findall(row)] for _, row in ROW_RE.findall(html)]


def total(html: str, which: str) -> str:
    match = re.search(rf'data-testid="preview-total-{which}">([^<]+)<', html)
    assert match is not None
    return match.group(1)


async def test_the_preview_prices_a_sample_session_as_its_cdr_would(
    database: Database, make_brand, client_for
):
    brand = await brand_with_finance(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_tariff(
            db_session,
            "STANDARD",
            component("ENERGY", "0.40"),
            component("FLAT", "1.00"),
            idle_fee={"price_per_minute": "0.10", "grace": 900, "vat": "19"},
        )
        await add_tariff(
            db_session,
            "STANDARD",
            component("ENERGY", "0.50"),
            start=datetime(2029, 1, 1, tzinfo=UTC),
        )
    sample = {
        "sample-start": "2028-03-04T10:00",
        "sample-charging": "60",
        "sample-energy": "20",
        "sample-power": "22",
        "sample-parking": "30",
        "sample-segment": "FLEET",
        "sample-segment_ref": "ACME-7",
    }
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get("/portal/tariffs/STANDARD", headers=HTML)
        now = await client.get("/portal/tariffs/STANDARD/preview", params=sample, headers=HTML)
        later = await client.get(
            "/portal/tariffs/STANDARD/preview",
            params={
                **sample,
                "sample-start": "2030-03-04T10:00",
                "sample-segment": "PUBLIC",
                "sample-segment_ref": "",
            },
            headers=HTMX,
        )
        bad = await client.get(
            "/portal/tariffs/STANDARD/preview",
            params={**sample, "sample-start": "", "sample-charging": "0", "sample-energy": ""},
            headers=HTMX,
        )
        too_much = await client.get(
            "/portal/tariffs/STANDARD/preview",
            params={**sample, "sample-energy": "23", "sample-power": "22"},
            headers=HTMX,
        )
    assert 'name="sample-charging" type="text" value="60"' in page.text
    assert now.status_code == 200
    assert preview_lines(now.text) == [
        ["Energy", "20 kWh", "€0.40", "19 %", "€8.00", "€9.52"],
        ["Session fee", "1", "€1.00", "19 %", "€1.00", "€1.19"],
        ["Idle fee", "15 min", "€0.10", "19 %", "€1.50", "€1.79"],
    ]
    assert (total(now.text, "excl"), total(now.text, "incl")) == ("€10.50", "€12.50")
    assert later.status_code == 200
    assert later.text.lstrip().startswith('<section id="preview"')
    assert preview_lines(later.text) == [["Energy", "20 kWh", "€0.50", "19 %", "€10.00", "€11.90"]]
    assert bad.status_code == 400
    assert errors(bad.text) == {
        "sample-start": "Enter a date and time.",
        "sample-charging": "Must be more than zero.",
        "sample-energy": "Enter a value.",
    }
    assert too_much.status_code == 400
    assert errors(too_much.text) == {
        "sample-energy": "More than the maximum power delivers in that time."
    }


async def test_the_editor_previews_unsaved_prices(database: Database, make_brand, client_for):
    brand = await brand_with_finance(make_brand, database)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        editor = await client.get("/portal/tariffs/new", headers=HTML)
        token = csrf_token(editor.text)
        sample = {
            "sample-start": "2030-03-04T23:00",
            "sample-charging": "60",
            "sample-energy": "10",
            "sample-power": "11",
            "sample-parking": "0",
        }
        night = await client.post(
            "/portal/tariffs/new",
            data={**new_tariff_form(token), **sample, "preview": "1", "save": ""},
            headers=HTMX,
        )
        wrong = await client.post(
            "/portal/tariffs/new",
            data={
                **new_tariff_form(token, **{"elements-0-energy-price": "x"}),
                **sample,
                "preview": "1",
                "save": "",
            },
            headers=HTMX,
        )
    assert night.status_code == 200
    # 23:00 in Berlin is in the night element: 10 kWh at 0.29; the day element's session fee.
    assert preview_lines(night.text) == [
        ["Energy", "10 kWh", "€0.29", "19 %", "€2.90", "€3.45"],
        ["Session fee", "1", "€1.00", "19 %", "€1.00", "€1.19"],
    ]
    assert (total(night.text, "excl"), total(night.text, "incl")) == ("€3.90", "€4.64")
    assert re.findall(r'<div id="([^"]+)"[^>]*autofocus', night.text) == ["editor-preview-result"]
    assert wrong.status_code == 400
    assert errors(wrong.text) == {"elements-0-energy-price": "Enter a number, such as 0.39."}
    assert "Correct the tariff above to see its price." in wrong.text
    assert await count(database, brand.key, TariffVersion) == 0


# -- where a tariff applies ---------------------------------------------------------------


async def test_a_tariff_is_assigned_to_places_and_removed_from_them(
    database: Database, make_brand, client_for
):
    brand = await brand_with_finance(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_tariff(db_session, "STANDARD")
        depot = await add_location(db_session, "Depot", city="Kiel")
        station = await add_station(db_session, depot, "CS-1")
        evse = await db_session.scalar(select(Evse).where(Evse.charging_station_id == station.id))
        assert evse is not None
        evse_pk = evse.id
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, FINANCE, PASSWORD)
        page = await client.get("/portal/tariffs/STANDARD", headers=HTML)
        token = csrf_token(page.text)
        select_match = re.search(r'<select id="place".*?</select>', page.text, re.S)
        assert select_match is not None
        options = re.findall(r'<option value="([^"]+)" >([^<]+)</option>', select_match[0])
        to_evse = await client.post(
            "/portal/tariffs/STANDARD/assignments",
            data={"_csrf_token": token, "place": f"evse:{evse_pk}"},
            headers=HTML,
        )
        again = await client.post(
            "/portal/tariffs/STANDARD/assignments",
            data={"_csrf_token": token, "place": f"evse:{evse_pk}"},
            headers=HTML,
        )
        to_brand = await client.post(
            "/portal/tariffs/STANDARD/assignments",
            data={"_csrf_token": token, "place": "brand"},
            headers=HTML,
        )
        wrong = await client.post(
            "/portal/tariffs/STANDARD/assignments",
            data={"_csrf_token": token, "place": "station:nonsense"},
            headers=HTML,
        )
        assigned = await client.get("/portal/tariffs/STANDARD", headers=HTML)
        rows = re.findall(
            r'<tr data-assignment="([^"]+)">\s*<th scope="row">([^<]+)</th>', assigned.text
        )
        removed = await client.post(
            f"/portal/tariffs/STANDARD/assignments/{rows[1][0]}/delete",
            data={"_csrf_token": token},
            headers=HTML,
        )
        after = await client.get("/portal/tariffs/STANDARD", headers=HTML)
    connector = options[3][0]
    assert options == [
        ("brand", "Whole brand"),
        (f"location:{depot.id}", "Location Depot"),
        (f"evse:{evse_pk}", "EVSE CS-1 / 1"),
        (connector, "Connector CS-1 / 1 / 1"),
    ]
    assert [to_evse.status_code, again.status_code, to_brand.status_code] == [303, 303, 303]
    assert to_evse.headers["location"] == "/portal/tariffs/STANDARD#places"
    assert wrong.status_code == 400
    assert errors(wrong.text) == {"place": "Choose where this tariff applies from the list."}
    assert [name for _, name in rows] == ["Whole brand", "EVSE CS-1 / 1"]
    assert removed.status_code == 303
    assert re.findall(
        r'<tr data-assignment="[^"]+">\s*<th scope="row">([^<]+)</th>', after.text
    ) == ["Whole brand"]
    async with database.tenant_transaction(brand.key) as db_session:
        left = [
            (a.code, a.location_id, a.evse_pk, a.connector_pk)
            for a in await db_session.scalars(select(TariffAssignment))
        ]
    assert left == [("STANDARD", None, None, None)]
    assert await audit_actions(database, brand.key) == [
        ("portal.tariff.assign", FINANCE, {"code": "STANDARD", "place": f"evse:{evse_pk}"}),
        ("portal.tariff.assign", FINANCE, {"code": "STANDARD", "place": f"evse:{evse_pk}"}),
        ("portal.tariff.assign", FINANCE, {"code": "STANDARD", "place": "brand"}),
        (
            "portal.tariff.unassign",
            FINANCE,
            {
                "code": "STANDARD",
                "location_id": None,
                "evse_id": str(evse_pk),
                "connector_id": None,
            },
        ),
    ]
