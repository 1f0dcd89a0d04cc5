"""Read models and results of driver identity."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from voltlane.models.tenant import CustomerAccount, DriverLogin


@dataclass(frozen=True, slots=True)
class DriverIdentity:
    """The signed-in driver of a request. ``verified`` is False until the driver opened the
    link sent to their e-mail address: such a driver may not start charging on account."""

    login_id: uuid.UUID
    account_id: uuid.UUID
    email: str
    name: str
    verified: bool

    @classmethod
    def from_rows(cls, login: DriverLogin, account: CustomerAccount) -> DriverIdentity:
        return cls(
            login_id=login.id,
            account_id=account.id,
            email=login.email,
            name=account.name,
            verified=login.email_verified_at is not None,
        )
