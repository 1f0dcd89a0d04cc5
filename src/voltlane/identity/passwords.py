"""Password hashing with argon2id (argon2-cffi's RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()
# Verified against when the e-mail is unknown, so both paths cost the same time.
_DUMMY_HASH = _hasher.hash("voltlane-timing-equaliser")

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; constant work when ``password_hash`` is None."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# Station Basic-auth passwords are 16-40 characters and usually generated (192 bits); they
# are checked on every (re)connect, so a boot storm of thousands of stations must not cost
# seconds each. A lighter argon2id (4 MiB, one pass: ~2 ms here) keeps them hashed at rest.
_station_hasher = PasswordHasher(time_cost=1, memory_cost=4096, parallelism=1)
_STATION_DUMMY_HASH = _station_hasher.hash("voltlane-station-timing-equaliser")


def hash_station_password(password: str) -> str:
    return _station_hasher.hash(password)


def verify_station_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; constant work when the station is unknown."""
    try:
        ok = _station_hasher.verify(password_hash or _STATION_DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None
