"""The independent peer (peer.py) acting as a hub for eMSP parties: it registers with the
role HUB alone (credentials.asciidoc: a hub reports only itself), reports its parties
through HubClientInfo, and speaks for one of them by the OCPI-from headers
(transport_and_format "Party to Party via Hub"), or for itself (``speaking_for`` None).

What the CPO sends it is checked as a hub sees it: FROM the CPO, TO the hub itself or one
of its parties (an Open Routing Request names none); each request's addressee is kept in
``routed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.ocpi.peer import EMSP_MODULES, EmspPeer, _functional, _presented, ocpi_body

Party = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Routed:
    """A request the CPO made to the hub: its method, path after the version, and the
    party its OCPI-to headers named (None: an Open Routing Request)."""

    method: str
    path: str
    to: Party | None


@dataclass
class HubPeer(EmspPeer):
    """The hub NL*HUB."""

    parties: tuple[Party, ...] = ()
    # The party its requests come from (OCPI-from); None: the hub itself.
    speaking_for: Party | None = None
    routed: list[Routed] = field(default_factory=list)
    # Lists its parties as EMSP roles beside its HUB role (which the spec says a hub shall
    # not do; some do).
    parties_as_roles: bool = False

    def credentials(self, token: str) -> dict[str, Any]:
        roles = [
            {
                "role": "HUB",
                "party_id": self.party_id,
                "country_code": self.country_code,
                "business_details": {"name": "Example Hub"},
            }
        ]
        if self.parties_as_roles:
            roles += [
                {
                    "role": "EMSP",
                    "party_id": party_id,
                    "country_code": country_code,
                    "business_details": {"name": f"{party_id} Mobility"},
                }
                for country_code, party_id in self.parties
            ]
        return {"token": token, "url": self.versions_url, "roles": roles}

    def _routing(self, functional: bool, *, to_us: bool) -> dict[str, str]:
        headers = super()._routing(functional, to_us=to_us)
        if headers and self.speaking_for is not None:
            side = "to" if to_us else "from"
            headers[f"OCPI-{side}-country-code"] = self.speaking_for[0]
            headers[f"OCPI-{side}-party-id"] = self.speaking_for[1]
        return headers

    def headers(self) -> dict[str, str]:
        """The routing headers of a request it sends the CPO now."""
        return self._routing(functional=True, to_us=False)

    def _refuse(self, request: Request) -> Response | None:
        where = f"{request.method} {request.path}"
        for header in ("X-Request-ID", "X-Correlation-ID"):
            if not request.headers.get(header):
                self.violations.append(f"{where}: no {header} header")
        if _functional(request.path):
            to_cc = request.headers.get("OCPI-to-country-code", "")
            to_pid = request.headers.get("OCPI-to-party-id", "")
            to = (to_cc, to_pid) if to_cc or to_pid else None
            sender = (
                request.headers.get("OCPI-from-country-code"),
                request.headers.get("OCPI-from-party-id"),
            )
            self.routed.append(Routed(request.method, request.path.split("/2.2.1/", 1)[1], to))
            if sender != self.cpo_party:
                self.violations.append(f"{where}: from {sender}, not the CPO {self.cpo_party}")
            if to is not None and to not in ((self.country_code, self.party_id), *self.parties):
                self.violations.append(f"{where}: to {to}, neither the hub nor its party")
        if _presented(request) in self.accepted:
            return None
        return Response(ocpi_body(status_code=2000, message="unknown token"), 401)


def new_hub(server: HTTPServer, *parties: Party) -> HubPeer:
    hub = HubPeer(
        server,
        accepted={"hub-token-b"},
        country_code="NL",
        party_id="HUB",
        modules=EMSP_MODULES,
        root="hub",
        parties=parties,
    )
    hub.serve()
    return hub


def client_info(party: Party, status: str = "CONNECTED") -> dict[str, Any]:
    return {
        "country_code": party[0],
        "party_id": party[1],
        "role": "EMSP",
        "status": status,
        "last_updated": "2026-03-01T08:00:00Z",
    }


def party_token(party: Party, uid: str, whitelist: str = "NEVER") -> dict[str, Any]:
    """A driver token of one of the hub's parties, as the spec's Token object."""
    return {
        "country_code": party[0],
        "party_id": party[1],
        "uid": uid,
        "type": "RFID",
        "contract_id": f"{party[0]}-{party[1]}-C{uid}",
        "issuer": f"{party[1]} Mobility",
        "valid": True,
        "whitelist": whitelist,
        "last_updated": "2026-03-01T08:00:00Z",
    }
