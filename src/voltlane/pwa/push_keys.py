"""The platform's VAPID key pair (RFC 8292), with which push services know our messages.

``VOLTLANE_VAPID_PRIVATE_KEY`` holds the private P-256 key (PEM, or base64url of the raw
32-byte scalar as ``web-push generate-vapid-keys`` prints it, or of its DER form) and
``VOLTLANE_VAPID_SUBJECT`` a ``mailto:`` or ``https:`` contact for push services. In demo
mode (``voltlane run``) a key is generated once into the data directory, like the demo
password. Without either, the app offers no notifications. The key is never logged.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
from dataclasses import dataclass, field
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from voltlane.settings import Settings, SettingsError

PRIVATE_KEY_ENV = "VOLTLANE_VAPID_PRIVATE_KEY"
SUBJECT_ENV = "VOLTLANE_VAPID_SUBJECT"
# Tests and installations whose push service lives on their own network may allow plain
# http and private addresses; public push services are all https on public addresses.
PRIVATE_ENDPOINTS_ENV = "VOLTLANE_PUSH_PRIVATE_ENDPOINTS"
DEMO_KEY_FILE = "vapid_private_key"
DEMO_SUBJECT = "mailto:push@voltlane.example"
_SUBJECT = re.compile(r"^(mailto:[^@\s]+@[^@\s]+|https://[^\s/]+(/\S*)?)$")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class VapidKeys:
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    subject: str

    @property
    def public_key(self) -> str:
        """The application server key a browser subscribes with: the uncompressed P-256
        point, base64url without padding."""
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)


@lru_cache(maxsize=8)
def parse_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """A P-256 private key from PEM, raw base64url or DER base64url; SettingsError names the
    variable, never the value."""
    stripped = text.strip()
    try:
        if stripped.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(stripped.encode(), password=None)
        else:
            raw = b64url_decode("".join(stripped.split()))
            if len(raw) == 32:
                key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
            else:
                key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError) as exc:
        raise SettingsError(f"{PRIVATE_KEY_ENV} is not a readable EC private key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SettingsError(f"{PRIVATE_KEY_ENV} must be a P-256 (prime256v1) key")
    return key


def _demo_key(settings: Settings) -> str:
    path = settings.data_dir / DEMO_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    raw = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    # Written whole and private beside it, then linked into place: the web app and the
    # worker may both get here first, and the one that loses reads the winner's key.
    draft = path.with_name(f".{DEMO_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(raw)
    try:
        os.link(draft, path)
    except FileExistsError:
        return path.read_text().strip()
    finally:
        draft.unlink()
    return raw


def vapid_keys(settings: Settings) -> VapidKeys | None:
    """The configured key pair, the demo's generated one, or None (notifications off)."""
    configured = os.environ.get(PRIVATE_KEY_ENV)
    subject = os.environ.get(SUBJECT_ENV) or (DEMO_SUBJECT if settings.demo else None)
    if configured:
        if not subject:
            raise SettingsError(f"{SUBJECT_ENV} is required with {PRIVATE_KEY_ENV}")
        text = configured
    elif settings.demo:
        text = _demo_key(settings)
    else:
        return None
    if not _SUBJECT.fullmatch(subject or ""):
        raise SettingsError(f"{SUBJECT_ENV} must be a mailto: address or an https:// URL")
    return VapidKeys(parse_private_key(text), subject or DEMO_SUBJECT)


def private_endpoints_allowed() -> bool:
    """True when push endpoints may be plain http or on private addresses."""
    return os.environ.get(PRIVATE_ENDPOINTS_ENV, "").strip().lower() in {"1", "true", "yes", "on"}
