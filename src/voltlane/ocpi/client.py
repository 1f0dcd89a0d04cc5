"""Calling a partner's OCPI API: the credentials token Base64-encoded, request and
correlation ids, routing headers, a bounded timeout, and the envelope read back.

Every failure is one of two errors with a sentence for the portal: ``PartnerUnreachableError``
(no answer: connection refused, timeout, TLS) and ``PartnerRefusedError`` (an answer that is
not an OCPI success). A caller that retries decides by ``retryable``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from voltlane.ocpi.auth import authorization_header

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "Voltlane-OCPI/2.2.1"


class PartnerError(Exception):
    """A call to a partner that did not succeed."""

    retryable: bool = True

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        ocpi_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.ocpi_status = ocpi_status


class PartnerUnreachableError(PartnerError):
    """No answer (connection refused, timeout, broken TLS)."""


class PartnerRefusedError(PartnerError):
    """An answer that is not an OCPI success; 4xx and 2xxx are not worth retrying as is."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        ocpi_status: int | None = None,
    ) -> None:
        super().__init__(message, http_status=http_status, ocpi_status=ocpi_status)
        client_error = (http_status is not None and 400 <= http_status < 500) or (
            ocpi_status is not None and 2000 <= ocpi_status < 3000
        )
        # 429 (throttled) and 408 (timeout) are worth trying again.
        self.retryable = not client_error or http_status in (408, 429)


@dataclass(frozen=True, slots=True)
class Party:
    country_code: str
    party_id: str


@dataclass(frozen=True, slots=True)
class PartnerReply:
    http_status: int
    status_code: int
    data: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class OcpiClient:
    """One partner's API as seen with the token we hold for it."""

    token: str
    from_party: Party | None = None
    to_party: Party | None = None
    timeout: float = DEFAULT_TIMEOUT
    transport: httpx.AsyncBaseTransport | None = None

    def _headers(self, *, routed: bool, correlation_id: str | None) -> dict[str, str]:
        headers = {
            "Authorization": authorization_header(self.token),
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": correlation_id or str(uuid.uuid4()),
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        # Routing headers belong to functional modules only (not versions, credentials).
        if routed and self.from_party is not None:
            headers["OCPI-from-country-code"] = self.from_party.country_code
            headers["OCPI-from-party-id"] = self.from_party.party_id
        if routed and self.to_party is not None:
            headers["OCPI-to-country-code"] = self.to_party.country_code
            headers["OCPI-to-party-id"] = self.to_party.party_id
        return headers

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        routed: bool = True,
        correlation_id: str | None = None,
    ) -> PartnerReply:
        """Send one request; the reply when the partner answered OCPI 1xxx."""
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout, transport=self.transport, follow_redirects=False
            ) as http:
                response = await http.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    headers=self._headers(routed=routed, correlation_id=correlation_id),
                )
        except httpx.TimeoutException:
            raise PartnerUnreachableError(
                f"{method} {url}: no answer within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise PartnerUnreachableError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("status_code"), int):
            raise PartnerRefusedError(
                f"{method} {url}: HTTP {response.status_code} without an OCPI response body",
                http_status=response.status_code,
            )
        status_code: int = body["status_code"]
        if response.status_code >= 300 or not 1000 <= status_code < 2000:
            message = body.get("status_message") or "no message"
            raise PartnerRefusedError(
                f"{method} {url}: HTTP {response.status_code}, OCPI {status_code}: {message}",
                http_status=response.status_code,
                ocpi_status=status_code,
            )
        return PartnerReply(
            http_status=response.status_code,
            status_code=status_code,
            data=body.get("data"),
            headers=dict(response.headers),
        )
