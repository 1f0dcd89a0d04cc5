"""OpenID Connect sign-in for drivers: the authorization code flow with PKCE, state and
nonce, through authlib's client.

A brand lists its providers in its tenant file (``[app] oidc``); a provider's client secret
is read from the environment variable the file names, and is never logged nor shown. The
provider's endpoints and signing keys come from its discovery document
(``/.well-known/openid-configuration``). The ID token's signature is checked against the
provider's published keys (JWKS, fetched again once for an unknown key id) and its claims
against what was asked: issuer, audience (our client id), expiry and the nonce.
"""

from __future__ import annotations

import hmac
import logging
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token  # type: ignore[import-untyped]
from authlib.deprecate import AuthlibDeprecationWarning  # type: ignore[import-untyped]

# authlib 1.9 warns at import that it will move from httpx to httpx2, a package not
# released for this stack; the client works on httpx, and the warning would reach every
# command's output.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import (  # type: ignore[import-untyped]
        AsyncOAuth2Client,
        OAuthError,
    )
from authlib.oidc.core import CodeIDToken  # type: ignore[import-untyped]
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from voltlane.core.errors import VoltlaneError
from voltlane.core.text import N_
from voltlane.identity.drivers.signin import OidcClaims
from voltlane.identity.service import normalise_email

log = logging.getLogger(__name__)

SCOPE = "openid email profile"
HTTP_TIMEOUT = 10.0
DISCOVERY_TTL = 3600.0
CLOCK_LEEWAY = 60
# Asymmetric algorithms only: a token signed with the client secret (HS*) or not at all
# ("none") is refused.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")


class OidcError(VoltlaneError):
    """The provider sign-in did not succeed; the detail is safe to show."""

    status = 400
    title = "Sign-in with provider failed"


@dataclass(frozen=True, slots=True)
class Provider:
    key: str
    name: str
    issuer: str
    client_id: str
    secret_env: str


def brand_providers(app_profile: Mapping[str, Any] | None) -> list[Provider]:
    """The providers a brand's ``[app] oidc`` lists, in the file's order."""
    entries = (app_profile or {}).get("oidc") or []
    return [
        Provider(
            key=str(e["key"]),
            name=str(e["name"]),
            issuer=str(e["issuer"]).rstrip("/"),
            client_id=str(e["client_id"]),
            secret_env=str(e["secret_env"]),
        )
        for e in entries
    ]


@dataclass(frozen=True, slots=True)
class Authorization:
    """What the browser keeps (signed) between the redirect and the provider's answer."""

    provider: str
    state: str
    nonce: str
    code_verifier: str


class _Discovery:
    """Discovery documents and key sets per issuer, kept for an hour (they rarely change;
    an unknown key id fetches the key set again)."""

    def __init__(self) -> None:
        self._documents: dict[str, tuple[float, dict[str, Any]]] = {}
        self._keys: dict[str, dict[str, Any]] = {}

    async def metadata(self, client: httpx.AsyncClient, issuer: str) -> dict[str, Any]:
        cached = self._documents.get(issuer)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        document = await _get_json(client, f"{issuer}/.well-known/openid-configuration")
        if document.get("issuer", "").rstrip("/") != issuer:
            raise OidcError(N_("The provider's configuration names another issuer."))
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(field), str):
                raise OidcError(N_("The sign-in provider is not set up correctly."))
        self._documents[issuer] = (time.monotonic() + DISCOVERY_TTL, document)
        return document

    async def keys(self, client: httpx.AsyncClient, jwks_uri: str, *, fresh: bool) -> KeySet:
        if fresh or jwks_uri not in self._keys:
            self._keys[jwks_uri] = await _get_json(client, jwks_uri)
        return KeySet.import_key_set(self._keys[jwks_uri])  # type: ignore[arg-type]


_discovery = _Discovery()


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        response = await client.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        log.warning("oidc provider request failed", extra={"url": url, "error": type(exc).__name__})
        raise OidcError(N_("The sign-in provider cannot be reached. Try again later.")) from exc
    if not isinstance(body, dict):
        raise OidcError(N_("The sign-in provider answered with something unexpected."))
    return body


def _client(provider: Provider, secret: str, redirect_uri: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=provider.client_id,
        client_secret=secret,
        scope=SCOPE,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT,
    )


async def begin(
    provider: Provider, secret: str, redirect_uri: str, *, reauthenticate: bool = False
) -> tuple[str, Authorization]:
    """The provider's authorization URL to send the browser to, and what to keep until it
    comes back. ``reauthenticate`` asks the provider to check the driver again (before an
    account is deleted)."""
    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http:
        metadata = await _discovery.metadata(http, provider.issuer)
    async with _client(provider, secret, redirect_uri) as client:
        verifier = generate_token(64)
        nonce = generate_token(32)
        extra = {"prompt": "login", "max_age": "0"} if reauthenticate else {}
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra
        )
    return url, Authorization(provider.key, state, nonce, verifier)


async def finish(
    provider: Provider,
    secret: str,
    redirect_uri: str,
    kept: Authorization,
    *,
    code: str,
    state: str,
) -> OidcClaims:
    """Exchange the code (with the PKCE verifier) and check the ID token: signature by the
    provider's keys, issuer, audience, expiry, nonce. OidcError on any mismatch."""
    if kept.provider != provider.key or not hmac.compare_digest(state, kept.state):
        raise OidcError(N_("The sign-in did not come back as it was sent. Please start again."))
    async with (
        httpx.AsyncClient(timeout=HTTP_TIMEOUT) as http,
        _client(provider, secret, redirect_uri) as client,
    ):
        metadata = await _discovery.metadata(http, provider.issuer)
        try:
            token = await client.fetch_token(
                metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=kept.code_verifier,
            )
        except (OAuthError, httpx.HTTPError, ValueError) as exc:
            log.warning(
                "oidc code exchange failed",
                extra={"provider": provider.key, "error": type(exc).__name__},
            )
            message = N_("The sign-in provider refused the sign-in. Please try again.")
            raise OidcError(message) from exc
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError(N_("The sign-in provider sent no ID token."))
        claims = await _checked_claims(
            http, provider, metadata, id_token, token=token, nonce=kept.nonce
        )
    return OidcClaims(
        provider=provider.key,
        subject=str(claims["sub"]),
        email=normalise_email(str(claims["email"])) if claims.get("email") else None,
        email_verified=claims.get("email_verified") is True,
        name=str(claims["name"]) if claims.get("name") else None,
    )


async def _checked_claims(
    client: httpx.AsyncClient,
    provider: Provider,
    metadata: dict[str, Any],
    id_token: str,
    *,
    token: Mapping[str, Any],
    nonce: str,
) -> CodeIDToken:
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    registry = JWSRegistry(algorithms=[a for a in offered if a in SIGNING_ALGORITHMS])
    try:
        try:
            keys = await _discovery.keys(client, metadata["jwks_uri"], fresh=False)
            decoded = jwt.decode(id_token, keys, registry=registry)
        except InvalidKeyIdError:
            keys = await _discovery.keys(client, metadata["jwks_uri"], fresh=True)
            decoded = jwt.decode(id_token, keys, registry=registry)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": metadata["issuer"]},
                "aud": {"essential": True, "value": provider.client_id},
                "exp": {"essential": True},
                "nonce": {"essential": True, "value": nonce},
            },
            {
                "nonce": nonce,
                "client_id": provider.client_id,
                "access_token": token.get("access_token"),
            },
        )
        claims.validate(leeway=CLOCK_LEEWAY)
    except (JoseError, ValueError) as exc:
        log.warning(
            "oidc id token refused", extra={"provider": provider.key, "error": type(exc).__name__}
        )
        raise OidcError(N_("The sign-in provider's answer could not be verified.")) from exc
    return claims
