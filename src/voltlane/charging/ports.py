"""Ports that charging calls upwards; the composition root (app.py ``wire``) plugs in the
implementations of the layers above."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.charging.schemas import AuthorizationStatus


# -- Roaming authorization -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RoamingRequest:
    """A token a station presented that is not one of the brand's own."""

    id_token: str
    token_type: str | None  # the OCPP IdTokenType; None from OCPP 1.6
    # The station the token was presented at to charge; None when nothing is to start
    # (the idTag of a stop): then only what is stored decides, nobody is asked.
    station_pk: uuid.UUID | None
    evse_id: int | None  # the OCPP evseId, when the message named one
    # The token of a transaction that is over (a 2.x Ended event, perhaps the only one an
    # offline transaction sends): only what is stored decides, nobody is asked, and the
    # session's EVSE (``evse_id``; None: it never named one) must be one partners are told
    # of, or the session is not the partner's.
    ending: bool = False


@dataclass(frozen=True, slots=True)
class RoamingDecision:
    """What the token's eMSP (or its whitelist rule) decided. UNKNOWN: no partner knows
    the token."""

    status: AuthorizationStatus
    roaming_token_id: uuid.UUID | None = None
    authorization_reference: str | None = None
    # The eMSP started this charge by command (OCPI START_SESSION): the remoteStartId the
    # charger was given, stored on a session whose charger does not report it (OCPP 1.6).
    remote_start_id: int | None = None


class RoamingAuthorizer(Protocol):
    """Decides on a token of a roaming partner (OCPI tokens module), within the partner's
    authorization timeout: the station's reply must not wait longer."""

    async def authorize(
        self, db_session: AsyncSession, request: RoamingRequest
    ) -> RoamingDecision: ...


class NoRoaming:
    """The default: no roaming partners, every foreign token is unknown."""

    async def authorize(self, db_session: AsyncSession, request: RoamingRequest) -> RoamingDecision:
        del db_session, request
        return RoamingDecision(AuthorizationStatus.UNKNOWN)


_roaming: RoamingAuthorizer = NoRoaming()


def set_roaming_authorizer(authorizer: RoamingAuthorizer | None) -> None:
    global _roaming  # noqa: PLW0603 - wired once by the composition root
    _roaming = authorizer or NoRoaming()


def roaming_authorizer() -> RoamingAuthorizer:
    return _roaming
