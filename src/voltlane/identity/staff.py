"""Managing the brand's staff: adding users with a one-time password, changing roles,
deactivating and reactivating. A user never changes their own role or access, and the brand
always keeps an active owner; only owners make or unmake owners.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import NotFoundError
from voltlane.core.text import N_
from voltlane.identity.errors import InvalidUserError
from voltlane.identity.repository import IdentityRepository
from voltlane.identity.roles import Permission, has_permission
from voltlane.identity.schemas import StaffIdentity
from voltlane.identity.service import check_fleet_account, create_operator_user
from voltlane.models.tenant import OperatorUser, Role

# 15 random bytes: 20 URL-safe characters, above the password policy's minimum.
INITIAL_PASSWORD_BYTES = 15


class UserNotFoundError(NotFoundError):
    title = "Unknown user"


@dataclass(frozen=True, slots=True)
class StaffUserRow:
    id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool
    fleet_account_id: uuid.UUID | None
    fleet_account: str | None
    last_login_at: datetime | None
    created_at: datetime


def _row(user: OperatorUser, fleet_account: str | None) -> StaffUserRow:
    return StaffUserRow(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        is_active=user.is_active,
        fleet_account_id=user.fleet_account_id,
        fleet_account=fleet_account,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )


def _check_owner_rights(actor: StaffIdentity, *roles: Role) -> None:
    if Role.OWNER in roles and not has_permission(actor.role, Permission.OWNERSHIP):
        raise InvalidUserError(N_("Only an owner can make or change an owner."), field="role")


async def list_users(db_session: AsyncSession, *, limit: int, offset: int) -> list[StaffUserRow]:
    """The brand's users by e-mail, with the fleet account a fleet manager belongs to."""
    rows = await IdentityRepository(db_session).users_with_fleet(limit=limit, offset=offset)
    return [_row(user, account) for user, account in rows]


async def get_user(db_session: AsyncSession, user_id: uuid.UUID) -> OperatorUser:
    user = await IdentityRepository(db_session).user(user_id)
    if user is None:
        raise UserNotFoundError(f"No user {user_id}.")
    return user


async def add_user(
    db_session: AsyncSession,
    actor: StaffIdentity,
    *,
    email: str,
    name: str,
    role: Role,
    fleet_account_id: uuid.UUID | None,
) -> tuple[OperatorUser, str]:
    """Add a user with a random initial password; returns the user and that password, which
    is stored only as its hash and must be shown to the actor once."""
    _check_owner_rights(actor, role)
    password = secrets.token_urlsafe(INITIAL_PASSWORD_BYTES)
    user = await create_operator_user(
        db_session,
        email=email,
        name=name,
        password=password,
        role=role,
        fleet_account_id=fleet_account_id,
    )
    return user, password


async def _keeps_an_owner(repo: IdentityRepository, user: OperatorUser) -> None:
    if user.role is Role.OWNER and user.is_active and await repo.active_owners() <= 1:
        raise InvalidUserError(N_("The brand must keep at least one active owner."), field="role")


async def change_role(
    db_session: AsyncSession,
    actor: StaffIdentity,
    user_id: uuid.UUID,
    *,
    role: Role,
    fleet_account_id: uuid.UUID | None,
) -> OperatorUser:
    """Give a user another role (a fleet manager: with their fleet account); their open
    sessions see the new role on their next request."""
    repo = IdentityRepository(db_session)
    user = await get_user(db_session, user_id)
    if user.id == actor.user_id:
        raise InvalidUserError(N_("You cannot change your own role."), field="role")
    _check_owner_rights(actor, role, user.role)
    await check_fleet_account(repo, role, fleet_account_id)
    if role is not Role.OWNER:
        await _keeps_an_owner(repo, user)
    user.role = role
    user.fleet_account_id = fleet_account_id
    await db_session.flush()
    return user


async def set_active(
    db_session: AsyncSession, actor: StaffIdentity, user_id: uuid.UUID, *, active: bool
) -> OperatorUser:
    """Deactivate a user (signed out everywhere at once, unable to sign in) or reactivate
    one (they sign in with the password they had)."""
    repo = IdentityRepository(db_session)
    user = await get_user(db_session, user_id)
    if user.id == actor.user_id:
        raise InvalidUserError(N_("You cannot deactivate or reactivate yourself."), field="user")
    _check_owner_rights(actor, user.role)
    if not active:
        await _keeps_an_owner(repo, user)
        await repo.delete_sessions_of(user.id)
    user.is_active = active
    await db_session.flush()
    return user
