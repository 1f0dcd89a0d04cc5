"""API keys of a brand's operator REST API: ``Authorization: Bearer vl_<prefix>_<secret>``.

The prefix (10 lowercase hex characters) finds the row; the secret (32 random bytes,
URL-safe base64) is stored only as its SHA-256 and compared in constant time. A key lives
in one brand's schema, so it opens nothing on another brand's host.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.core.errors import ConflictError, NotFoundError, ValidationError
from voltlane.models.tenant import ApiKey

KEY_SCHEME = "vl"
SECRET_BYTES = 32
PREFIX_LENGTH = 10
KEY_RE = re.compile(r"^vl_(?P<prefix>[a-z0-9]{8,12})_(?P<secret>[A-Za-z0-9_-]{43,128})$")
SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{43,128}$")
MAX_NAME = 120
MAX_CREATED_BY = 254
# last_used_at is written at most this often, so busy keys do not turn reads into writes.
USE_RESOLUTION = timedelta(minutes=1)
# Compared against when the prefix is unknown, so both paths do the same work.
_DUMMY_HASH = hashlib.sha256(b"voltlane-api-key-timing-equaliser").hexdigest()


class InvalidApiKeyError(ValidationError):
    title = "Invalid API key"


class DuplicateApiKeyError(ConflictError):
    title = "API key exists"


class ApiKeyNotFoundError(NotFoundError):
    title = "Unknown API key"


def secret_hash(secret: str) -> str:
    """What is stored of a key's secret: its SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _derived_prefix(secret: str) -> str:
    # A given secret always yields the same key, so a seeder can print it on every run.
    digest = hashlib.sha256(b"voltlane-api-key-prefix\x00" + secret.encode()).hexdigest()
    return digest[:PREFIX_LENGTH]


def key_for_secret(secret: str) -> str:
    """The full key that :func:`create_api_key` issues for a given ``secret``."""
    return f"{KEY_SCHEME}_{_derived_prefix(secret)}_{secret}"


def parse_key(value: str) -> tuple[str, str] | None:
    """(prefix, secret) of a ``vl_<prefix>_<secret>`` key, or None when it has another shape."""
    match = KEY_RE.fullmatch(value)
    return (match["prefix"], match["secret"]) if match else None


async def create_api_key(
    db_session: AsyncSession, *, name: str, created_by: str | None, secret: str | None = None
) -> tuple[ApiKey, str]:
    """Issue a key for the brand of ``db_session``; returns the row and the key, shown once.

    ``secret`` (43-128 URL-safe base64 characters, i.e. at least 32 bytes) makes the key
    reproducible, for seeders that derive it per brand; otherwise it is random.
    """
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidApiKeyError(f"Name: 1 to {MAX_NAME} characters.", field="name")
    if created_by is not None and len(created_by) > MAX_CREATED_BY:
        raise InvalidApiKeyError(
            f"created_by: at most {MAX_CREATED_BY} characters.", field="created_by"
        )
    if secret is None:
        secret = secrets.token_urlsafe(SECRET_BYTES)
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    elif SECRET_RE.fullmatch(secret):
        prefix = _derived_prefix(secret)
    else:
        raise InvalidApiKeyError(
            "Secret: 43 to 128 URL-safe base64 characters (at least 32 random bytes).",
            field="secret",
        )
    if await db_session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix)) is not None:
        raise DuplicateApiKeyError("This brand already has a key with that secret.", field="secret")
    key = ApiKey(name=name, prefix=prefix, secret_hash=secret_hash(secret), created_by=created_by)
    db_session.add(key)
    await db_session.flush()
    return key, f"{KEY_SCHEME}_{prefix}_{secret}"


async def authenticate_api_key(db_session: AsyncSession, header: str | None) -> ApiKey | None:
    """The live key an ``Authorization: Bearer`` header carries, or None.

    Unknown, malformed and revoked keys all give None; the caller answers 401 alike.
    """
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    parsed = parse_key(token.strip()) if scheme.lower() == "bearer" else None
    if parsed is None:
        return None
    prefix, secret = parsed
    key = await db_session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    matches = hmac.compare_digest(key.secret_hash if key else _DUMMY_HASH, secret_hash(secret))
    if key is None or not matches or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= USE_RESOLUTION:
        key.last_used_at = now
        await db_session.flush()
    return key


async def revoke_api_key(db_session: AsyncSession, ref: uuid.UUID | str) -> ApiKey:
    """Revoke a key by its id or its prefix; revoking twice keeps the first time."""
    if isinstance(ref, uuid.UUID):
        key = await db_session.get(ApiKey, ref)
    else:
        key = await db_session.scalar(select(ApiKey).where(ApiKey.prefix == ref))
    if key is None:
        raise ApiKeyNotFoundError(f"No API key {ref}.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await db_session.flush()
    return key


async def list_api_keys(db_session: AsyncSession) -> list[ApiKey]:
    """Every key of the brand, live and revoked, newest first (secrets are never stored)."""
    rows = await db_session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc()))
    return list(rows)


async def list_api_keys_page(db_session: AsyncSession, *, limit: int, offset: int) -> list[ApiKey]:
    """One page of the brand's keys, live and revoked, newest first."""
    rows = await db_session.scalars(
        select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id).limit(limit).offset(offset)
    )
    return list(rows)


async def get_api_key(db_session: AsyncSession, key_id: uuid.UUID) -> ApiKey:
    """The brand's key ``key_id``; ApiKeyNotFoundError for any other."""
    key = await db_session.get(ApiKey, key_id)
    if key is None:
        raise ApiKeyNotFoundError(f"No API key {key_id}.")
    return key
