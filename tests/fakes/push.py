"""A browser's side of web push, and a push service that decrypts what it is sent.

``FakeBrowser`` holds what a real browser keeps for a subscription: a P-256 key pair and a
16-byte authentication secret. ``FakePushService`` is a local HTTP server (pytest-httpserver)
that, like a real push service, checks the VAPID header; unlike one, it also decrypts each
message with the subscribing browser's private key, so a test reads exactly what the
browser would show.
"""

from __future__ import annotations

import base64
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class FakeBrowser:
    """One browser's push subscription keys (what PushManager.subscribe() creates)."""

    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def subscription(self, endpoint: str) -> dict[str, Any]:
        """``PushSubscription.toJSON()`` of this browser at ``endpoint``."""
        return {
            "endpoint": endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth_secret)},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        message: dict[str, Any] = json.loads(plain)
        return message


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    message: dict[str, Any]  # the decrypted payload
    claims: dict[str, Any]  # the VAPID JWT's claims, its signature checked
    vapid_key: str  # the application server key the JWT was signed with


def vapid_claims(authorization: str) -> tuple[dict[str, Any], str]:
    """The claims of a ``vapid t=<jwt>,k=<key>`` header (RFC 8292), after checking the
    JWT's ES256 signature with the key the header names."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid", authorization
    parts = dict(item.strip().split("=", 1) for item in params.split(","))
    header, claims, signature = parts["t"].split(".")
    assert json.loads(b64url_decode(header)) == {"typ": "JWT", "alg": "ES256"}
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), b64url_decode(parts["k"])
    )
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    try:
        public_key.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise AssertionError("the VAPID JWT's signature does not match its key") from exc
    decoded: dict[str, Any] = json.loads(b64url_decode(claims))
    return decoded, parts["k"]


class FakePushService:
    """Endpoints ``/push/<name>`` for registered browsers; each answers the status given."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.browsers: dict[str, FakeBrowser] = {}
        self.statuses: dict[str, int] = {}
        self.received: list[Received] = []
        server.expect_request(re.compile(r"^/push/[\w-]+$"), method="POST").respond_with_handler(
            self._handle
        )

    @property
    def origin(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def endpoint(self, name: str, browser: FakeBrowser, status: int = 201) -> str:
        self.browsers[name] = browser
        self.statuses[name] = status
        return self.server.url_for(f"/push/{name}")

    def _handle(self, request: Request) -> Response:
        name = request.path.rsplit("/", 1)[1]
        browser = self.browsers.get(name)
        if browser is None:
            return Response(status=404)
        claims, key = vapid_claims(request.headers["Authorization"])
        self.received.append(
            Received(
                path=request.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                message=browser.decrypt(request.get_data()),
                claims=claims,
                vapid_key=key,
            )
        )
        return Response(status=self.statuses[name])
