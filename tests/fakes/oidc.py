"""A local OpenID Connect provider for tests: discovery, an authorization endpoint that signs
in whoever the test says, a token endpoint that checks the client secret and the PKCE
verifier, and RS256 ID tokens signed with a key generated for the run (JWKS published).

Knobs let a test make the provider misbehave the ways a real attacker or a broken provider
would: another nonce or audience, an expired token, a token signed with an unknown key.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

CLIENT_ID = "voltlane-driver-app"


@dataclass
class Person:
    """Who signs in at the provider."""

    subject: str
    email: str | None
    email_verified: bool = True
    name: str | None = None


@dataclass
class FakeOidc:
    issuer: str = ""
    client_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    person: Person = field(default_factory=lambda: Person("sub-1", "lena@example.com"))
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    # Misbehaviour, for the tests of what the client must refuse.
    nonce_override: str | None = None
    audience_override: str | None = None
    expires_in: int = 300
    sign_with: RSAKey | None = None
    # What the client sent: the authorization request's query and the token request's form.
    authorizations: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    _codes: dict[str, dict[str, str]] = field(default_factory=dict)

    def id_token(self, grant: dict[str, str]) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": self.person.subject,
            "aud": self.audience_override or CLIENT_ID,
            "iat": now,
            "exp": now + self.expires_in,
            "nonce": self.nonce_override or grant["nonce"],
            "email_verified": self.person.email_verified,
        }
        if self.person.email:
            claims["email"] = self.person.email
        if self.person.name:
            claims["name"] = self.person.name
        key = self.sign_with or self.key
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        }


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _handler(fake: FakeOidc) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            del format, args

        def reply(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/.well-known/openid-configuration":
                self.reply(200, fake.metadata())
            elif url.path == "/jwks":
                self.reply(200, KeySet([fake.key]).as_dict(private=False))
            elif url.path == "/authorize":
                self.authorize({k: v[0] for k, v in parse_qs(url.query).items()})
            else:
                self.reply(404, {"error": "not_found"})

        def authorize(self, query: dict[str, str]) -> None:
            fake.authorizations.append(query)
            if (
                query.get("client_id") != CLIENT_ID
                or query.get("response_type") != "code"
                or query.get("code_challenge_method") != "S256"
                or not query.get("code_challenge")
            ):
                self.reply(400, {"error": "invalid_request"})
                return
            code = secrets.token_urlsafe(16)
            fake._codes[code] = query
            target = (
                query["redirect_uri"] + "?" + urlencode({"code": code, "state": query["state"]})
            )
            self.send_response(302)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:
            if urlsplit(self.path).path != "/token":
                self.reply(404, {"error": "not_found"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            fake.token_requests.append(form)
            basic = base64.b64encode(f"{CLIENT_ID}:{fake.client_secret}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {basic}":
                self.reply(401, {"error": "invalid_client"})
                return
            grant = fake._codes.pop(form.get("code", ""), None)
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or form.get("redirect_uri") != grant["redirect_uri"]
                or _challenge(form.get("code_verifier", "")) != grant["code_challenge"]
            ):
                self.reply(400, {"error": "invalid_grant"})
                return
            self.reply(
                200,
                {
                    "access_token": secrets.token_urlsafe(24),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": fake.id_token(grant),
                },
                {"Cache-Control": "no-store"},
            )

    return Handler


@contextlib.contextmanager
def oidc_provider() -> Iterator[FakeOidc]:
    """A running provider on a free loopback port; its ``issuer`` is its base URL."""
    fake = FakeOidc()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
