"""An eMSP on a real local HTTP server (pytest-httpserver), for the credentials handshake
in both directions and for anything else that needs a partner's API.

The peer serves its versions, its 2.2.1 endpoints and its credentials module, accepts only
the tokens in ``accepted``, and remembers the credentials the CPO gave it. Its module
endpoints besides credentials are listed, not served.
"""

from __future__ import annotations

import base64
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TIMESTAMP = "2026-03-02T10:00:00Z"
PEER_MODULES = (("tokens", "SENDER"), ("locations", "RECEIVER"), ("sessions", "RECEIVER"))


def ocpi_body(data: Any = None, status_code: int = 1000, message: str | None = None) -> str:
    body: dict[str, Any] = {"status_code": status_code, "timestamp": TIMESTAMP}
    if data is not None:
        body["data"] = data
    if message:
        body["status_message"] = message
    return json.dumps(body)


def _presented(request: Request) -> str | None:
    scheme, _, value = (request.headers.get("Authorization") or "").partition(" ")
    if scheme != "Token":
        return None
    return base64.b64decode(value).decode()


@dataclass
class EmspPeer:
    """A partner platform with the eMSP role NL*EXA (unless told otherwise)."""

    server: HTTPServer
    accepted: set[str]
    country_code: str = "NL"
    party_id: str = "EXA"
    versions: tuple[str, ...] = ("2.1.1", "2.2.1")
    modules: tuple[tuple[str, str], ...] = PEER_MODULES
    # What the CPO told us: each credentials object it POSTed or PUT, in order.
    received: list[dict[str, Any]] = field(default_factory=list)
    deleted: int = 0
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def versions_url(self) -> str:
        return self.server.url_for("/ocpi/versions")

    def url(self, path: str) -> str:
        return self.server.url_for(f"/ocpi/{path}")

    def credentials(self, token: str) -> dict[str, Any]:
        return {
            "token": token,
            "url": self.versions_url,
            "roles": [
                {
                    "role": "EMSP",
                    "party_id": self.party_id,
                    "country_code": self.country_code,
                    "business_details": {
                        "name": "Example Mobility",
                        "website": "https://e.example",
                    },
                }
            ],
        }

    def serve(self) -> EmspPeer:
        self.server.expect_request("/ocpi/versions").respond_with_handler(self._versions)
        self.server.expect_request("/ocpi/2.2.1").respond_with_handler(self._details)
        self.server.expect_request("/ocpi/2.2.1/credentials").respond_with_handler(
            self._credentials
        )
        return self

    def _refuse(self, request: Request) -> Response | None:
        if _presented(request) in self.accepted:
            return None
        return Response(ocpi_body(status_code=2000, message="unknown token"), 401)

    def _versions(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        listed = [{"version": version, "url": self.url(version)} for version in self.versions]
        return Response(ocpi_body(listed), 200, content_type="application/json")

    def _details(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        endpoints = [
            {"identifier": "credentials", "role": "SENDER", "url": self.url("2.2.1/credentials")}
        ] + [
            {"identifier": module, "role": role, "url": self.url(f"2.2.1/{module}")}
            for module, role in self.modules
        ]
        return Response(
            ocpi_body({"version": "2.2.1", "endpoints": endpoints}),
            200,
            content_type="application/json",
        )

    def _credentials(self, request: Request) -> Response:
        refused = self._refuse(request)
        if refused is not None:
            return refused
        if request.method == "DELETE":
            self.deleted += 1
            self.accepted.clear()
            return Response(ocpi_body(), 200, content_type="application/json")
        self.received.append(json.loads(request.data))
        # The token it used dies; the CPO uses the new token C from now on.
        token_c = f"peer-token-c-{next(self._counter)}"
        self.accepted = {token_c}
        return Response(ocpi_body(self.credentials(token_c)), 200, content_type="application/json")
