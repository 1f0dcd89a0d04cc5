"""Read models and results of the identity domain."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from voltlane.models.tenant import OperatorUser, Role


@dataclass(frozen=True, slots=True)
class StaffIdentity:
    """The signed-in staff member of a request."""

    user_id: uuid.UUID
    email: str
    name: str
    role: Role
    session_expires_at: datetime
    # The fleet a fleet manager may see; None for the brand's own staff.
    fleet_account_id: uuid.UUID | None = None

    @classmethod
    def from_row(cls, user: OperatorUser, expires_at: datetime) -> StaffIdentity:
        return cls(
            user_id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            session_expires_at=expires_at,
            fleet_account_id=user.fleet_account_id,
        )


class LoginFailure(enum.StrEnum):
    INVALID_CREDENTIALS = "invalid_credentials"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """Outcome of a sign-in attempt; the attempt itself is always recorded."""

    identity: StaffIdentity | None
    token: str | None
    failure: LoginFailure | None
    retry_after: int | None = None
