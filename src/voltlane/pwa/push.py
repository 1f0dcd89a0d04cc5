"""Web push subscriptions of the driver app: a browser's endpoint and keys, owned by a
signed-in driver's account or by one guest's charge request.

An endpoint is a capability URL of the browser's push service: whoever knows it may replace
or remove its row. Endpoints must be https on a public host (checked again before each
send, since a name may resolve elsewhere later) unless the installation allows private
push services (``VOLTLANE_PUSH_PRIVATE_ENDPOINTS``).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import ipaddress
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.errors import NotFoundError, ValidationError
from voltlane.core.ids import new_id
from voltlane.models.tenant import ChargeRequest, PushSubscription
from voltlane.pwa.push_keys import b64url_decode

MAX_ENDPOINT = 2048
P256_POINT_BYTES = 65
AUTH_SECRET_BYTES = 16


@dataclass(frozen=True, slots=True)
class SubscriptionKeys:
    """A checked PushSubscription: where to send and the keys to encrypt for."""

    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class Owner:
    """Whom a subscription's notifications are for: exactly one of the two."""

    account_id: uuid.UUID | None = None
    charge_request_id: uuid.UUID | None = None


def _decoded(value: str, field: str, size: int) -> bytes:
    try:
        raw = b64url_decode(value.strip())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise ValidationError(f"must be {size} bytes in base64url", field=field)
    return raw


def check_endpoint(endpoint: str, *, private_endpoints: bool) -> str:
    """``endpoint`` if a push service may be reached there; ValidationError if not."""
    if len(endpoint) > MAX_ENDPOINT:
        raise ValidationError(f"must be at most {MAX_ENDPOINT} characters", field="endpoint")
    parts = urlsplit(endpoint)
    schemes = {"https", "http"} if private_endpoints else {"https"}
    if parts.scheme not in schemes or not parts.hostname or parts.username or parts.password:
        raise ValidationError("must be an https URL of a push service", field="endpoint")
    if not private_endpoints:
        host = parts.hostname.lower()
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if (
            host == "localhost"
            or host.endswith(".localhost")
            or (literal and not literal.is_global)
        ):
            raise ValidationError("must be a push service on a public host", field="endpoint")
    return endpoint


def check_subscription(
    endpoint: str, p256dh: str, auth: str, *, private_endpoints: bool
) -> SubscriptionKeys:
    """A browser's PushSubscription, checked: a reachable endpoint, a P-256 public key and a
    16-byte authentication secret (RFC 8291)."""
    check_endpoint(endpoint, private_endpoints=private_endpoints)
    point = _decoded(p256dh, "keys.p256dh", P256_POINT_BYTES)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise ValidationError("is not a P-256 public key", field="keys.p256dh") from None
    _decoded(auth, "keys.auth", AUTH_SECRET_BYTES)
    return SubscriptionKeys(endpoint, p256dh.strip(), auth.strip())


def access_hash(secret: str) -> str:
    """How a guest's access secret is stored on their charge request (SHA-256, hex)."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def charge_request_owner(
    db_session: AsyncSession,
    charge_request_id: uuid.UUID,
    *,
    access_key: str | None,
    account_id: uuid.UUID | None,
) -> Owner:
    """Who subscribes for ``charge_request_id``: the signed-in driver whose request it is
    (their account then gets every notification), or a guest holding its access secret.
    NotFoundError otherwise, the same as for a request that does not exist."""
    request = await db_session.get(ChargeRequest, charge_request_id)
    if request is None:
        raise NotFoundError("No such charge.", field="charge_request")
    # A guest's charge is no account's, even once a guest account is made for its receipt.
    if account_id is not None and request.guest_email is None and request.account_id == account_id:
        return Owner(account_id=account_id)
    if access_key and hmac.compare_digest(access_hash(access_key), request.access_hash):
        return Owner(charge_request_id=request.id)
    raise NotFoundError("No such charge.", field="charge_request")


async def save_subscription(
    db_session: AsyncSession, keys: SubscriptionKeys, owner: Owner
) -> uuid.UUID:
    """Store the subscription for ``owner``; the same endpoint again replaces its row (a
    browser has one subscription per app, whoever it is for now)."""
    values = {
        "account_id": owner.account_id,
        "charge_request_id": owner.charge_request_id,
        "p256dh": keys.p256dh,
        "auth": keys.auth,
    }
    statement = (
        insert(PushSubscription)
        .values(id=new_id(), endpoint=keys.endpoint, **values)
        .on_conflict_do_update(index_elements=["endpoint"], set_=values)
        .returning(PushSubscription.id)
    )
    saved: uuid.UUID = (await db_session.execute(statement)).scalar_one()
    return saved


async def delete_subscription(db_session: AsyncSession, endpoint: str) -> bool:
    """Remove the subscription of ``endpoint``; False if there was none."""
    removed = await db_session.execute(
        delete(PushSubscription)
        .where(PushSubscription.endpoint == endpoint)
        .returning(PushSubscription.id)
    )
    return removed.first() is not None


async def subscriptions_for(
    db_session: AsyncSession, charge_request_id: uuid.UUID, account_id: uuid.UUID | None
) -> list[PushSubscription]:
    """Every subscription that hears about a charge request: its own and its account's."""
    owners = PushSubscription.charge_request_id == charge_request_id
    if account_id is not None:
        owners = owners | (PushSubscription.account_id == account_id)
    found = await db_session.scalars(
        select(PushSubscription).where(owners).order_by(PushSubscription.created_at)
    )
    return list(found)
