"""Sealing secrets that must travel through the database (AES-256-GCM under the server key).

A station's new Basic-auth password crosses from the web process to the gateway node in
the command row: the row keeps a redacted payload for people and a sealed one for the node.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_CONTEXT = b"voltlane/sealed-payload/v1"


class SealError(ValueError):
    """A sealed value is damaged or was sealed under another key."""


def _key(secret_key: str) -> bytes:
    return hashlib.sha256(_CONTEXT + secret_key.encode()).digest()


def seal(secret_key: str, plaintext: bytes) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, plaintext, _CONTEXT)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret_key: str, token: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(token.encode())
        return AESGCM(_key(secret_key)).decrypt(raw[:12], raw[12:], _CONTEXT)
    except (InvalidTag, ValueError) as exc:
        raise SealError("sealed payload cannot be opened with this key") from exc
