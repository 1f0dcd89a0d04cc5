"""An eMSP on a real local HTTP server (pytest-httpserver), for the credentials handshake
in both directions and for anything else that needs a partner's API.

The peer serves its versions, its 2.2.1 endpoints and its credentials module, accepts only
the tokens in ``accepted``, and remembers the credentials the CPO gave it. Its RECEIVER
modules (locations, tariffs, sessions, cdrs) and the command results under ``commands``
take what the CPO sends and keep it in ``pushes``; its tokens SENDER answers real-time
authorizations of the tokens in ``issued``. Every request the CPO makes to it is checked
against the specification's field rules (``spec_rules``, not our own models) and its
request ids and routing headers, and every violation is kept in ``violations``. As a
client, ``get`` and ``pull`` read the CPO's modules (``pull`` page by page), checking
envelopes, objects, pagination and echoed headers likewise; ``connect`` registers a
peer with a brand from its token A.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.ocpi.conftest import OcpiClientFactory, registration_token
from tests.ocpi.spec_rules import ENUMS, validate, validate_envelope
from voltlane.core.db import Database
from voltlane.tenancy import TenantInfo

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


_NEXT = re.compile(r'<([^>]+)>; rel="next"')
# A receiver's path parameters after the module (mod_*.asciidoc "Request Parameters").
_PUSHED = {
    "locations": ("Location", "EVSE", "Connector"),
    "tariffs": ("Tariff",),
    "sessions": ("Session",),
}


# The response_urls the peer gives in chargingprofiles requests name what they await:
# /chargingprofiles/{get|set|clear}/{n} (mod_charging_profiles "Sender Interface" POST).
_PROFILE_RESULTS = {
    "get": "ActiveChargingProfileResult",
    "set": "ChargingProfileResult",
    "clear": "ClearProfileResult",
}


def _charging_profile_problems(method: str, params: list[str], body: Any) -> list[str]:
    """A result POSTed to one of the peer's response_urls, or the CPO's PUT of an
    ActiveChargingProfile to ``{chargingprofiles}/{session_id}``."""
    if method == "POST" and len(params) == 2 and params[0] in _PROFILE_RESULTS:
        return validate(body, _PROFILE_RESULTS[params[0]])
    if method == "PUT" and len(params) == 1:
        too_long = [f"session_id {params[0]!r} is longer than 36"] if len(params[0]) > 36 else []
        return too_long + validate(body, "ActiveChargingProfile")
    return [f"{method} {params} is no method of the chargingprofiles sender interface"]


@dataclass(frozen=True, slots=True)
class Pushed:
    """A request the CPO made to one of the peer's receivers."""

    method: str
    module: str
    path: tuple[str, ...]  # the path parameters after the module
    body: Any


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a paginated GET, as the peer read it."""

    ids: list[str]
    total: int | None
    x_limit: int | None
    next_url: str | None
    objects: list[Any]


_ROUTING_HEADERS = (
    "OCPI-to-country-code",
    "OCPI-to-party-id",
    "OCPI-from-country-code",
    "OCPI-from-party-id",
)


def _functional(path: str) -> bool:
    """Whether ``path`` is a functional module's (routed), not versions or credentials."""
    tail = path.rstrip("/").rsplit("/", 1)[-1]
    return tail not in ("versions", "2.2.1", "credentials")


def _when(value: str) -> datetime:
    # types.asciidoc: a DateTime without a time zone designator is UTC.
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _outside(data: list[Any], params: dict[str, str]) -> list[str]:
    """Objects of a page outside the request's date_from (inclusive) and date_to
    (exclusive), by their last_updated (transport_and_format "Pagination")."""
    since, until = params.get("date_from"), params.get("date_to")
    problems = []
    for index, item in enumerate(data):
        stamp = item.get("last_updated") if isinstance(item, dict) else None
        if not isinstance(stamp, str):
            continue
        if since is not None and _when(stamp) < _when(since):
            problems.append(f"$.data[{index}].last_updated {stamp} is before date_from")
        if until is not None and _when(stamp) >= _when(until):
            problems.append(f"$.data[{index}].last_updated {stamp} is not before date_to")
    return problems


def _int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    return int(value) if value is not None and value.isdigit() else None


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
    # The first path segment of all its URLs: two peers can share one server.
    root: str = "ocpi"
    # What the CPO pushed to its receivers and posted as command results, in order.
    pushes: list[Pushed] = field(default_factory=list)
    # The CPO's party once it registered (its CredentialsRole), for routing headers.
    cpo_party: tuple[str, str] | None = None
    # The tokens of its drivers, by uid: what it answers real-time authorizations from.
    issued: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Every breach of the specification the peer saw, in what it received or read.
    violations: list[str] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def versions_url(self) -> str:
        return self.url("versions")

    def url(self, path: str) -> str:
        return self.server.url_for(f"/{self.root}/{path}")

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
        root = f"/{self.root}"
        self.server.expect_request(f"{root}/versions").respond_with_handler(self._versions)
        self.server.expect_request(f"{root}/2.2.1").respond_with_handler(self._details)
        self.server.expect_request(f"{root}/2.2.1/credentials").respond_with_handler(
            self._credentials
        )
        receivers = re.compile(
            rf"{re.escape(root)}/2\.2\.1/"
            r"(locations|tariffs|sessions|cdrs|commands|tokens|chargingprofiles)(/.*)?"
        )
        self.server.expect_request(receivers).respond_with_handler(self._receive)
        return self

    def _routing(self, functional: bool, *, to_us: bool) -> dict[str, str]:
        """The routing headers a message between the CPO and this peer carries
        (transport_and_format "Party to Party (without Hub)"): none for the configuration
        modules (versions, credentials); else TO the receiving party, FROM the sender."""
        if not functional or self.cpo_party is None:
            return {}
        ours, theirs = (self.country_code, self.party_id), self.cpo_party
        to, sender = (ours, theirs) if to_us else (theirs, ours)
        return {
            "OCPI-to-country-code": to[0],
            "OCPI-to-party-id": to[1],
            "OCPI-from-country-code": sender[0],
            "OCPI-from-party-id": sender[1],
        }

    def _misrouted(self, headers: Any, expected: dict[str, str]) -> list[str]:
        return [
            f"{name}: {headers.get(name)!r} where {expected.get(name)!r} is due"
            for name in _ROUTING_HEADERS
            if headers.get(name) != expected.get(name)
        ]

    def _refuse(self, request: Request) -> Response | None:
        where = f"{request.method} {request.path}"
        for header in ("X-Request-ID", "X-Correlation-ID"):
            if not request.headers.get(header):
                self.violations.append(f"{where}: no {header} header")
        functional = _functional(request.path)
        due = self._routing(functional, to_us=True)
        if functional and self.cpo_party is None:
            self.violations.append(f"{where}: a module request before the CPO registered")
        self.violations += [f"{where}: {p}" for p in self._misrouted(request.headers, due)]
        if _presented(request) in self.accepted:
            return None
        return Response(ocpi_body(status_code=2000, message="unknown token"), 401)

    def _receive(self, request: Request) -> Response:
        """A receiver interface: check the request against the spec, keep it, answer 1000."""
        refused = self._refuse(request)
        if refused is not None:
            return refused
        module, *params = request.path.split("/2.2.1/", 1)[1].split("/")
        body = json.loads(request.data) if request.data else None
        self.pushes.append(Pushed(request.method, module, tuple(params), body))
        where = f"{request.method} {request.path}"
        self.violations += [f"{where}: {problem}" for problem in self._check(request, module)]
        if module == "tokens":
            return self._authorize(params[0] if params else "")
        headers = {}
        if module == "cdrs" and request.method == "POST" and isinstance(body, dict):
            # mod_cdrs POST: the response carries the CDR's URL at the eMSP.
            headers["Location"] = self.url(f"2.2.1/cdrs/{body.get('id')}")
        return Response(ocpi_body(), 200, headers, content_type="application/json")

    def _authorize(self, uid: str) -> Response:
        """mod_tokens real-time authorization: AuthorizationInfo of a token it issued (with
        a reference of its own), 2004 for one it does not know."""
        token = self.issued.get(uid)
        if token is None:
            return Response(
                ocpi_body(status_code=2004, message="Unknown Token"),
                200,
                content_type="application/json",
            )
        info = {
            "allowed": "ALLOWED" if token["valid"] else "BLOCKED",
            "token": token,
            "authorization_reference": f"{self.party_id}-AUTH-{next(self._counter)}",
        }
        return Response(ocpi_body(info), 200, content_type="application/json")

    def _check(self, request: Request, module: str) -> list[str]:
        params = request.path.split("/2.2.1/", 1)[1].split("/")[1:]
        body = json.loads(request.data) if request.data else None
        method = request.method
        if module == "tokens":
            # POST {tokens}/{token_uid}/authorize[?type=], a LocationReferences body or none.
            problems = [] if method == "POST" else [f"{method} is no method of authorize"]
            if len(params) != 2 or params[1] != "authorize" or len(params[0]) > 36:
                problems.append(f"the path parameters {params} are not {{token_uid}}/authorize")
            kind = request.args.get("type", "RFID")
            if kind not in ENUMS["TokenType"]:
                problems.append(f"type={kind!r} is not a TokenType")
            if body is not None:
                problems += validate(body, "LocationReferences")
            return problems
        if module == "cdrs":
            if method != "POST" or params:
                return [f"the cdrs receiver takes POST without parameters, not {method}"]
            return validate(body, "CDR")
        if module == "commands":
            # The response_url the peer gave: /commands/{command}/{uid}, a CommandResult.
            return validate(body, "CommandResult") if method == "POST" else [f"{method}?"]
        if module == "chargingprofiles":
            return _charging_profile_problems(method, params, body)
        kinds = _PUSHED[module]
        # {country_code}/{party_id}/{id}[/{evse_uid}[/{connector_id}]]
        if not 3 <= len(params) <= 2 + len(kinds):
            return [f"{len(params)} path parameters"]
        problems = [
            f"path {name} {value!r} is longer than {size}"
            for name, value, size in zip(
                ("country_code", "party_id", "id", "evse_uid", "connector_id"),
                params,
                (2, 3, 36, 36, 36),
                strict=False,
            )
            if len(value) > size
        ]
        kind = kinds[len(params) - 3]
        if method == "PUT":
            problems += validate(body, kind)
            if kind in ("Location", "Tariff", "Session") and isinstance(body, dict):
                # The path names the object the body is.
                named = (body.get("country_code"), body.get("party_id"), body.get("id"))
                if named != tuple(params):
                    problems.append(f"the body is {named}, the path {tuple(params)}")
        elif method == "PATCH" and module in ("locations", "sessions"):
            problems += validate(body, kind, partial=True)
            if not isinstance(body, dict) or "last_updated" not in body:
                problems.append("a PATCH without last_updated")
        elif not (method == "DELETE" and module == "tariffs"):
            problems.append(f"{method} is no method of the {module} receiver")
        return problems

    async def get(self, client: httpx.AsyncClient, url: str, kind: str, *, many: bool) -> Any:
        """One GET of the CPO as this peer makes it; its data (checked)."""
        response = await self._get(client, url, kind, many=many)
        return response.json().get("data")

    async def _get(
        self, client: httpx.AsyncClient, url: str, kind: str | None = None, *, many: bool = False
    ) -> httpx.Response:
        ids = {"X-Request-ID": str(uuid.uuid4()), "X-Correlation-ID": str(uuid.uuid4())}
        functional = _functional(httpx.URL(url).path)
        routing = self._routing(functional, to_us=False)
        response = await client.get(url, headers=ids | routing)
        where = f"GET {url}"
        # The response goes back: TO the peer, FROM the CPO.
        due = self._routing(functional, to_us=True)
        self.violations += [f"{where}: {p}" for p in self._misrouted(response.headers, due)]
        if response.status_code != 200:
            self.violations.append(f"{where}: HTTP {response.status_code}")
        for name, value in ids.items():
            if response.headers.get(name) != value:
                self.violations.append(f"{where}: {name} not echoed")
        body = response.json()
        self.violations += [f"{where}: {p}" for p in validate_envelope(body, kind, many=many)]
        if body.get("status_code") != 1000:
            self.violations.append(f"{where}: status_code {body.get('status_code')}")
        return response

    async def pull(
        self, client: httpx.AsyncClient, url: str, kind: str, *, limit: int, **params: str
    ) -> list[Page]:
        """Every page of a sender's GET list with ``limit``, following the Link headers
        (transport_and_format "Pagination"); each object and header is checked."""
        first = httpx.URL(url).copy_merge_params({**params, "limit": str(limit)})
        pages: list[Page] = []
        next_url: str | None = str(first)
        while next_url is not None:
            response = await self._get(client, next_url, kind, many=True)
            where = f"GET {next_url}"
            link = response.headers.get("Link")
            found = _NEXT.fullmatch(link) if link else None
            if link and found is None:
                self.violations.append(f'{where}: Link {link!r} is not <url>; rel="next"')
            data = response.json().get("data") or []
            page = Page(
                [str(item.get("id", item.get("uid"))) for item in data],
                _int_header(response, "X-Total-Count"),
                _int_header(response, "X-Limit"),
                found.group(1) if found else None,
                data,
            )
            if page.total is None or page.x_limit is None:
                self.violations.append(f"{where}: X-Total-Count or X-Limit missing")
            if len(data) > limit:
                self.violations.append(f"{where}: {len(data)} objects, more than limit={limit}")
            self.violations += [f"{where}: {problem}" for problem in _outside(data, params)]
            if page.next_url is not None:
                kept = httpx.URL(page.next_url).params
                for name, value in params.items():
                    if kept.get(name) != value:
                        self.violations.append(f"{where}: the next Link drops {name}")
            pages.append(page)
            next_url = page.next_url
            if len(pages) > 100:
                self.violations.append(f"{where}: more than 100 pages")
                break
        return pages

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
        roles = self.received[-1].get("roles") or [{}]
        self.cpo_party = (roles[0].get("country_code"), roles[0].get("party_id"))
        self.violations += [
            f"{request.method} {request.path}: {problem}"
            for problem in validate(self.received[-1], "Credentials")
        ]
        # The token it used dies; the CPO uses the new token C from now on.
        token_c = f"peer-token-c-{next(self._counter)}"
        self.accepted = {token_c}
        return Response(ocpi_body(self.credentials(token_c)), 200, content_type="application/json")


# A full eMSP: it sends tokens and commands, receives the rest.
EMSP_MODULES = (
    ("tokens", "SENDER"),
    ("commands", "SENDER"),
    ("locations", "RECEIVER"),
    ("tariffs", "RECEIVER"),
    ("sessions", "RECEIVER"),
    ("cdrs", "RECEIVER"),
)


@dataclass(frozen=True, slots=True)
class Connected:
    peer: EmspPeer
    partner_id: uuid.UUID
    token: str  # the token C we gave it
    endpoints: dict[tuple[str, str], str]  # ours, as it read them: (module, role) -> URL


def new_peer(server: HTTPServer, root: str, party_id: str) -> EmspPeer:
    token_b = f"{root}-token-b"
    return EmspPeer(
        server, accepted={token_b}, party_id=party_id, modules=EMSP_MODULES, root=root
    ).serve()


async def connect(
    database: Database, ocpi_for: OcpiClientFactory, brand: TenantInfo, peer: EmspPeer
) -> Connected:
    """Staff issue token A; the peer reads our versions with it, registers, and reads our
    versions and endpoints again with its token C."""
    issued = await registration_token(database, brand, f"{peer.party_id} Mobility")
    (token_b,) = peer.accepted
    async with ocpi_for(brand, issued.token) as client:
        versions = await peer.get(client, "/ocpi/versions", "Version", many=True)
        (v221,) = [v["url"] for v in versions if v["version"] == "2.2.1"]
        details = await peer.get(client, v221, "VersionDetails", many=False)
        (credentials,) = [
            e["url"] for e in details["endpoints"] if e["identifier"] == "credentials"
        ]
        response = await client.post(credentials, json=peer.credentials(token_b))
    assert response.status_code == 200
    assert validate_envelope(response.json(), "Credentials") == []
    ours = response.json()["data"]
    assert ours["roles"][0]["role"] == "CPO"
    peer.cpo_party = (ours["roles"][0]["country_code"], ours["roles"][0]["party_id"])
    async with ocpi_for(brand, ours["token"]) as client:
        versions = await peer.get(client, ours["url"], "Version", many=True)
        (v221,) = [v["url"] for v in versions if v["version"] == "2.2.1"]
        details = await peer.get(client, v221, "VersionDetails", many=False)
    endpoints = {(e["identifier"], e["role"]): e["url"] for e in details["endpoints"]}
    return Connected(peer, issued.partner_id, ours["token"], endpoints)


def inconsistencies(
    locations: list[Any], tariffs: list[Any], sessions: list[Any], cdrs: list[Any]
) -> list[str]:
    """What the objects a peer pulled say of each other that is not so: a connector's
    tariff, a session's or CDR's location, EVSE, connector or tariff it cannot find."""
    known_tariffs = {t["id"] for t in tariffs}
    places = {
        (location["id"], evse["uid"], connector["id"])
        for location in locations
        for evse in location.get("evses", [])
        for connector in evse["connectors"]
    }
    problems = [
        f"location {location['id']} connector {connector['id']}: no tariff {tariff_id}"
        for location in locations
        for evse in location.get("evses", [])
        for connector in evse["connectors"]
        for tariff_id in connector.get("tariff_ids", [])
        if tariff_id not in known_tariffs
    ]
    for kind, items in (("session", sessions), ("cdr", cdrs)):
        for item in items:
            where = item.get("cdr_location", item)
            place = (where["location_id" if kind == "session" else "id"], where["evse_uid"])
            if (*place, where["connector_id"]) not in places:
                problems.append(f"{kind} {item['id']}: no connector at {place}")
            for period in item.get("charging_periods", []):
                if period.get("tariff_id") not in (None, *known_tariffs):
                    problems.append(f"{kind} {item['id']}: no tariff {period['tariff_id']}")
    return problems
