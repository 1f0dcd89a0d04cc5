"""Version-neutral inputs and results of the charging domain."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from voltlane.core.clock import iso_utc


class AuthorizationStatus(enum.StrEnum):
    """Union of OCPP 1.6 AuthorizationStatus and 2.x AuthorizationStatusEnumType that
    Voltlane decides; adapters map UNKNOWN to 1.6 Invalid."""

    ACCEPTED = "Accepted"
    BLOCKED = "Blocked"
    EXPIRED = "Expired"
    INVALID = "Invalid"
    CONCURRENT_TX = "ConcurrentTx"
    UNKNOWN = "Unknown"


@dataclass(frozen=True, slots=True)
class Authorization:
    status: AuthorizationStatus
    expires_at: datetime | None = None
    group_id_token: str | None = None
    # A roaming partner's token (charging.ports.RoamingAuthorizer): its ocpi_tokens row and
    # the eMSP's authorization reference, stored on the session it starts.
    roaming_token_id: uuid.UUID | None = None
    authorization_reference: str | None = None
    # Set when the eMSP started the charge by command (RoamingDecision.remote_start_id).
    remote_start_id: int | None = None

    def as_v16(self) -> dict[str, Any]:
        """idTagInfo of OCPP 1.6."""
        status = "Invalid" if self.status is AuthorizationStatus.UNKNOWN else self.status.value
        info: dict[str, Any] = {"status": status}
        if self.expires_at is not None:
            info["expiryDate"] = iso_utc(self.expires_at)
        if self.group_id_token is not None:
            info["parentIdTag"] = self.group_id_token[:20]
        return info

    def as_v2(self) -> dict[str, Any]:
        """idTokenInfo of OCPP 2.0.1 / 2.1."""
        info: dict[str, Any] = {"status": self.status.value}
        if self.expires_at is not None:
            info["cacheExpiryDateTime"] = iso_utc(self.expires_at)
        if self.group_id_token is not None:
            info["groupIdToken"] = {"idToken": self.group_id_token, "type": "Central"}
        return info


@dataclass(frozen=True, slots=True)
class StationRef:
    """The station a message came from, resolved once per connection."""

    pk: uuid.UUID
    station_id: str
    protocol: str


@dataclass(frozen=True, slots=True)
class Sample:
    """One sampled value, version-neutral (value already scaled by any multiplier)."""

    sampled_at: datetime
    measurand: str
    value: Decimal | None
    unit: str | None = None
    phase: str | None = None
    location: str | None = None
    context: str | None = None
    signed_data: Any | None = None


@dataclass(frozen=True, slots=True)
class SessionView:
    id: uuid.UUID
    transaction_id: str
    status: str
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    started_at: datetime | None
    stopped_at: datetime | None
    stop_reason: str | None
    energy_wh: Decimal | None
    energy_review: str | None
    stop_id_token: str | None = None


@dataclass(slots=True)
class TransactionEventInput:
    """An OCPP 2.x TransactionEvent, parsed."""

    event_type: str
    timestamp: datetime
    trigger_reason: str
    seq_no: int
    transaction_id: str
    charging_state: str | None = None
    stopped_reason: str | None = None
    remote_start_id: int | None = None
    offline: bool = False
    evse_id: int | None = None
    connector_id: int | None = None
    id_token: str | None = None
    id_token_type: str | None = None
    reservation_id: int | None = None
    samples: list[Sample] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
