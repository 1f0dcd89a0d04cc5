"""Settings of the brand: its users and roles, its API keys (the brand profile is in
``settings_brand``).

A new user's initial password and a new API key's secret are shown once: the POST seals
them (AES-GCM under the server key) into a short-lived cookie, redirects, and the page that
shows them clears it, so a reload or the back button never shows them again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.billing import accounts
from voltlane.core.errors import VoltlaneError
from voltlane.core.sealing import SealError, seal, unseal
from voltlane.identity import api_keys, staff
from voltlane.identity import service as identity
from voltlane.identity.errors import DuplicateUserError
from voltlane.identity.roles import Permission, has_permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import AccountKind, Role
from voltlane.portal.listing import ListView, list_response
from voltlane.portal.pages import Format, PageNumber, render
from voltlane.web.auth import http_only_cookie, provide_staff, requires
from voltlane.web.context import client_ip, web_state
from voltlane.web.i18n import N_

SETTINGS = "/portal/settings"
ONCE_COOKIE = "vl_once"
ONCE_SECONDS = 300
MAX_FLEET_CHOICES = 500

ROLE_LABELS = {
    Role.OWNER: N_("Owner"),
    Role.ADMIN: N_("Admin"),
    Role.OPERATIONS: N_("Operations"),
    Role.FINANCE: N_("Finance"),
    Role.SUPPORT: N_("Support"),
    Role.READ_ONLY: N_("Read only"),
    Role.FLEET_MANAGER: N_("Fleet manager"),
}

USER_COLUMNS = (
    ("email", lambda u: u.email),
    ("name", lambda u: u.name),
    ("role", lambda u: u.role),
    ("fleet_account", lambda u: u.fleet_account),
    ("active", lambda u: "yes" if u.is_active else "no"),
    ("last_login_at", lambda u: u.last_login_at),
    ("created_at", lambda u: u.created_at),
)
API_KEY_COLUMNS = (
    ("prefix", lambda k: k.prefix),
    ("name", lambda k: k.name),
    ("access", lambda _k: "operator_api"),
    ("created_by", lambda k: k.created_by),
    ("created_at", lambda k: k.created_at),
    ("last_used_at", lambda k: k.last_used_at),
    ("revoked_at", lambda k: k.revoked_at),
)

USERS = ListView(
    "users.csv", USER_COLUMNS, "portal/settings/users.html", "portal/settings/_users.html"
)
API_KEYS = ListView(
    "api-keys.csv",
    API_KEY_COLUMNS,
    "portal/settings/api_keys.html",
    "portal/settings/_api_keys.html",
)


def _once_cookie(request: Request[Any, Any, Any], kind: str, ref: uuid.UUID, secret: str) -> Any:
    payload = json.dumps({"kind": kind, "id": str(ref), "secret": secret}).encode()
    sealed = seal(web_state(request).settings.secret_key, payload)
    return http_only_cookie(request, ONCE_COOKIE, sealed, ONCE_SECONDS)


def _take_once(request: Request[Any, Any, Any], kind: str, ref: uuid.UUID) -> str | None:
    """The secret sealed for ``kind`` ``ref`` by the redirecting POST, if still there."""
    token = request.cookies.get(ONCE_COOKIE)
    if not token:
        return None
    try:
        payload = json.loads(unseal(web_state(request).settings.secret_key, token))
    except (SealError, ValueError):
        return None
    if payload.get("kind") != kind or payload.get("id") != str(ref):
        return None
    secret = payload.get("secret")
    return secret if isinstance(secret, str) else None


def _shown_once(
    request: Request[Any, Any, Any],
    admin: StaffIdentity,
    kind: str,
    ref: uuid.UUID,
    *,
    title: str,
    subject: str,
    back: str,
) -> Response[str]:
    """The page that shows a new secret once (or says it was shown), clearing its cookie."""
    response = render(
        request,
        admin,
        "portal/settings/secret.html",
        {
            "title": title,
            "subject": subject,
            "secret": _take_once(request, kind, ref),
            "back": back,
            "kind": kind,
        },
        headers={"Cache-Control": "no-store"},
    )
    response.cookies.append(http_only_cookie(request, ONCE_COOKIE, "", 0))
    return response


def _parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _role_choices(actor: StaffIdentity) -> list[tuple[str, str]]:
    """The roles ``actor`` may hand out: owners only by owners."""
    owner = has_permission(actor.role, Permission.OWNERSHIP)
    return [(r.value, label) for r, label in ROLE_LABELS.items() if owner or r is not Role.OWNER]


def _role_form(
    form: Mapping[str, Any], errors: dict[str, str]
) -> tuple[Role | None, uuid.UUID | None]:
    """The role and fleet account of a user form, with errors beside the fields."""
    raw_role = str(form.get("role") or "")
    role = Role(raw_role) if raw_role in {r.value for r in Role} else None
    if role is None:
        errors["role"] = N_("Choose a role.")
    raw_fleet = str(form.get("fleet_account_id") or "")
    fleet = _parse_uuid(raw_fleet)
    if raw_fleet and fleet is None:
        errors["fleet_account_id"] = N_("Choose one of the brand's fleet accounts.")
    if role is Role.FLEET_MANAGER and fleet is None and "fleet_account_id" not in errors:
        errors["fleet_account_id"] = N_("A fleet manager needs a fleet account.")
    return role, fleet if role is Role.FLEET_MANAGER else None


class ApiKeysController(Controller):
    path = SETTINGS
    include_in_schema = False
    dependencies = {
        "staff": Provide(provide_staff),
        "admin": Provide(requires(Permission.SETTINGS_WRITE)),
    }

    @get("/api-keys")
    async def api_keys_index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:
        return await self._api_keys(request, db_session, admin, page=page, format=format)

    async def _api_keys(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        admin: StaffIdentity,
        *,
        page: int = 1,
        format: str = "html",  # noqa: A002 - the query parameter's name
        name: str = "",
        errors: Mapping[str, str] | None = None,
    ) -> Response[Any]:

        async def fetch(limit: int, offset: int) -> Sequence[Any]:
            return await api_keys.list_api_keys_page(db_session, limit=limit, offset=offset)

        return await list_response(
            request,
            admin,
            API_KEYS,
            fetch,
            page=page,
            format=format,
            errors=errors,
            context={"name": name},
        )

    @post("/api-keys", status_code=303)
    async def create_api_key(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        form = await request.form()
        name = str(form.get("name") or "").strip()
        errors: dict[str, str] = {}
        if not name:
            errors["name"] = N_("Enter a name that says who uses the key.")
        elif len(name) > api_keys.MAX_NAME:
            errors["name"] = N_("At most 120 characters.")
        if errors:
            return await self._api_keys(request, db_session, admin, name=name, errors=errors)
        key, secret = await api_keys.create_api_key(db_session, name=name, created_by=admin.email)
        await identity.audit_staff(
            db_session,
            admin,
            action="portal.api_key.create",
            entity="api_key",
            entity_id=key.id,
            detail={"name": key.name, "prefix": key.prefix},
            ip=client_ip(request),
        )
        return Redirect(
            f"{SETTINGS}/api-keys/{key.id}/created",
            status_code=303,
            cookies=[_once_cookie(request, "api_key", key.id, secret)],
        )

    @get("/api-keys/{key_id:uuid}/created")
    async def api_key_created(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        key_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        key = await api_keys.get_api_key(db_session, key_id)
        return _shown_once(
            request,
            admin,
            "api_key",
            key.id,
            title=N_("API key created"),
            subject=key.name,
            back=f"{SETTINGS}/api-keys",
        )

    @post("/api-keys/{key_id:uuid}/revoke", status_code=303)
    async def revoke_api_key(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        key_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        key = await api_keys.revoke_api_key(db_session, key_id)
        await identity.audit_staff(
            db_session,
            admin,
            action="portal.api_key.revoke",
            entity="api_key",
            entity_id=key.id,
            detail={"name": key.name, "prefix": key.prefix},
            ip=client_ip(request),
        )
        return Redirect(f"{SETTINGS}/api-keys", status_code=303)


class UsersController(Controller):
    path = f"{SETTINGS}/users"
    include_in_schema = False
    dependencies = {
        "staff": Provide(provide_staff),
        "admin": Provide(requires(Permission.USERS_WRITE)),
    }

    @get("/")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        page: PageNumber = 1,
        format: Format = "html",  # noqa: A002 - the query parameter's name
    ) -> Response[Any]:

        async def fetch(limit: int, offset: int) -> Sequence[Any]:
            return await staff.list_users(db_session, limit=limit, offset=offset)

        return await list_response(
            request,
            admin,
            USERS,
            fetch,
            page=page,
            format=format,
            context={"role_labels": ROLE_LABELS},
        )

    async def _form(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        admin: StaffIdentity,
        template: str,
        context: Mapping[str, Any],
        *,
        status_code: int = 200,
    ) -> Response[str]:
        fleets, _total = await accounts.list_accounts(
            db_session, kind=AccountKind.FLEET, limit=MAX_FLEET_CHOICES, offset=0
        )
        return render(
            request,
            admin,
            template,
            {
                "roles": _role_choices(admin),
                "fleets": [(str(a.id), a.name) for a in fleets],
                "errors": {},
                "values": {},
                **context,
            },
            status_code=status_code,
        )

    @get("/new")
    async def new(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
    ) -> Response[str]:
        return await self._form(request, db_session, admin, "portal/settings/new_user.html", {})

    @post("/", status_code=303)
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
    ) -> Response[Any]:
        form = await request.form()
        values = {
            name: str(form.get(name) or "").strip()
            for name in ("name", "email", "role", "fleet_account_id")
        }
        errors: dict[str, str] = {}
        if not values["name"]:
            errors["name"] = N_("Enter a name.")
        elif len(values["name"]) > 120:
            errors["name"] = N_("At most 120 characters.")
        if not values["email"]:
            errors["email"] = N_("Enter an e-mail address.")
        role, fleet = _role_form(form, errors)
        if not errors and role is not None:
            try:
                user, password = await staff.add_user(
                    db_session,
                    admin,
                    email=values["email"],
                    name=values["name"],
                    role=role,
                    fleet_account_id=fleet,
                )
            except DuplicateUserError:
                # A fixed message: the error's own text would echo the address back as HTML.
                errors["email"] = N_("This e-mail address already has an account.")
            except VoltlaneError as exc:
                errors[exc.field or "email"] = exc.detail
            else:
                await identity.audit_staff(
                    db_session,
                    admin,
                    action="portal.user.create",
                    entity="operator_user",
                    entity_id=user.id,
                    detail={"email": user.email, "role": user.role.value},
                    ip=client_ip(request),
                )
                return Redirect(
                    f"{SETTINGS}/users/{user.id}/created",
                    status_code=303,
                    cookies=[_once_cookie(request, "user", user.id, password)],
                )
        return await self._form(
            request,
            db_session,
            admin,
            "portal/settings/new_user.html",
            {"values": values, "errors": errors},
            status_code=400,
        )

    @get("/{user_id:uuid}/created")
    async def created(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        user_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        user = await staff.get_user(db_session, user_id)
        return _shown_once(
            request,
            admin,
            "user",
            user.id,
            title=N_("User added"),
            subject=f"{user.name} <{user.email}>",
            back=f"{SETTINGS}/users",
        )

    @get("/{user_id:uuid}")
    async def show(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        user_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        user = await staff.get_user(db_session, user_id)
        return await self._edit(request, db_session, admin, user)

    async def _edit(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        admin: StaffIdentity,
        user: Any,
        *,
        values: Mapping[str, str] | None = None,
        errors: Mapping[str, str] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        current = {
            "role": user.role.value,
            "fleet_account_id": str(user.fleet_account_id or ""),
            **(values or {}),
        }
        return await self._form(
            request,
            db_session,
            admin,
            "portal/settings/user.html",
            {
                "user": user,
                "values": current,
                "errors": errors or {},
                "role_labels": ROLE_LABELS,
                "is_self": user.id == admin.user_id,
            },
            status_code=status_code,
        )

    @post("/{user_id:uuid}/role", status_code=303)
    async def change_role(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        user_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        user = await staff.get_user(db_session, user_id)
        before = user.role.value
        form = await request.form()
        errors: dict[str, str] = {}
        role, fleet = _role_form(form, errors)
        if not errors and role is not None:
            try:
                await staff.change_role(
                    db_session, admin, user.id, role=role, fleet_account_id=fleet
                )
            except VoltlaneError as exc:
                errors[exc.field or "role"] = exc.detail
            else:
                await identity.audit_staff(
                    db_session,
                    admin,
                    action="portal.user.role",
                    entity="operator_user",
                    entity_id=user.id,
                    detail={"email": user.email, "from": before, "to": role.value},
                    ip=client_ip(request),
                )
                return Redirect(f"{SETTINGS}/users/{user.id}", status_code=303)
        values = {name: str(form.get(name) or "") for name in ("role", "fleet_account_id")}
        return await self._edit(
            request, db_session, admin, user, values=values, errors=errors, status_code=400
        )

    @post("/{user_id:uuid}/deactivate", status_code=303)
    async def deactivate(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        user_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        return await self._set_active(request, db_session, admin, user_id, active=False)

    @post("/{user_id:uuid}/reactivate", status_code=303)
    async def reactivate(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        admin: NamedDependency[StaffIdentity],
        user_id: FromPath[uuid.UUID],
    ) -> Response[Any]:
        return await self._set_active(request, db_session, admin, user_id, active=True)

    async def _set_active(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        admin: StaffIdentity,
        user_id: uuid.UUID,
        *,
        active: bool,
    ) -> Response[Any]:
        user = await staff.get_user(db_session, user_id)
        try:
            await staff.set_active(db_session, admin, user.id, active=active)
        except VoltlaneError as exc:
            return await self._edit(
                request, db_session, admin, user, errors={"active": exc.detail}, status_code=400
            )
        await identity.audit_staff(
            db_session,
            admin,
            action="portal.user.reactivate" if active else "portal.user.deactivate",
            entity="operator_user",
            entity_id=user.id,
            detail={"email": user.email},
            ip=client_ip(request),
        )
        return Redirect(f"{SETTINGS}/users/{user.id}", status_code=303)
