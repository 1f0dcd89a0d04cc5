"""Settings: users and roles (a password shown once, roles changed, access withdrawn, never
one's own and never the last owner) and API keys (a secret shown once, revoked), all audited."""

from __future__ import annotations

import base64
import re
import struct
import uuid
from typing import Any

import msgspec
import pytest
from httpx import Response
from sqlalchemy import func, select

from tests.factories import BERLIN_SELLER, add_fleet_account, add_user, brand_spec
from tests.web.helpers import HTML, csrf_token, sign_in
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.identity import api_keys, staff
from voltlane.identity.errors import InvalidUserError
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import ApiKey, AuditEntry, OperatorUser, Role, StaffSession
from voltlane.settings import Settings
from voltlane.tenancy import TenantInfo
from voltlane.tenancy import service as tenancy
from voltlane.tenancy.spec import Legal, MailSettings

PASSWORD = "correct horse battery"
OWNER = "owner@example.com"
ADMIN = "admin@example.com"


def secret_of(page: Response) -> str:
    match = re.search(r'readonly value="([^"]+)" data-testid="secret"', page.text)
    assert match is not None, "the page shows no secret"
    return match.group(1)


async def users(database: Database, brand: TenantInfo) -> dict[str, tuple[Any, ...]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.scalars(select(OperatorUser))
        return {u.email: (u.name, u.role, u.is_active, u.fleet_account_id) for u in rows}


async def user_id(database: Database, brand: TenantInfo, email: str) -> uuid.UUID:
    async with database.tenant_session(brand.key) as db_session:
        found = await db_session.scalar(select(OperatorUser.id).where(OperatorUser.email == email))
    assert found is not None
    return found


async def audit_of(database: Database, brand: TenantInfo, prefix: str) -> list[tuple[Any, ...]]:
    async with database.tenant_session(brand.key) as db_session:
        rows = await db_session.execute(
            select(AuditEntry.actor_email, AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action.startswith(prefix))
            .order_by(AuditEntry.id)
        )
    return [tuple(row) for row in rows]


async def staffed_brand(make_brand, database: Database) -> TenantInfo:
    brand: TenantInfo = await make_brand()
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, OWNER, PASSWORD, Role.OWNER, "Olga Owner")
        await add_user(db_session, ADMIN, PASSWORD, Role.ADMIN, "Adam Admin")
    return brand


async def test_an_admin_adds_a_user_whose_password_is_shown_once_and_works(
    database: Database, make_brand, client_for
) -> None:
    brand = await staffed_brand(make_brand, database)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, ADMIN, PASSWORD)
        form = await client.get("/portal/settings/users/new", headers=HTML)
        token = csrf_token(form.text)
        invalid = await client.post(
            "/portal/settings/users",
            data={"name": "", "email": "kim@", "role": "fleet_manager", "_csrf_token": token},
            headers=HTML,
        )
        bad_email = await client.post(
            "/portal/settings/users",
            data={"name": "Kim Meyer", "email": "kim@", "role": "finance", "_csrf_token": token},
            headers=HTML,
        )
        not_owner = await client.post(
            "/portal/settings/users",
            data={"name": "Kim", "email": "kim@example.com", "role": "owner", "_csrf_token": token},
            headers=HTML,
        )
        taken = await client.post(
            "/portal/settings/users",
            data={"name": "Kim", "email": OWNER, "role": "finance", "_csrf_token": token},
            headers=HTML,
        )
        created = await client.post(
            "/portal/settings/users",
            data={
                "name": "Kim Meyer",
                "email": "Kim@Example.com",
                "role": "finance",
                "_csrf_token": token,
            },
            headers=HTML,
        )
        shown = await client.get(created.headers["location"], headers=HTML)
        again = await client.get(created.headers["location"], headers=HTML)
        listed = await client.get("/portal/settings/users?format=csv", headers=HTML)
    kim = await user_id(database, brand, "kim@example.com")
    async with client_for(f"{brand.slug}.localhost") as kims_browser:
        kims_sign_in = await sign_in(kims_browser, "kim@example.com", secret_of(shown))

    assert invalid.status_code == 400
    assert '<p class="field-error" id="name-error">Enter a name.</p>' in invalid.text
    assert (
        '<p class="field-error" id="fleet_account_id-error">'
        "A fleet manager needs a fleet account.</p>" in invalid.text
    )
    assert 'value="kim@"' in invalid.text
    assert bad_email.status_code == 400
    assert '<p class="field-error" id="email-error">Enter a valid e-mail address.</p>' in (
        bad_email.text
    )
    assert not_owner.status_code == 400
    assert (
        '<p class="field-error" id="role-error">Only an owner can make or change an owner.</p>'
        in not_owner.text
    )
    assert '<option value="owner"' not in form.text
    assert taken.status_code == 400
    assert (
        '<p class="field-error" id="email-error">This e-mail address already has an account.</p>'
        in taken.text
    )
    assert (created.status_code, created.headers["location"]) == (
        303,
        f"/portal/settings/users/{kim}/created",
    )
    assert shown.headers["cache-control"] == "no-store"
    assert len(secret_of(shown)) == 20
    assert 'data-testid="secret"' not in again.text
    assert "This was shown once already and cannot be shown again." in again.text
    assert (kims_sign_in.status_code, kims_sign_in.headers["location"]) == (303, "/portal/")
    lines = listed.text.split("\r\n")
    assert lines[0] == "email,name,role,fleet_account,active,last_login_at,created_at"
    assert [line.split(",")[:5] for line in lines[1:-1]] == [
        [ADMIN, "Adam Admin", "admin", "", "yes"],
        ["kim@example.com", "Kim Meyer", "finance", "", "yes"],
        [OWNER, "Olga Owner", "owner", "", "yes"],
    ]
    assert await audit_of(database, brand, "portal.user") == [
        (ADMIN, "portal.user.create", {"email": "kim@example.com", "role": "finance"})
    ]


async def test_roles_change_and_access_is_withdrawn_but_never_ones_own_or_the_last_owners(
    database: Database, make_brand, client_for
) -> None:
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        fleet = await add_fleet_account(db_session)
        await add_user(db_session, "ops@example.com", PASSWORD, Role.OPERATIONS, "Otto Ops")
    owner_id = await user_id(database, brand, OWNER)
    admin_id = await user_id(database, brand, ADMIN)
    ops_id = await user_id(database, brand, "ops@example.com")
    async with client_for(f"{brand.slug}.localhost") as ops_browser:
        await sign_in(ops_browser, "ops@example.com", PASSWORD)

    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, OWNER, PASSWORD)
        page = await client.get(f"/portal/settings/users/{ops_id}", headers=HTML)
        token = csrf_token(page.text)
        no_fleet = await client.post(
            f"/portal/settings/users/{ops_id}/role",
            data={"role": "fleet_manager", "_csrf_token": token},
            headers=HTML,
        )
        to_fleet = await client.post(
            f"/portal/settings/users/{ops_id}/role",
            data={
                "role": "fleet_manager",
                "fleet_account_id": str(fleet.id),
                "_csrf_token": token,
            },
            headers=HTML,
        )
        own_role = await client.post(
            f"/portal/settings/users/{owner_id}/role",
            data={"role": "admin", "_csrf_token": token},
            headers=HTML,
        )
        own_access = await client.post(
            f"/portal/settings/users/{owner_id}/deactivate",
            data={"_csrf_token": token},
            headers=HTML,
        )
        deactivated = await client.post(
            f"/portal/settings/users/{ops_id}/deactivate",
            data={"_csrf_token": token},
            headers=HTML,
        )
        reactivated = await client.post(
            f"/portal/settings/users/{ops_id}/reactivate",
            data={"_csrf_token": token},
            headers=HTML,
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, ADMIN, PASSWORD)
        page = await client.get(f"/portal/settings/users/{owner_id}", headers=HTML)
        admin_on_owner = await client.post(
            f"/portal/settings/users/{owner_id}/deactivate",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
        last_owner = await client.post(
            f"/portal/settings/users/{admin_id}/role",
            data={"role": "owner", "_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )

    assert no_fleet.status_code == 400
    assert (
        '<p class="field-error" id="fleet_account_id-error">'
        "A fleet manager needs a fleet account.</p>" in no_fleet.text
    )
    assert (to_fleet.status_code, to_fleet.headers["location"]) == (
        303,
        f"/portal/settings/users/{ops_id}",
    )
    assert own_role.status_code == 400
    assert "You cannot change your own role." in own_role.text
    assert own_access.status_code == 400
    assert "You cannot deactivate or reactivate yourself." in own_access.text
    assert (deactivated.status_code, reactivated.status_code) == (303, 303)
    assert admin_on_owner.status_code == 400
    assert "Only an owner can make or change an owner." in admin_on_owner.text
    assert last_owner.status_code == 400
    assert await users(database, brand) == {
        OWNER: ("Olga Owner", Role.OWNER, True, None),
        ADMIN: ("Adam Admin", Role.ADMIN, True, None),
        "ops@example.com": ("Otto Ops", Role.FLEET_MANAGER, True, fleet.id),
    }
    async with database.tenant_session(brand.key) as db_session:
        ops_sessions = await db_session.scalar(
            select(func.count()).select_from(StaffSession).where(StaffSession.user_id == ops_id)
        )
    assert ops_sessions == 0
    assert await audit_of(database, brand, "portal.user") == [
        (
            OWNER,
            "portal.user.role",
            {"email": "ops@example.com", "from": "operations", "to": "fleet_manager"},
        ),
        (OWNER, "portal.user.deactivate", {"email": "ops@example.com"}),
        (OWNER, "portal.user.reactivate", {"email": "ops@example.com"}),
    ]


async def test_the_last_active_owner_cannot_be_demoted_or_deactivated(
    database: Database, make_brand, client_for
) -> None:
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "second@example.com", PASSWORD, Role.OWNER, "Sam Second")
    first = await user_id(database, brand, OWNER)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "second@example.com", PASSWORD)
        page = await client.get(f"/portal/settings/users/{first}", headers=HTML)
        token = csrf_token(page.text)
        demoted = await client.post(
            f"/portal/settings/users/{first}/role",
            data={"role": "admin", "_csrf_token": token},
            headers=HTML,
        )
        second = await user_id(database, brand, "second@example.com")
        itself = await client.post(
            f"/portal/settings/users/{second}/deactivate",
            data={"_csrf_token": token},
            headers=HTML,
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, OWNER, PASSWORD)
        page = await client.get("/portal/settings/users", headers=HTML)
        refused = await client.post(
            f"/portal/settings/users/{second}/deactivate",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
    async with database.tenant_transaction(brand.key) as db_session:
        # An actor above the brand's own staff (say, a platform admin) meets the same rule.
        platform = StaffIdentity(uuid.uuid4(), "root@example.com", "Root", Role.OWNER, utcnow())
        with pytest.raises(InvalidUserError, match="at least one active owner"):
            await staff.set_active(db_session, platform, second, active=False)
        with pytest.raises(InvalidUserError, match="at least one active owner"):
            await staff.change_role(
                db_session, platform, second, role=Role.ADMIN, fleet_account_id=None
            )
    assert demoted.status_code == 303
    assert itself.status_code == 400
    assert (
        '<p class="field-error" id="active-error">'
        "You cannot deactivate or reactivate yourself.</p>" in itself.text
    )
    assert refused.status_code == 400
    assert (
        '<p class="field-error" id="active-error">'
        "Only an owner can make or change an owner.</p>" in refused.text
    )
    assert await users(database, brand) == {
        OWNER: ("Olga Owner", Role.ADMIN, True, None),
        ADMIN: ("Adam Admin", Role.ADMIN, True, None),
        "second@example.com": ("Sam Second", Role.OWNER, True, None),
    }


async def test_api_keys_are_created_with_the_secret_shown_once_and_revoked(
    database: Database, make_brand, client_for
) -> None:
    brand = await staffed_brand(make_brand, database)
    elsewhere = await make_brand()
    async with database.tenant_transaction(elsewhere.key) as db_session:
        foreign, _ = await api_keys.create_api_key(db_session, name="theirs", created_by=None)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, ADMIN, PASSWORD)
        page = await client.get("/portal/settings/api-keys", headers=HTML)
        token = csrf_token(page.text)
        empty = await client.post(
            "/portal/settings/api-keys", data={"name": " ", "_csrf_token": token}, headers=HTML
        )
        created = await client.post(
            "/portal/settings/api-keys",
            data={"name": "ERP export", "_csrf_token": token},
            headers=HTML,
        )
        shown = await client.get(created.headers["location"], headers=HTML)
        key = secret_of(shown)
        works = await client.get("/api/v1/locations", headers={"authorization": f"Bearer {key}"})
        async with database.tenant_session(brand.key) as db_session:
            row = await db_session.scalar(select(ApiKey))
        assert row is not None
        revoked = await client.post(
            f"/portal/settings/api-keys/{row.id}/revoke", data={"_csrf_token": token}, headers=HTML
        )
        refused = await client.get("/api/v1/locations", headers={"authorization": f"Bearer {key}"})
        foreign_revoke = await client.post(
            f"/portal/settings/api-keys/{foreign.id}/revoke",
            data={"_csrf_token": token},
            headers=HTML,
        )
        listed = await client.get("/portal/settings/api-keys?format=csv", headers=HTML)

    assert empty.status_code == 400
    assert (
        '<p class="field-error" id="name-error">Enter a name that says who uses the key.</p>'
        in empty.text
    )
    assert created.status_code == 303
    assert key.startswith(f"vl_{row.prefix}_")
    assert row.secret_hash == api_keys.secret_hash(key.split("_", 2)[2])
    assert key not in listed.text
    assert (works.status_code, revoked.status_code, refused.status_code) == (200, 303, 401)
    assert foreign_revoke.status_code == 404
    async with database.tenant_session(elsewhere.key) as db_session:
        still = await db_session.get(ApiKey, foreign.id)
    assert still is not None
    assert still.revoked_at is None
    lines = listed.text.split("\r\n")
    assert lines[0] == "prefix,name,access,created_by,created_at,last_used_at,revoked_at"
    assert lines[1].startswith(f"{row.prefix},ERP export,operator_api,{ADMIN},")
    assert lines[1].split(",")[5] != ""
    assert lines[1].split(",")[6] != ""
    assert await audit_of(database, brand, "portal.api_key") == [
        (ADMIN, "portal.api_key.create", {"name": "ERP export", "prefix": row.prefix}),
        (ADMIN, "portal.api_key.revoke", {"name": "ERP export", "prefix": row.prefix}),
    ]


async def test_settings_are_refused_to_roles_without_the_permission(
    database: Database, make_brand, client_for
) -> None:
    brand = await staffed_brand(make_brand, database)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, "finance@example.com", PASSWORD, Role.FINANCE, "Fin Ance")
    owner = await user_id(database, brand, OWNER)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, "finance@example.com", PASSWORD)
        page = await client.get("/portal/login", headers=HTML)
        token = csrf_token(page.text)
        reads = [
            (await client.get(path, headers=HTML)).status_code
            for path in ("/portal/settings", "/portal/settings/users", "/portal/settings/api-keys")
        ]
        writes = [
            (await client.post(path, data=data, headers=HTML)).status_code
            for path, data in (
                (
                    "/portal/settings/users",
                    {"name": "X", "email": "x@example.com", "role": "owner", "_csrf_token": token},
                ),
                (f"/portal/settings/users/{owner}/deactivate", {"_csrf_token": token}),
                ("/portal/settings/api-keys", {"name": "mine", "_csrf_token": token}),
            )
        ]
    assert reads == [403, 403, 403]
    assert writes == [403, 403, 403]
    assert set(await users(database, brand)) == {OWNER, ADMIN, "finance@example.com"}
    async with database.tenant_session(brand.key) as db_session:
        assert await db_session.scalar(select(func.count()).select_from(ApiKey)) == 0


async def test_another_brands_user_is_not_found(database: Database, make_brand, client_for) -> None:
    brand = await staffed_brand(make_brand, database)
    elsewhere = await staffed_brand(make_brand, database)
    theirs = await user_id(database, elsewhere, ADMIN)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, OWNER, PASSWORD)
        page = await client.get("/portal/settings/users", headers=HTML)
        shown = await client.get(f"/portal/settings/users/{theirs}", headers=HTML)
        deactivated = await client.post(
            f"/portal/settings/users/{theirs}/deactivate",
            data={"_csrf_token": csrf_token(page.text)},
            headers=HTML,
        )
    assert (shown.status_code, deactivated.status_code) == (404, 404)
    assert (await users(database, elsewhere))[ADMIN][2] is True


async def platform_row(database: Database, brand: TenantInfo) -> TenantInfo:
    async with database.platform_session() as db_session:
        return await tenancy.get_tenant(db_session, brand.slug)


async def test_the_brand_profile_changes_and_the_portal_and_the_app_follow(
    database: Database, make_brand, client_for
) -> None:
    brand = await staffed_brand(make_brand, database)
    before = await platform_row(database, brand)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, ADMIN, PASSWORD)
        page = await client.get("/portal/settings", headers=HTML)
        token = csrf_token(page.text)
        bad_brand = await client.post(
            "/portal/settings/brand",
            data={
                "name": " ",
                "short_name": "Much too long",
                "color-primary": "red",
                "_csrf_token": token,
            },
            headers=HTML,
        )
        renamed = await client.post(
            "/portal/settings/brand",
            data={
                "name": "Nordlicht Laden",
                "short_name": "Nordlicht",
                "color-primary": "#112233",
                "color-on-primary": "#fafafa",
                "_csrf_token": token,
            },
            headers=HTML,
        )
        restyled = await client.get("/portal/settings", headers=HTML)
        css = await client.get("/brand/theme.css")
        manifest = await client.get("/manifest.webmanifest")
        bad_languages = await client.post(
            "/portal/settings/languages",
            data={"locales": ["en_GB", "it_IT"], "locale": "de_DE", "_csrf_token": token},
            headers=HTML,
        )
        not_offered = await client.post(
            "/portal/settings/languages",
            data={"locales": ["en_GB", "fr_FR"], "locale": "de_DE", "_csrf_token": token},
            headers=HTML,
        )
        languages = await client.post(
            "/portal/settings/languages",
            data={"locales": ["en_GB", "fr_FR"], "locale": "fr_FR", "_csrf_token": token},
            headers=HTML,
        )
        legal_fields = {
            "entity": "Nordlicht Laden GmbH",
            "address": "Hafenstraße 1, 20359 Hamburg",
            "street": "Hafenstraße 1",
            "postal_code": "20359",
            "city": "Hamburg",
            "country": "DE",
            "vat_id": "DE300000002",
            "email": "rechnung@nordlicht.example",
            "bic": "COBADEFFXXX",
            "_csrf_token": token,
        }
        bad_legal = await client.post(
            "/portal/settings/legal",
            data={**legal_fields, "iban": "DE89 3704", "entity": ""},
            headers=HTML,
        )
        bad_iban = await client.post(
            "/portal/settings/legal", data={**legal_fields, "iban": "DE89 3704"}, headers=HTML
        )
        legal = await client.post(
            "/portal/settings/legal",
            data={**legal_fields, "iban": "DE89370400440532013000"},
            headers=HTML,
        )
    after = await platform_row(database, brand)

    assert bad_brand.status_code == 400
    name_error = '<p class="field-error" id="name-error">Enter the brand&#39;s name.</p>'
    assert name_error in bad_brand.text
    assert '<p class="field-error" id="short_name-error">At most 12 characters.</p>' in (
        bad_brand.text
    )
    assert '<p class="field-error" id="color-primary-error">Enter a colour as #rrggbb.</p>' in (
        bad_brand.text
    )
    assert 'value="Much too long"' in bad_brand.text
    assert (renamed.status_code, renamed.headers["location"]) == (303, "/portal/settings")
    assert '<span class="brand-name">Nordlicht Laden</span>' in restyled.text
    assert "--color-primary: #112233;" in css.text
    assert "--color-on-primary: #fafafa;" in css.text
    assert (manifest.json()["name"], manifest.json()["short_name"]) == (
        "Nordlicht Laden",
        "Nordlicht",
    )
    assert manifest.json()["theme_color"] == "#112233"
    assert bad_languages.status_code == 400
    assert (
        '<p class="field-error" id="locales-error">Choose among English, German and French.</p>'
        in bad_languages.text
    )
    assert not_offered.status_code == 400
    assert (
        '<p class="field-error" id="locale-error">'
        "The default language must be one of those offered.</p>" in not_offered.text
    )
    assert languages.status_code == 303
    # French is the brand's language from here on: the profile's errors are read in it.
    assert bad_legal.status_code == 400
    assert (
        '<p class="field-error" id="entity-error">'
        "Saisissez l\u2019entité juridique qui émet les documents.</p>" in bad_legal.text
    )
    assert bad_iban.status_code == 400
    assert (
        '<p class="field-error" id="iban-error">'
        "Saisissez un IBAN sans espaces (DE89370400440532013000).</p>" in bad_iban.text
    )
    assert 'value="DE89 3704"' in bad_iban.text
    assert legal.status_code == 303
    assert (before.name, after.name, after.short_name) == (
        brand.name,
        "Nordlicht Laden",
        "Nordlicht",
    )
    assert after.profile["tokens"] == {"color-primary": "#112233", "color-on-primary": "#fafafa"}
    assert (after.locale, after.locales) == ("fr_FR", ("en_GB", "fr_FR"))
    assert after.profile["legal"] == {
        "entity": "Nordlicht Laden GmbH",
        "address": "Hafenstraße 1, 20359 Hamburg",
        "vat_id": "DE300000002",
        "registration": None,
        "street": "Hafenstraße 1",
        "postal_code": "20359",
        "city": "Hamburg",
        "country": "DE",
        "email": "rechnung@nordlicht.example",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
    }
    assert await audit_of(database, brand, "portal.settings") == [
        (
            ADMIN,
            "portal.settings.brand",
            {
                "name": "Nordlicht Laden",
                "short_name": "Nordlicht",
                "colors": {"color-primary": "#112233", "color-on-primary": "#fafafa"},
            },
        ),
        (ADMIN, "portal.settings.languages", {"locale": "fr_FR", "locales": ["en_GB", "fr_FR"]}),
        (
            ADMIN,
            "portal.settings.legal",
            {
                "changes": [
                    "address",
                    "bic",
                    "city",
                    "country",
                    "email",
                    "entity",
                    "iban",
                    "postal_code",
                    "street",
                    "vat_id",
                ]
            },
        ),
    ]

    # Syncing the tenant file again keeps what the brand changed in its portal.
    async with database.platform_transaction() as db_session:
        resynced, _ = await tenancy.register_tenant(
            db_session, brand_spec(brand.key, slug=brand.slug, name=brand.name)
        )
    assert (resynced.name, resynced.locale, resynced.short_name) == (
        "Nordlicht Laden",
        "fr_FR",
        "Nordlicht",
    )
    assert resynced.profile["legal"]["entity"] == "Nordlicht Laden GmbH"


async def test_only_owners_choose_the_payment_provider_and_see_which_variables_are_set(
    database: Database, make_brand, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    brand = await make_brand(payments="stripe")
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, OWNER, PASSWORD, Role.OWNER, "Olga Owner")
        await add_user(db_session, ADMIN, PASSWORD, Role.ADMIN, "Adam Admin")
    monkeypatch.setenv(f"VOLTLANE_{brand.key.upper()}_STRIPE_API_KEY", "sk_test_do_not_show")
    monkeypatch.delenv("VOLTLANE_STRIPE_API_KEY", raising=False)
    monkeypatch.delenv("VOLTLANE_STRIPE_WEBHOOK_SECRET", raising=False)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, ADMIN, PASSWORD)
        admins = await client.get("/portal/settings", headers=HTML)
        refused = await client.post(
            "/portal/settings/payments",
            data={"provider": "adyen", "_csrf_token": csrf_token(admins.text)},
            headers=HTML,
        )
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, OWNER, PASSWORD)
        owners = await client.get("/portal/settings", headers=HTML)
        token = csrf_token(owners.text)
        unknown = await client.post(
            "/portal/settings/payments",
            data={"provider": "paypal", "_csrf_token": token},
            headers=HTML,
        )
        chosen = await client.post(
            "/portal/settings/payments",
            data={"provider": "adyen", "_csrf_token": token},
            headers=HTML,
        )
    after = await platform_row(database, brand)

    assert "Only an owner of the brand changes its payment provider." in admins.text
    assert "VOLTLANE_STRIPE_API_KEY" not in admins.text
    assert refused.status_code == 403
    assert re.findall(
        r"<code>(VOLTLANE_[A-Z_]+)</code></th><td>(?:<strong>)?(\w+)", owners.text
    ) == [("VOLTLANE_STRIPE_API_KEY", "Set"), ("VOLTLANE_STRIPE_WEBHOOK_SECRET", "Missing")]
    assert "sk_test_do_not_show" not in owners.text
    assert unknown.status_code == 400
    assert '<p class="field-error" id="provider-error">Choose Stripe or Adyen.</p>' in unknown.text
    assert chosen.status_code == 303
    assert after.profile["payments"] == {
        "provider": "adyen",
        "retry_days": [1, 3, 7],
        "block_after": 3,
    }
    assert await audit_of(database, brand, "portal.settings") == [
        (OWNER, "portal.settings.payments", {"provider": "adyen"})
    ]


LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    b'<circle cx="16" cy="16" r="15" fill="#112233"/></svg>'
)
# A 2x1 PNG's signature and header: all the portal reads of a PNG before wrapping it.
PNG = (
    b"\x89PNG\r\n\x1a\n"
    + b"\x00\x00\x00\rIHDR"
    + struct.pack(">II", 2, 1)
    + b"\x08\x06\x00\x00\x00"
)


async def test_a_logo_is_uploaded_checked_and_served_to_the_portal_and_the_app(
    database: Database, make_brand, client_for
) -> None:
    brand = await staffed_brand(make_brand, database)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, ADMIN, PASSWORD)
        theme_logo = await client.get("/brand/logo.svg")
        page = await client.get("/portal/settings", headers=HTML)
        token = csrf_token(page.text)

        async def upload(name: str, data: bytes, media_type: str) -> Response:
            return await client.post(
                "/portal/settings/logo",
                data={"_csrf_token": token},
                files={"logo": (name, data, media_type)},
                headers=HTML,
            )

        scripted = await upload(
            "x.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        )
        linked = await upload(
            "x.svg",
            b'<svg xmlns="http://www.w3.org/2000/svg"><image href="https://evil.example/x"/></svg>',
            "image/svg+xml",
        )
        too_big = await upload("big.png", PNG + b"\x00" * 200_000, "image/png")
        after_refusals = await client.get("/brand/logo.svg")
        svg = await upload("logo.svg", LOGO, "image/svg+xml")
        served_svg = await client.get("/brand/logo.svg")
        png = await upload("logo.png", PNG, "image/png")
        served_png = await client.get("/brand/logo.svg")

    assert scripted.status_code == 400
    assert (
        '<p class="field-error" id="logo-error">'
        "An SVG with scripts or embedded documents is refused.</p>" in scripted.text
    )
    assert linked.status_code == 400
    assert "An SVG that loads other files is refused." in linked.text
    assert too_big.status_code == 400
    assert "A logo is at most 200 KB." in too_big.text
    assert after_refusals.content == theme_logo.content
    assert (svg.status_code, svg.headers["location"]) == (303, "/portal/settings")
    assert served_svg.content == LOGO
    assert served_svg.headers["content-type"].startswith("image/svg+xml")
    assert "sandbox" in served_svg.headers["content-security-policy"]
    assert png.status_code == 303
    assert served_png.text == (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2 1" width="2" height="1">'
        '<image width="2" height="1" href="data:image/png;base64,'
        + base64.b64encode(PNG).decode()
        + '"/></svg>'
    )
    assert await audit_of(database, brand, "portal.settings.logo") == [
        (ADMIN, "portal.settings.logo", {"bytes": len(LOGO), "format": "svg"}),
        (ADMIN, "portal.settings.logo", {"bytes": len(PNG), "format": "png"}),
    ]


# A brand that names its own sender and its own SMTP server's variable.
OWN_MAIL = MailSettings(sender="laden@nordlicht.example", smtp_env="NORDLICHT_SMTP_URL")


async def mail_brand(
    database: Database, settings: Settings, mail: MailSettings | None, legal: Legal | None
) -> TenantInfo:
    """A brand registered from a tenant file with this ``[mail]`` and ``[legal]``, and an
    admin."""
    spec = msgspec.structs.replace(brand_spec(legal=legal), mail=mail)
    async with database.platform_transaction() as db_session:
        info, _ = await tenancy.register_tenant(db_session, spec)
    brand = await tenancy.provision_tenant(database, settings.migrations_dir, info.id)
    async with database.tenant_transaction(brand.key) as db_session:
        await add_user(db_session, ADMIN, PASSWORD, Role.ADMIN, "Adam Admin")
    return brand


def mail_shown(page: Response) -> tuple[str, str, str, bool]:
    """(From address, variable, its status, whether the what-to-do sentence shows)."""
    found = [
        re.search(rf'data-testid="{name}">([^<]+)<', page.text)
        for name in ("mail-sender", "mail-variable", "mail-variable-status")
    ]
    assert all(found), "the page shows no e-mail settings"
    sender, variable, status = (match.group(1) for match in found if match)
    return sender, variable, status, 'data-testid="mail-missing"' in page.text


async def test_the_settings_show_how_the_brands_emails_leave_but_never_the_smtp_url(
    database: Database, settings: Settings, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = await mail_brand(database, settings, OWN_MAIL, BERLIN_SELLER)
    billing_address = await mail_brand(database, settings, None, BERLIN_SELLER)
    bare = await mail_brand(database, settings, MailSettings(), None)
    monkeypatch.delenv("NORDLICHT_SMTP_URL", raising=False)
    pages: dict[str, Response] = {}
    for name, brand in (("own", own), ("billing", billing_address), ("bare", bare)):
        async with client_for(f"{brand.slug}.localhost") as client:
            await sign_in(client, ADMIN, PASSWORD)
            pages[name] = await client.get("/portal/settings", headers=HTML)
            if name == "own":
                url = "smtps://mailer:s3cret-pw@smtp.nordlicht.example:465"
                monkeypatch.setenv("NORDLICHT_SMTP_URL", url)
                pages["own, set"] = await client.get("/portal/settings", headers=HTML)
                changed = await client.post(
                    "/portal/settings/mail",
                    data={"sender": "x@y.example", "_csrf_token": csrf_token(pages[name].text)},
                    headers=HTML,
                )
    platform = ("Set", False) if settings.smtp_url else ("Missing", True)
    assert mail_shown(pages["own"]) == (
        "laden@nordlicht.example",
        "NORDLICHT_SMTP_URL",
        "Missing",
        True,
    )
    assert "NORDLICHT_SMTP_URL" in pages["own"].text.split('data-testid="mail-missing">')[1]
    assert mail_shown(pages["own, set"]) == (
        "laden@nordlicht.example",
        "NORDLICHT_SMTP_URL",
        "Set",
        False,
    )
    assert "s3cret-pw" not in pages["own, set"].text
    assert "smtp.nordlicht.example" not in pages["own, set"].text
    assert mail_shown(pages["billing"]) == (
        "rechnung@voltaria.example",
        "VOLTLANE_SMTP_URL",
        *platform,
    )
    assert mail_shown(pages["bare"]) == (
        f"noreply@{bare.slug}.{settings.base_domain}",
        "VOLTLANE_SMTP_URL",
        *platform,
    )
    # Read-only: no form sends these settings anywhere, and nothing takes them.
    assert 'action="/portal/settings/mail"' not in pages["own"].text
    assert changed.status_code in {404, 405}
    assert await audit_of(database, own, "portal.settings") == []


async def test_the_emails_section_is_checked_again_and_swapped_alone(
    database: Database, settings: Settings, client_for, monkeypatch: pytest.MonkeyPatch
) -> None:
    brand = await mail_brand(database, settings, OWN_MAIL, BERLIN_SELLER)
    monkeypatch.delenv("NORDLICHT_SMTP_URL", raising=False)
    async with client_for(f"{brand.slug}.localhost") as client:
        await sign_in(client, ADMIN, PASSWORD)
        page = await client.get("/portal/settings", headers=HTML)
        monkeypatch.setenv("NORDLICHT_SMTP_URL", "smtps://mailer:pw@smtp.nordlicht.example:465")
        swapped = await client.get("/portal/settings/mail", headers={**HTML, "HX-Request": "true"})
        without_htmx = await client.get("/portal/settings/mail", headers=HTML)
    assert mail_shown(page) == ("laden@nordlicht.example", "NORDLICHT_SMTP_URL", "Missing", True)
    assert 'hx-get="/portal/settings/mail" hx-target="#mail-settings"' in page.text
    # The section alone, as it reads now; the other sections stay as they are.
    assert swapped.status_code == 200
    assert swapped.text.startswith('<section id="mail-settings" aria-labelledby="mail-heading">')
    assert swapped.text.rstrip().endswith("</section>")
    assert swapped.text.count("<section") == 1
    assert mail_shown(swapped) == ("laden@nordlicht.example", "NORDLICHT_SMTP_URL", "Set", False)
    # Without HTMX (the link followed): the whole settings page.
    assert without_htmx.status_code == 200
    assert 'id="legal-heading"' in without_htmx.text
    assert mail_shown(without_htmx)[2:] == ("Set", False)
