"""Drivers in the portal: accounts, IdTokens, customer groups, subscriptions, wallet, points."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import func, select

from tests.factories import add_fleet_account, add_user
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.billing import subscriptions
from voltlane.charging import tokens
from voltlane.core.db import Database
from voltlane.models.tenant import (
    AccountKind,
    AuditEntry,
    CustomerAccount,
    IdToken,
    IdTokenStatus,
    IdTokenType,
    Invoicing,
    LoyaltyEntry,
    LoyaltyKind,
    OperatorUser,
    Role,
    Subscription,
    WalletEntry,
    WalletKind,
    WalletReason,
)
from voltlane.tenancy import TenantInfo
from voltlane.tenancy.spec import Loyalty
from voltlane.web.i18n import translations

PASSWORD = "correct horse battery"
VOID = {"input", "br", "img", "meta", "link", "hr", "col", "source"}


class _Tables(HTMLParser):
    """The body rows of the table(s) inside the element with ``id``, as cell texts."""

    def __init__(self, container: str) -> None:
        super().__init__()
        self.container = container
        self.depth = 0  # > 0 inside the container
        self.in_body = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.container:
            self.depth = 1
            return
        if not self.depth:
            return
        if tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.rows.append([])
        elif tag in {"td", "th"} and self.in_body:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or not self.depth:
            return
        self.depth -= 1
        if tag == "tbody":
            self.in_body = False
        elif tag in {"td", "th"} and self.cell is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def rows(html: str, container: str) -> list[list[str]]:
    parser = _Tables(container)
    parser.feed(html)
    return parser.rows


def field_error(html: str, name: str) -> str | None:
    marker = f'<p class="field-error" id="{name}-error">'
    start = html.find(marker)
    if start < 0:
        return None
    return html[start + len(marker) : html.index("</p>", start)]


async def add_driver(
    db_session: Any, name: str, email: str | None, **extra: Any
) -> CustomerAccount:
    values: dict[str, Any] = {
        "kind": AccountKind.DRIVER,
        "name": name,
        "email": email,
        "locale": "en_GB",
        "street": None,
        "postal_code": None,
        "city": None,
        "country": "DE",
        "vat_id": None,
        "buyer_reference": None,
        "invoicing": Invoicing.PER_SESSION,
        "payment_terms_days": 14,
        **extra,
    }
    return await add_fleet_account(db_session, **values)


async def add_card(db_session: Any, value: str, **extra: Any) -> IdToken:
    data: dict[str, Any] = {"type": IdTokenType.ISO14443, **extra}
    return await tokens.create_token(db_session, tokens.IdTokenCreate(id_token=value, **data))


async def staffed_brand(make_brand: Any, database: Database, **kwargs: Any) -> TenantInfo:
    """A brand with an operations user (reads and writes drivers) and a read-only one."""
    brand = await make_brand(**kwargs)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS)
        await add_user(db_session, "viewer@example.com", PASSWORD, Role.READ_ONLY)
    return brand


async def audit_actions(
    database: Database, brand: TenantInfo
) -> list[tuple[str, str | None, dict[str, Any]]]:
    async with database.tenant_transaction(brand.key) as db_session:
        entries = await db_session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("portal.%")).order_by(AuditEntry.id)
        )
        return [(e.action, e.actor_email, e.detail) for e in entries]


# -- driver accounts ---------------------------------------------------------------------------


async def test_drivers_are_listed_by_name_searched_by_name_or_email_and_exported(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        lena = await add_driver(db_session, "Lena Fischer", "lena@example.com", city="Kiel")
        await add_card(db_session, "04A1B2", account_id=lena.id)
        await add_card(db_session, "04A1B3", account_id=lena.id)
        jonas = await add_driver(db_session, "jonas Weber", "=cmd@example.com")
        await add_driver(db_session, "Ana Costa", "ana@fischer.example")
        await add_fleet_account(db_session, name="Fischer Logistik GmbH")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        everyone = await client.get("/portal/drivers", headers=HTML)
        searched = await client.get("/portal/drivers?q=FISCHER", headers=HTML)
        fragment = await client.get(
            "/portal/drivers?q=fischer", headers={**HTML, "HX-Request": "true"}
        )
        exported = await client.get("/portal/drivers?format=csv", headers=HTML)
    assert everyone.status_code == 200
    assert rows(everyone.text, "drivers-table") == [
        [
            "Ana Costa",
            "ana@fischer.example",
            "—",
            "DE",
            "0",
            rows(everyone.text, "drivers-table")[0][5],
        ],
        [
            "jonas Weber",
            "=cmd@example.com",
            "—",
            "DE",
            "0",
            rows(everyone.text, "drivers-table")[1][5],
        ],
        [
            "Lena Fischer",
            "lena@example.com",
            "Kiel",
            "DE",
            "2",
            rows(everyone.text, "drivers-table")[2][5],
        ],
    ]
    assert [r[0] for r in rows(searched.text, "drivers-table")] == ["Ana Costa", "Lena Fischer"]
    assert 'value="FISCHER"' in searched.text
    assert fragment.text.lstrip().startswith("<table")  # HTMX gets the table alone
    assert exported.headers["content-disposition"] == 'attachment; filename="drivers.csv"'
    lines = exported.text.split("\r\n")
    assert lines[0] == (
        "id,name,email,street,postal_code,city,country,locale,vat_id,redeem_points,cards,created_at"
    )
    assert [line.split(",")[1:11] for line in lines[1:-1]] == [
        ["Ana Costa", "ana@fischer.example", "", "", "", "DE", "en_GB", "", "no", "0"],
        ["jonas Weber", "'=cmd@example.com", "", "", "", "DE", "en_GB", "", "no", "0"],
        ["Lena Fischer", "lena@example.com", "", "", "Kiel", "DE", "en_GB", "", "no", "2"],
    ]
    assert lines[3].split(",")[0] == str(lena.id)
    assert lines[2].split(",")[0] == str(jonas.id)
    assert lines[-1] == ""


async def test_the_driver_list_pages_twenty_five_at_a_time(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        for n in range(27):
            await add_driver(db_session, f"Driver {n:02d}", f"d{n:02d}@example.com")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        first = await client.get("/portal/drivers?q=driver", headers=HTML)
        second = await client.get("/portal/drivers?q=driver&page=2", headers=HTML)
    assert len(rows(first.text, "drivers-table")) == 25
    assert 'href="?q=driver&amp;page=2"' in first.text
    assert [r[0] for r in rows(second.text, "drivers-table")] == ["Driver 25", "Driver 26"]
    assert 'href="?q=driver&amp;page=1"' in second.text


async def test_a_driver_page_shows_tokens_subscription_wallet_and_points(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(
        make_brand, database, loyalty=Loyalty(points_per_kwh=10, point_value="0.01")
    )
    at = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    async with database.tenant_transaction(brand.key) as db_session:
        lena = await add_driver(
            db_session,
            "Lena Fischer",
            "lena@example.com",
            street="Hafenweg 2",
            postal_code="24103",
            city="Kiel",
            redeem_points=True,
        )
        await add_card(db_session, "04A1B2", account_id=lena.id, label="Keyring")
        await add_card(
            db_session,
            "APP-77",
            type=IdTokenType.CENTRAL,
            account_id=lena.id,
            status=IdTokenStatus.BLOCKED,
        )
        await add_card(db_session, "OTHER-1")  # nobody's
        plan = await subscriptions.create_plan(
            db_session,
            subscriptions.PlanCreate("GREEN", "Green", Decimal("9.90"), Decimal("19")),
            currency="EUR",
        )
        await subscriptions.subscribe(db_session, lena.id, plan.code, starts_on=date(2026, 10, 1))
        for minutes, kind, amount in ((0, WalletKind.TOPUP, 2500), (5, WalletKind.SESSION, -740)):
            db_session.add(
                WalletEntry(
                    account_id=lena.id,
                    kind=kind,
                    amount=amount,
                    currency="EUR",
                    reference=uuid.uuid4(),
                    created_at=at + timedelta(minutes=minutes),
                )
            )
        db_session.add(
            LoyaltyEntry(account_id=lena.id, kind=LoyaltyKind.EARN, points=185, created_at=at)
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/drivers/{lena.id}", headers=HTML)
    assert page.status_code == 200
    assert "<h1>Lena Fischer</h1>" in page.text
    assert rows(page.text, "driver-tokens") == [
        ["04A1B2", "RFID card (ISO 14443)", "Active", "Keyring", "—", "Edit Block"],
        ["APP-77", "Issued centrally (app, back office)", "Blocked", "—", "—", "Edit Unblock"],
    ]
    assert rows(page.text, "subscriptions") == [
        ["Green (GREEN)", "€9.90", "2026-10-01", "open end"],
    ]
    assert 'data-testid="wallet-balance">€17.60<' in page.text
    assert rows(page.text, "wallet-moves") == [
        ["02/11/2026, 10:35", "Session paid", "-€7.40"],
        ["02/11/2026, 10:30", "Top-up", "€25.00"],
    ]
    assert 'data-testid="loyalty-balance">185<' in page.text
    assert rows(page.text, "loyalty-moves") == [["02/11/2026, 10:30", "Earned", "185"]]
    assert f'action="/portal/drivers/{lena.id}/subscriptions/' in page.text  # end it


async def test_billing_details_are_changed_audited_and_a_bad_form_changes_nothing(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        lena = await add_driver(db_session, "Lena Fischer", "lena@example.com")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        form = await client.get(f"/portal/drivers/{lena.id}/edit", headers=HTML)
        token = csrf_token(form.text)
        bad = await client.post(
            f"/portal/drivers/{lena.id}",
            data={
                "_csrf_token": token,
                "name": "",
                "email": "lena(at)example",
                "country": "Germany",
                "locale": "en_GB",
                "vat_id": "",
                "city": "Lübeck",
            },
            headers=HTML,
        )
        good = await client.post(
            f"/portal/drivers/{lena.id}",
            data={
                "_csrf_token": token,
                "name": "Lena Fischer-Berg",
                "email": "lena@example.com",
                "street": "Hafenweg 2",
                "postal_code": "24103",
                "city": "Kiel",
                "country": "de",
                "locale": "en_GB",
                "redeem_points": "on",
            },
            headers=HTML,
        )
        shown = await client.get(f"/portal/drivers/{lena.id}", headers=HTML)
    assert form.status_code == 200
    assert 'value="Lena Fischer"' in form.text
    assert bad.status_code == 400
    assert field_error(bad.text, "name") == "Enter a name."
    assert field_error(bad.text, "email") == "Enter an e-mail address like name@example.com."
    assert field_error(bad.text, "country") == "Enter a two-letter country code such as DE."
    assert 'value="Lübeck"' in bad.text  # the input is kept
    assert (good.status_code, good.headers["location"]) == (303, f"/portal/drivers/{lena.id}")
    assert "<h1>Lena Fischer-Berg</h1>" in shown.text
    assert "Hafenweg 2<br>" in shown.text
    assert await audit_actions(database, brand) == [
        (
            "portal.customer_account.update",
            "ops@example.com",
            {"changes": ["city", "name", "postal_code", "redeem_points", "street"]},
        )
    ]


async def test_staff_add_a_driver(database: Database, make_brand, client_for):
    brand = await staffed_brand(make_brand, database)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        form = await client.get("/portal/drivers/new", headers=HTML)
        created = await client.post(
            "/portal/drivers",
            data={
                "_csrf_token": csrf_token(form.text),
                "name": "Mia Wolf",
                "email": "mia@example.com",
                "country": "DE",
                "locale": "en_GB",
            },
            headers=HTML,
        )
    async with database.tenant_transaction(brand.key) as db_session:
        mia = await db_session.scalar(select(CustomerAccount))
    assert mia is not None
    assert (mia.kind, mia.name, mia.invoicing) == (
        AccountKind.DRIVER,
        "Mia Wolf",
        Invoicing.PER_SESSION,
    )
    assert created.headers["location"] == f"/portal/drivers/{mia.id}"
    assert await audit_actions(database, brand) == [
        ("portal.customer_account.create", "ops@example.com", {"kind": "driver"})
    ]


async def test_a_driver_is_subscribed_to_a_plan_and_the_subscription_ended(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        lena = await add_driver(db_session, "Lena Fischer", "lena@example.com")
        await subscriptions.create_plan(
            db_session,
            subscriptions.PlanCreate("GREEN", "Green", Decimal("9.90"), Decimal("19")),
            currency="EUR",
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/drivers/{lena.id}", headers=HTML)
        token = csrf_token(page.text)
        unknown = await client.post(
            f"/portal/drivers/{lena.id}/subscriptions",
            data={"_csrf_token": token, "plan_code": "", "starts_on": "someday"},
            headers=HTML,
        )
        subscribed = await client.post(
            f"/portal/drivers/{lena.id}/subscriptions",
            data={"_csrf_token": token, "plan_code": "GREEN", "starts_on": "2026-12-01"},
            headers=HTML,
        )
        overlapping = await client.post(
            f"/portal/drivers/{lena.id}/subscriptions",
            data={"_csrf_token": token, "plan_code": "GREEN", "starts_on": "2027-01-01"},
            headers=HTML,
        )
        async with database.tenant_transaction(brand.key) as db_session:
            held = await db_session.scalar(select(Subscription))
        assert held is not None
        too_early = await client.post(
            f"/portal/drivers/{lena.id}/subscriptions/{held.id}/end",
            data={"_csrf_token": token, "ends_on": "2026-11-30"},
            headers=HTML,
        )
        ended = await client.post(
            f"/portal/drivers/{lena.id}/subscriptions/{held.id}/end",
            data={"_csrf_token": token, "ends_on": "2027-03-31"},
            headers=HTML,
        )
        shown = await client.get(f"/portal/drivers/{lena.id}", headers=HTML)
    assert unknown.status_code == 400
    assert field_error(unknown.text, "plan_code") == "Choose a plan."
    assert field_error(unknown.text, "starts_on") == "Enter a date."
    assert (subscribed.status_code, subscribed.headers["location"]) == (
        303,
        f"/portal/drivers/{lena.id}",
    )
    assert overlapping.status_code == 400
    assert field_error(overlapping.text, "starts_on") == (
        "the account is subscribed from 2026-12-01 to open end; end that first"
    )
    assert too_early.status_code == 400
    assert field_error(too_early.text, "ends_on") == ("ends_on: not before the subscription starts")
    assert ended.status_code == 303
    assert rows(shown.text, "subscriptions") == [
        ["Green (GREEN)", "€9.90", "2026-12-01", "2027-03-31"]
    ]
    assert [a[:2] for a in await audit_actions(database, brand)] == [
        ("portal.subscription.create", "ops@example.com"),
        ("portal.subscription.end", "ops@example.com"),
    ]


# -- IdTokens and groups -----------------------------------------------------------------------


async def test_tokens_are_filtered_by_status_type_account_group_and_text_and_exported(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        lena = await add_driver(db_session, "Lena Fischer", "lena@example.com")
        fleet = await add_fleet_account(db_session)
        await add_card(db_session, "04A1B2", account_id=lena.id, group_id_token="FAM-1")
        await add_card(
            db_session,
            "04A1B3",
            account_id=lena.id,
            group_id_token="FAM-1",
            status=IdTokenStatus.BLOCKED,
            label="Spare card",
        )
        await add_card(
            db_session,
            "AA-9",
            account_id=fleet.id,
            driver_name="Tom Berg",
            vehicle="B-SL 1234",
            cost_centre="CC-10",
        )
        await add_card(db_session, "APP-5", type=IdTokenType.CENTRAL)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        everything = await client.get("/portal/drivers/tokens", headers=HTML)
        blocked = await client.get("/portal/drivers/tokens?status=Blocked", headers=HTML)
        central = await client.get("/portal/drivers/tokens?type=Central", headers=HTML)
        of_lena = await client.get(f"/portal/drivers/tokens?account={lena.id}", headers=HTML)
        family = await client.get("/portal/drivers/tokens?group=FAM-1", headers=HTML)
        by_vehicle = await client.get("/portal/drivers/tokens?q=b-sl", headers=HTML)
        exported = await client.get("/portal/drivers/tokens?group=FAM-1&format=csv", headers=HTML)
        bad_status = await client.get("/portal/drivers/tokens?status=Lost", headers=HTML)
    assert [r[:7] for r in rows(everything.text, "tokens-table")] == [
        ["04A1B2", "RFID card (ISO 14443)", "Active", "—", "Lena Fischer", "FAM-1", "—"],
        ["04A1B3", "RFID card (ISO 14443)", "Blocked", "Spare card", "Lena Fischer", "FAM-1", "—"],
        [
            "AA-9",
            "RFID card (ISO 14443)",
            "Active",
            "—",
            "Spree Logistik GmbH",
            "—",
            "Tom Berg · B-SL 1234 · CC-10",
        ],
        ["APP-5", "Issued centrally (app, back office)", "Active", "—", "—", "—", "—"],
    ]
    assert [r[0] for r in rows(blocked.text, "tokens-table")] == ["04A1B3"]
    assert [r[0] for r in rows(central.text, "tokens-table")] == ["APP-5"]
    assert [r[0] for r in rows(of_lena.text, "tokens-table")] == ["04A1B2", "04A1B3"]
    assert 'data-testid="filtered-account">Lena Fischer<' in of_lena.text
    assert [r[0] for r in rows(family.text, "tokens-table")] == ["04A1B2", "04A1B3"]
    assert [r[0] for r in rows(by_vehicle.text, "tokens-table")] == ["AA-9"]
    lines = exported.text.split("\r\n")
    assert lines[0] == (
        "id_token,type,status,label,group_id_token,account_id,account,driver,vehicle,"
        "cost_centre,expires_at,created_at"
    )
    assert [line.rsplit(",", 1)[0] for line in lines[1:-1]] == [
        f"04A1B2,ISO14443,Accepted,,FAM-1,{lena.id},Lena Fischer,,,,",
        f"04A1B3,ISO14443,Blocked,Spare card,FAM-1,{lena.id},Lena Fischer,,,,",
    ]
    assert bad_status.status_code == 400


async def test_customer_groups_are_the_group_ids_tokens_carry(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        lena = await add_driver(db_session, "Lena Fischer", "lena@example.com")
        await add_card(db_session, "04A1B2", account_id=lena.id, group_id_token="FAM-1")
        await add_card(db_session, "04A1B3", group_id_token="FAM-1", status=IdTokenStatus.BLOCKED)
        await add_card(db_session, "AA-9", group_id_token="ACME")
        await add_card(db_session, "AA-10")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        groups = await client.get("/portal/drivers/groups", headers=HTML)
        searched = await client.get("/portal/drivers/groups?q=fam", headers=HTML)
        exported = await client.get("/portal/drivers/groups?format=csv", headers=HTML)
    assert rows(groups.text, "groups-table") == [["ACME", "1", "0", "0"], ["FAM-1", "2", "1", "1"]]
    assert rows(searched.text, "groups-table") == [["FAM-1", "2", "1", "1"]]
    assert 'href="/portal/drivers/tokens?group=FAM-1"' in groups.text
    assert exported.text.split("\r\n") == [
        "group_id_token,tokens,blocked,accounts",
        "ACME,1,0,0",
        "FAM-1,2,1,1",
        "",
    ]


async def test_a_token_is_added_edited_blocked_and_unblocked_each_audited(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        lena = await add_driver(db_session, "Lena Fischer", "lena@example.com")
        await add_card(db_session, "04A1B2")
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        form = await client.get(f"/portal/drivers/tokens/new?account={lena.id}", headers=HTML)
        token = csrf_token(form.text)
        duplicate = await client.post(
            "/portal/drivers/tokens",
            data={
                "_csrf_token": token,
                "id_token": "04A1B2",
                "type": "ISO14443",
                "status": "Accepted",
                "account_id": str(lena.id),
                "label": "Keyring",
            },
            headers=HTML,
        )
        invalid = await client.post(
            "/portal/drivers/tokens",
            data={
                "_csrf_token": token,
                "id_token": "X" * 37,
                "type": "Card",
                "status": "Accepted",
                "expires_at": "tomorrow",
                "vehicle": "V" * 41,
            },
            headers=HTML,
        )
        added = await client.post(
            "/portal/drivers/tokens",
            data={
                "_csrf_token": token,
                "id_token": "04C9",
                "type": "ISO14443",
                "status": "Accepted",
                "account_id": str(lena.id),
                "label": "Keyring",
                "expires_at": "2027-06-30T23:59",
                "group_id_token": "FAM-1",
            },
            headers=HTML,
        )
        async with database.tenant_transaction(brand.key) as db_session:
            card = await db_session.scalar(select(IdToken).where(IdToken.id_token == "04C9"))
        assert card is not None
        edit = await client.get(f"/portal/drivers/tokens/{card.id}/edit", headers=HTML)
        edited = await client.post(
            f"/portal/drivers/tokens/{card.id}",
            data={
                "_csrf_token": token,
                "label": "Blue keyring",
                "account_id": str(lena.id),
                "expires_at": "2027-06-30T23:59",
                "group_id_token": "FAM-1",
                "vehicle": "HH-LF 7",
            },
            headers=HTML,
        )
        blocked = await client.post(
            f"/portal/drivers/tokens/{card.id}/block",
            data={"_csrf_token": token, "next": f"/portal/drivers/{lena.id}"},
            headers=HTML,
        )
        refused_next = await client.post(
            f"/portal/drivers/tokens/{card.id}/unblock",
            data={"_csrf_token": token, "next": "https://evil.example/"},
            headers=HTML,
        )
    async with database.tenant_transaction(brand.key) as db_session:
        stored = await db_session.get(IdToken, card.id)
        count = await db_session.scalar(select(func.count()).select_from(IdToken))
    assert "selected>Lena Fischer</option>" in form.text
    assert duplicate.status_code == 400
    assert field_error(duplicate.text, "id_token") == "ISO14443 token 04A1B2 already exists."
    assert 'value="Keyring"' in duplicate.text
    assert invalid.status_code == 400
    assert field_error(invalid.text, "id_token") == "At most 36 characters."
    assert field_error(invalid.text, "type") == "Choose the kind of token."
    assert field_error(invalid.text, "expires_at") == "Enter a date and time."
    assert field_error(invalid.text, "vehicle") == "At most 40 characters."
    assert (added.status_code, added.headers["location"]) == (
        303,
        "/portal/drivers/tokens?q=04C9",
    )
    assert 'value="2027-06-30T23:59"' in edit.text  # the brand's local time
    assert edited.status_code == 303
    assert blocked.headers["location"] == f"/portal/drivers/{lena.id}"
    assert refused_next.headers["location"] == "/portal/"
    assert stored is not None
    assert (stored.label, stored.vehicle, stored.status, stored.expires_at) == (
        "Blue keyring",
        "HH-LF 7",
        IdTokenStatus.ACCEPTED,
        datetime(2027, 6, 30, 21, 59, tzinfo=UTC),  # 23:59 in Berlin summer time
    )
    assert count == 2  # nothing written by the refused forms
    assert await audit_actions(database, brand) == [
        ("portal.id_token.create", "ops@example.com", {"type": "ISO14443", "status": "Accepted"}),
        ("portal.id_token.update", "ops@example.com", {"changes": ["label", "vehicle"]}),
        ("portal.id_token.block", "ops@example.com", {"from": "Accepted", "to": "Blocked"}),
        ("portal.id_token.unblock", "ops@example.com", {"from": "Blocked", "to": "Accepted"}),
    ]


# -- who may see and change what ---------------------------------------------------------------


async def test_a_read_only_role_sees_drivers_but_cannot_change_them(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        lena = await add_driver(db_session, "Lena Fischer", "lena@example.com")
        card = await add_card(db_session, "04A1B2", account_id=lena.id)
        fleet = await add_fleet_account(db_session)
        await add_user(
            db_session, "fm@example.com", PASSWORD, Role.FLEET_MANAGER, fleet_account_id=fleet.id
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "viewer@example.com", PASSWORD)
        page = await client.get(f"/portal/drivers/{lena.id}", headers=HTML)
        token = csrf_token(page.text)
        answers = [
            (await client.post(path, data={"_csrf_token": token, **data}, headers=HTML)).status_code
            for path, data in (
                (f"/portal/drivers/tokens/{card.id}/block", {}),
                (f"/portal/drivers/{lena.id}", {"name": "X", "country": "DE", "locale": "en_GB"}),
                ("/portal/drivers/tokens", {"id_token": "NEW", "type": "ISO14443"}),
                (f"/portal/drivers/{lena.id}/subscriptions", {"plan_code": "GREEN"}),
            )
        ]
        edit_form = await client.get(f"/portal/drivers/{lena.id}/edit", headers=HTML)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "fm@example.com", PASSWORD)
        fleet_manager = [
            (await client.get(path, headers=HTML)).status_code
            for path in ("/portal/drivers", "/portal/drivers/tokens", f"/portal/drivers/{lena.id}")
        ]
    assert page.status_code == 200
    assert "Edit billing details" not in page.text
    assert "/block" not in page.text
    assert answers == [403, 403, 403, 403]
    assert edit_form.status_code == 403
    assert fleet_manager == [403, 403, 403]
    async with database.tenant_transaction(brand.key) as db_session:
        stored = await db_session.get(IdToken, card.id)
        assert stored is not None
        assert stored.status is IdTokenStatus.ACCEPTED
    assert await audit_actions(database, brand) == []


async def test_another_brands_drivers_and_tokens_answer_404(
    database: Database, make_brand, client_for
):
    brand = await staffed_brand(make_brand, database)
    other = await make_brand()
    async with database.tenant_transaction(other.key) as db_session:
        theirs = await add_driver(db_session, "Lena Fischer", "lena@example.com")
        their_card = await add_card(db_session, "04A1B2", account_id=theirs.id)
        plan = await subscriptions.create_plan(
            db_session,
            subscriptions.PlanCreate("GREEN", "Green", Decimal("9.90"), Decimal("19")),
            currency="EUR",
        )
        held = await subscriptions.subscribe(
            db_session, theirs.id, plan.code, starts_on=date(2026, 10, 1)
        )
    async with database.tenant_transaction(brand.key) as db_session:
        mine = await add_driver(db_session, "Mia Wolf", "mia@example.com")
        fleet = await add_fleet_account(db_session)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "ops@example.com", PASSWORD)
        page = await client.get(f"/portal/drivers/{mine.id}", headers=HTML)
        token = csrf_token(page.text)
        reads = [
            (await client.get(path, headers=HTML)).status_code
            for path in (
                f"/portal/drivers/{theirs.id}",
                f"/portal/drivers/{theirs.id}/edit",
                f"/portal/drivers/{fleet.id}",  # a fleet is no driver
                f"/portal/drivers/tokens/{their_card.id}/edit",
                f"/portal/drivers/tokens?account={theirs.id}",
            )
        ]
        writes = [
            (await client.post(path, data={"_csrf_token": token, **data}, headers=HTML)).status_code
            for path, data in (
                (f"/portal/drivers/{theirs.id}", {"name": "X", "country": "DE", "locale": "en_GB"}),
                (f"/portal/drivers/tokens/{their_card.id}/block", {}),
                (f"/portal/drivers/tokens/{their_card.id}", {"label": "mine"}),
                (f"/portal/drivers/{theirs.id}/subscriptions", {"plan_code": "GREEN"}),
                (
                    f"/portal/drivers/{mine.id}/subscriptions/{held.id}/end",
                    {"ends_on": "2026-12-31"},
                ),
            )
        ]
        billed_elsewhere = await client.post(
            "/portal/drivers/tokens",
            data={
                "_csrf_token": token,
                "id_token": "NEW-1",
                "type": "ISO14443",
                "status": "Accepted",
                "account_id": str(theirs.id),
            },
            headers=HTML,
        )
    assert reads == [404, 404, 404, 404, 404]
    assert writes == [404, 404, 404, 404, 404]
    assert billed_elsewhere.status_code == 400
    assert field_error(billed_elsewhere.text, "account_id") == f"No customer account {theirs.id}."
    async with database.tenant_transaction(other.key) as db_session:
        stored = await db_session.get(IdToken, their_card.id)
        assert stored is not None
        assert (stored.status, stored.label) == (
            IdTokenStatus.ACCEPTED,
            None,
        )


# -- prepaid wallet adjustments by finance staff -----------------------------------------------

GERMAN = translations("de_DE").gettext  # the page's words once the catalog has them


async def wallet_brand(make_brand: Any, database: Database) -> tuple[TenantInfo, CustomerAccount]:
    """A German brand with a finance user, and a driver whose wallet holds €25.00."""
    brand = await staffed_brand(make_brand, database, locale="de_DE", locales=["de_DE"])
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "fin@example.com", PASSWORD, Role.FINANCE, "Fiona Finance")
        lena = await add_driver(db_session, "Lena Fischer", "lena@example.com")
        db_session.add(
            WalletEntry(
                account_id=lena.id,
                kind=WalletKind.TOPUP,
                amount=2500,
                currency="EUR",
                reference=uuid.uuid4(),
                created_at=datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
            )
        )
    return brand, lena


def wallet_reference(html: str) -> str:
    match = re.search(r'name="reference" value="([0-9a-f-]{36})"', html)
    assert match is not None, "the page has no wallet form"
    return match.group(1)


async def wallet_of(database: Database, brand: TenantInfo) -> list[tuple[Any, ...]]:
    async with database.tenant_transaction(brand.key) as db_session:
        entries = await db_session.scalars(select(WalletEntry).order_by(WalletEntry.created_at))
        return [
            (e.kind, e.amount, e.currency, e.reason, e.note, e.staff_email, e.staff_user_id)
            for e in entries
        ]


async def test_finance_credits_and_debits_a_wallet_in_german_amounts_and_the_history_says_why(
    database: Database, make_brand, client_for
):
    brand, lena = await wallet_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        fiona = await db_session.scalar(
            select(OperatorUser.id).where(OperatorUser.email == "fin@example.com")
        )
    page_path = f"/portal/drivers/{lena.id}"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "fin@example.com", PASSWORD)
        page = await client.get(page_path, headers=HTML)
        credit = {
            "_csrf_token": csrf_token(page.text),
            "reference": wallet_reference(page.text),
            "direction": "credit",
            "amount": "12,50",
            "reason": "goodwill",
            "note": "Ladesäule am Hafen defekt",
        }
        credited = await client.post(f"{page_path}/wallet", data=credit, headers=HTML)
        sent_again = await client.post(f"{page_path}/wallet", data=credit, headers=HTML)
        after_credit = await client.get(page_path, headers=HTML)
        debited = await client.post(
            f"{page_path}/wallet",
            data={
                **credit,
                "reference": wallet_reference(after_credit.text),
                "direction": "debit",
                "amount": "1.030,00",  # German grouping: one thousand and thirty
                "reason": "correction",
                "note": "too much",
            },
            headers=HTML,
        )
        debit = await client.post(
            f"{page_path}/wallet",
            data={
                **credit,
                "reference": wallet_reference(after_credit.text),
                "direction": "debit",
                "amount": "30",
                "reason": "correction",
                "note": "Aufladung doppelt gebucht",
            },
            headers=HTML,
        )
        shown = await client.get(page_path, headers=HTML)
    assert page.status_code == 200
    assert f'action="/portal/drivers/{lena.id}/wallet#wallet-form"' in page.text
    assert "1.250,50" in page.text  # how the brand's language writes an amount
    assert (credited.status_code, credited.headers["location"]) == (
        303,
        f"{page_path}#wallet-heading",
    )
    assert (sent_again.status_code, sent_again.headers["location"]) == (
        303,
        f"{page_path}#wallet-heading",
    )
    assert debited.status_code == 400  # €1,030.00 is more than the €37.50 held
    assert field_error(debited.text, "amount") == GERMAN(
        "A debit may not take the balance below zero."
    )
    assert debit.status_code == 303
    assert 'data-testid="wallet-balance">7,50\xa0€<' in shown.text
    who = GERMAN("“%(note)s”, by %(staff)s")
    assert rows(shown.text, "wallet-moves")[:2] == [
        [
            rows(shown.text, "wallet-moves")[0][0],
            GERMAN("Correction")
            + " "
            + who % {"note": "Aufladung doppelt gebucht", "staff": "fin@example.com"},
            "-30,00 €",
        ],
        [
            rows(shown.text, "wallet-moves")[1][0],
            GERMAN("Goodwill credit")
            + " "
            + who % {"note": "Ladesäule am Hafen defekt", "staff": "fin@example.com"},
            "12,50 €",
        ],
    ]
    assert rows(shown.text, "wallet-moves")[2] == ["02.11.26, 10:30", GERMAN("Top-up"), "25,00 €"]
    assert await wallet_of(database, brand) == [
        (WalletKind.TOPUP, 2500, "EUR", None, None, None, None),
        (
            WalletKind.ADJUSTMENT,
            1250,
            "EUR",
            WalletReason.GOODWILL,
            "Ladesäule am Hafen defekt",
            "fin@example.com",
            fiona,
        ),
        (
            WalletKind.ADJUSTMENT,
            -3000,
            "EUR",
            WalletReason.CORRECTION,
            "Aufladung doppelt gebucht",
            "fin@example.com",
            fiona,
        ),
    ]
    entries = await audit_actions(database, brand)
    assert [
        (action, who, {k: v for k, v in d.items() if k != "entry_id"}) for action, who, d in entries
    ] == [
        (
            "portal.wallet.adjust",
            "fin@example.com",
            {
                "amount": 1250,
                "currency": "EUR",
                "reason": "goodwill",
                "note": "Ladesäule am Hafen defekt",
            },
        ),
        (
            "portal.wallet.adjust",
            "fin@example.com",
            {
                "amount": -3000,
                "currency": "EUR",
                "reason": "correction",
                "note": "Aufladung doppelt gebucht",
            },
        ),
    ]


async def test_a_wrong_wallet_form_shows_each_error_beside_its_field_and_writes_nothing(
    database: Database, make_brand, client_for
):
    brand, lena = await wallet_brand(make_brand, database)
    page_path = f"/portal/drivers/{lena.id}"
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "fin@example.com", PASSWORD)
        page = await client.get(page_path, headers=HTML)
        form = {"_csrf_token": csrf_token(page.text), "reference": wallet_reference(page.text)}

        async def send(**fields: str) -> Any:
            return await client.post(f"{page_path}/wallet", data={**form, **fields}, headers=HTML)

        everything = await send(direction="sideways", amount="12.50", reason="", note="")
        answers = {
            amount: field_error(
                (await send(direction="credit", amount=amount, reason="correction", note="x")).text,
                "amount",
            )
            for amount in ("", "0", "0,001", "-5", "12,5e3", "NaN", "1.000.000,01")
        }
        goodwill_debit = await send(direction="debit", amount="5", reason="goodwill", note="x")
        long_note = await send(direction="credit", amount="5", reason="correction", note="x" * 201)
    assert everything.status_code == 400
    assert field_error(everything.text, "direction") == GERMAN("Choose credit or debit.")
    assert field_error(everything.text, "amount") == GERMAN(
        "Enter an amount written like the example."
    )
    assert field_error(everything.text, "reason") == GERMAN("Choose a reason.")
    assert field_error(everything.text, "note") == GERMAN("Say why the wallet is adjusted.")
    assert 'value="12.50"' in everything.text  # what was typed is kept
    assert answers == {
        "": GERMAN("Enter an amount."),
        "0": GERMAN("Enter an amount greater than zero."),
        "0,001": GERMAN("The currency has no smaller unit than that."),
        "-5": GERMAN("Enter an amount greater than zero."),
        "12,5e3": GERMAN("Enter an amount written like the example."),
        "NaN": GERMAN("Enter an amount written like the example."),
        "1.000.000,01": GERMAN("That amount is too large for one adjustment."),
    }
    assert goodwill_debit.status_code == 400
    assert field_error(goodwill_debit.text, "reason") == GERMAN(
        "A goodwill credit adds money; choose correction to debit."
    )
    assert field_error(long_note.text, "note") == GERMAN("At most 200 characters.")
    assert await wallet_of(database, brand) == [
        (WalletKind.TOPUP, 2500, "EUR", None, None, None, None)
    ]
    assert await audit_actions(database, brand) == []


async def test_only_finance_staff_adjust_a_wallet(database: Database, make_brand, client_for):
    brand, lena = await wallet_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = await add_fleet_account(db_session)
        await add_user(
            db_session, "fm@example.com", PASSWORD, Role.FLEET_MANAGER, fleet_account_id=fleet.id
        )
    answers = {}
    forms_shown = {}
    for email in ("ops@example.com", "viewer@example.com", "fm@example.com"):
        async with client_for(f"{brand.slug}.localhost") as client:
            await sign_in(client, email, PASSWORD)
            page = await client.get(f"/portal/drivers/{lena.id}", headers=HTML)
            forms_shown[email] = 'id="wallet-form"' in page.text
            login = await client.get("/portal/login", headers=HTML)
            sent = await client.post(
                f"/portal/drivers/{lena.id}/wallet",
                data={
                    "_csrf_token": csrf_token(login.text),
                    "direction": "credit",
                    "amount": "10",
                    "reason": "goodwill",
                    "note": "x",
                },
                headers=HTML,
            )
            answers[email] = sent.status_code
    assert forms_shown == {
        "ops@example.com": False,  # writes drivers, not money
        "viewer@example.com": False,
        "fm@example.com": False,  # the page itself is refused
    }
    assert answers == {"ops@example.com": 403, "viewer@example.com": 403, "fm@example.com": 403}
    assert await wallet_of(database, brand) == [
        (WalletKind.TOPUP, 2500, "EUR", None, None, None, None)
    ]


async def test_another_brands_driver_and_another_drivers_form_move_no_wallet(
    database: Database, make_brand, client_for
):
    brand, lena = await wallet_brand(make_brand, database)
    other = await make_brand()
    async with database.tenant_transaction(other.key) as db_session:
        theirs = await add_driver(db_session, "Lena Fischer", "lena@example.com")
    async with database.tenant_transaction(brand.key) as db_session:
        mia = await add_driver(db_session, "Mia Wolf", "mia@example.com")
        fleet = await add_fleet_account(db_session)
    credit = {"direction": "credit", "amount": "10", "reason": "goodwill", "note": "Kulanz"}
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "fin@example.com", PASSWORD)
        page = await client.get(f"/portal/drivers/{lena.id}", headers=HTML)
        token, reference = csrf_token(page.text), wallet_reference(page.text)
        elsewhere = [
            (
                await client.post(
                    f"/portal/drivers/{account_id}/wallet",
                    data={"_csrf_token": token, "reference": reference, **credit},
                    headers=HTML,
                )
            ).status_code
            for account_id in (theirs.id, fleet.id)
        ]
        lenas = await client.post(
            f"/portal/drivers/{lena.id}/wallet",
            data={"_csrf_token": token, "reference": reference, **credit},
            headers=HTML,
        )
        # Lena's form (its key) sent to Mia's page books nothing for Mia.
        mias = await client.post(
            f"/portal/drivers/{mia.id}/wallet",
            data={"_csrf_token": token, "reference": reference, **credit},
            headers=HTML,
        )
    assert elsewhere == [404, 404]
    assert lenas.status_code == 303
    assert mias.status_code == 400
    assert GERMAN("This form was sent for another driver. Send it again.") in mias.text
    assert wallet_reference(mias.text) != reference  # a fresh form to send
    async with database.tenant_transaction(brand.key) as db_session:
        by_account = dict(
            (
                await db_session.execute(
                    select(WalletEntry.account_id, func.sum(WalletEntry.amount)).group_by(
                        WalletEntry.account_id
                    )
                )
            ).all()
        )
    assert by_account == {lena.id: 3500}
    async with database.tenant_transaction(other.key) as db_session:
        assert await db_session.scalar(select(func.count()).select_from(WalletEntry)) == 0
