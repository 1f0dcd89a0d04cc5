"""Station authentication before the WebSocket upgrade (OCPP security profiles 1-3).

- Profile 1: HTTP Basic (username = station id) over ws or wss.
- Profile 2: HTTP Basic over TLS only.
- Profile 3: TLS with a client certificate whose CN is the station id.

A station is held to its configured profile: no downgrade. Failures are rate-limited per
station and per client address and recorded as security events; passwords are never
logged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import time
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass
from http import HTTPStatus

from sqlalchemy.exc import IntegrityError

from voltlane.charging.schemas import StationRef
from voltlane.core.db import Database
from voltlane.identity.passwords import verify_station_password
from voltlane.models.tenant import RegistrationStatus
from voltlane.ocpp.protocol import Version
from voltlane.station import operations
from voltlane.station.errors import PendingLimitError
from voltlane.station.service import MAX_STATION_PASSWORD, MIN_STATION_PASSWORD, STATION_ID_RE
from voltlane.tenancy import TenantInfo

log = logging.getLogger(__name__)

STATION_FAILURES_PER_MINUTE = 5
ADDRESS_FAILURES_PER_MINUTE = 30
WINDOW = 60.0


# (primary key, security profile, password hash, registration status) of a station row.
_Snapshot = tuple[uuid.UUID, int, str | None, RegistrationStatus]


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str | None
    password: str | None
    tls: bool
    certificate_cn: str | None
    certificate_organization: str | None
    address: str | None


@dataclass(frozen=True, slots=True)
class AuthResult:
    """Either an accepted station or the HTTP status (and reason) to refuse with."""

    station: StationRef | None
    registration: RegistrationStatus | None
    status: HTTPStatus
    reason: str


def parse_basic(header: str | None) -> tuple[str | None, str | None]:
    """(username, password) of an ``Authorization: Basic`` header, or (None, None)."""
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else (None, None)


def basic_password(station_id: str, creds: Credentials) -> str | None:
    """The Basic-auth password when the user-id is ``station_id``, else None.

    OCPP identities may contain ':', the separator of Basic credentials (split at the first
    one by :func:`parse_basic`): the credentials are rejoined and split after the station id.
    """
    if creds.username is None or creds.password is None:
        return None
    decoded, prefix = f"{creds.username}:{creds.password}", f"{station_id}:"
    return decoded[len(prefix) :] if decoded.startswith(prefix) else None


class FailureLimiter:
    """Sliding-window failure counts per station and per address (this node's memory)."""

    def __init__(self) -> None:
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._swept = time.monotonic()

    def _recent(self, key: str) -> int:
        times = self._failures.get(key)
        if not times:
            return 0
        cutoff = time.monotonic() - WINDOW
        while times and times[0] < cutoff:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        return len(times)

    def blocked(self, station_key: str, address: str | None) -> bool:
        return self._recent(station_key) >= STATION_FAILURES_PER_MINUTE or (
            address is not None and self._recent(f"ip:{address}") >= ADDRESS_FAILURES_PER_MINUTE
        )

    def fail(self, station_key: str, address: str | None) -> None:
        now = time.monotonic()
        self._sweep(now)
        self._failures[station_key].append(now)
        if address is not None:
            self._failures[f"ip:{address}"].append(now)

    def _sweep(self, now: float) -> None:
        """Forget keys with no failure in the window (station ids are chosen by clients)."""
        if now - self._swept < WINDOW:
            return
        self._swept = now
        cutoff = now - WINDOW
        for key in [k for k, times in self._failures.items() if not times or times[-1] < cutoff]:
            del self._failures[key]


class StationAuthenticator:
    def __init__(self, database: Database) -> None:
        self.database = database
        self.limiter = FailureLimiter()
        # Verified (password hash, SHA-256 of the password) pairs: a reconnect skips argon2.
        self._verified: dict[str, str] = {}

    async def _verify(self, password_hash: str | None, password: str) -> bool:
        digest = hashlib.sha256(password.encode()).hexdigest()
        if password_hash is not None and self._verified.get(password_hash) == digest:
            return True
        ok = await asyncio.to_thread(verify_station_password, password_hash, password)
        if ok and password_hash is not None:
            self._verified[password_hash] = digest
        return ok

    async def authenticate(
        self, tenant: TenantInfo, station_id: str, version: Version, creds: Credentials
    ) -> AuthResult:
        key = f"{tenant.key}/{station_id}"
        if not STATION_ID_RE.fullmatch(station_id):
            return AuthResult(None, None, HTTPStatus.NOT_FOUND, "invalid station id")
        if self.limiter.blocked(key, creds.address):
            return AuthResult(None, None, HTTPStatus.TOO_MANY_REQUESTS, "too many failures")
        snapshot = await self._load(tenant, station_id)
        if snapshot is None:
            return await self._unknown(tenant, station_id, version, creds, key)
        return await self._known(tenant, station_id, version, creds, key=key, snapshot=snapshot)

    async def _load(self, tenant: TenantInfo, station_id: str) -> _Snapshot | None:
        async with self.database.tenant_session(tenant.key) as db_session:
            station = await operations.load_station(db_session, station_id)
            if station is None:
                return None
            return (
                station.id,
                station.security_profile,
                station.password_hash,
                station.registration_status,
            )

    async def _known(
        self,
        tenant: TenantInfo,
        station_id: str,
        version: Version,
        creds: Credentials,
        *,
        key: str,
        snapshot: _Snapshot,
    ) -> AuthResult:
        pk, profile, password_hash, registration = snapshot
        failure = await self._check(
            profile, password_hash, station_id, creds, tenant.certificate_organization
        )
        if failure is not None:
            self.limiter.fail(key, creds.address)
            await self._security_event(tenant, pk, failure, creds)
            return AuthResult(None, None, HTTPStatus.UNAUTHORIZED, failure)
        return AuthResult(
            StationRef(pk, station_id, version.value), registration, HTTPStatus.OK, "accepted"
        )

    async def _check(
        self,
        profile: int,
        password_hash: str | None,
        station_id: str,
        creds: Credentials,
        organization: str,
    ) -> str | None:
        """None when the credentials satisfy the station's profile, else the reason."""
        if profile >= 2 and not creds.tls:
            return f"security profile {profile} requires TLS (downgrade refused)"
        if profile == 3:
            if creds.certificate_cn != station_id:
                return "client certificate CN does not name this station"
            if creds.certificate_organization != organization:
                # The client CA may serve several brands: O names the brand.
                return "client certificate O does not name this brand"
            return None
        if creds.username is None or creds.password is None:
            return "HTTP Basic credentials missing"
        password = basic_password(station_id, creds)
        if password is None:
            return "Basic auth username is not the station id"
        if not await self._verify(password_hash, password):
            return "wrong password"
        return None

    async def _unknown(
        self, tenant: TenantInfo, station_id: str, version: Version, creds: Credentials, key: str
    ) -> AuthResult:
        if not tenant.feature("auto_commissioning"):
            self.limiter.fail(key, creds.address)
            log.warning(
                "ocpp connection refused: unknown station",
                extra={"station_id": station_id, "address": creds.address},
            )
            return AuthResult(None, None, HTTPStatus.NOT_FOUND, "unknown station")
        password = basic_password(station_id, creds)
        if password is None or not MIN_STATION_PASSWORD <= len(password) <= MAX_STATION_PASSWORD:
            self.limiter.fail(key, creds.address)
            return AuthResult(
                None, None, HTTPStatus.UNAUTHORIZED, "auto-commissioning needs Basic credentials"
            )
        try:
            async with self.database.tenant_transaction(tenant.key) as db_session:
                station = await operations.auto_commission(
                    db_session,
                    station_id=station_id,
                    password=password,
                    security_profile=2 if creds.tls else 1,
                )
                pk = station.id
        except PendingLimitError:
            self.limiter.fail(key, creds.address)
            log.warning("auto-commissioning refused: too many pending stations")
            return AuthResult(None, None, HTTPStatus.TOO_MANY_REQUESTS, "too many pending stations")
        except IntegrityError:
            # A concurrent handshake commissioned the station first: check against its row.
            snapshot = await self._load(tenant, station_id)
            if snapshot is None:
                raise
            return await self._known(tenant, station_id, version, creds, key=key, snapshot=snapshot)
        log.info("station auto-commissioned, pending approval", extra={"station_id": station_id})
        return AuthResult(
            StationRef(pk, station_id, version.value),
            RegistrationStatus.PENDING,
            HTTPStatus.OK,
            "auto-commissioned",
        )

    async def _security_event(
        self, tenant: TenantInfo, station_pk: uuid.UUID, reason: str, creds: Credentials
    ) -> None:
        log.warning(
            "ocpp authentication failed",
            extra={"tenant": tenant.key, "reason": reason, "address": creds.address},
        )
        async with self.database.tenant_transaction(tenant.key) as db_session:
            await operations.record_event(
                db_session,
                station_pk,
                kind="security",
                action="AuthenticationFailed",
                at=None,
                payload={"reason": reason, "address": creds.address, "tls": creds.tls},
            )
