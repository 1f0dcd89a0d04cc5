"""Users and roles of the brand: add a user (an initial password shown once), change a role,
deactivate and reactivate; never one's own, never the last owner, owners only by owners."""

from __future__ import annotations

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
from voltlane.identity import service as identity
from voltlane.identity import staff
from voltlane.identity.errors import DuplicateUserError
from voltlane.identity.roles import Permission, has_permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.models.tenant import AccountKind, Role
from voltlane.portal.listing import ListView, list_response
from voltlane.portal.pages import Format, PageNumber, render
from voltlane.portal.settings import SETTINGS, once_cookie, shown_once
from voltlane.web.auth import provide_staff, requires
from voltlane.web.context import client_ip
from voltlane.web.i18n import N_

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
USERS = ListView(
    "users.csv", USER_COLUMNS, "portal/settings/users.html", "portal/settings/_users.html"
)


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
                    cookies=[once_cookie(request, "user", user.id, password)],
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
        return shown_once(
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
