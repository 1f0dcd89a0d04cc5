"""The eMSP peer itself: what it reports when a CPO breaks the spec talking to it."""

from __future__ import annotations

import httpx
from pytest_httpserver import HTTPServer

from tests.ocpi.peer import new_peer
from voltlane.ocpi.auth import authorization_header

ROUTED = {
    "OCPI-to-country-code": "NL",
    "OCPI-to-party-id": "EXA",
    "OCPI-from-country-code": "DE",
    "OCPI-from-party-id": "VLT",
}


def test_the_peer_reports_each_breach_of_the_spec_in_what_it_is_sent(
    httpserver: HTTPServer,
) -> None:
    peer = new_peer(httpserver, "exa", "EXA")
    peer.cpo_party = ("DE", "VLT")
    ids = {"X-Request-ID": "r1", "X-Correlation-ID": "c1"}
    token = {"Authorization": authorization_header("exa-token-b")}
    session = peer.url("2.2.1/sessions/DE/VLT/S1")
    # No ids, no routing headers, a body for another session without its required fields.
    httpx.put(session, json={"id": "S2", "kwh": "1"}, headers=token)
    # A PATCH of an EVSE with a status that does not exist and no last_updated.
    evse = peer.url("2.2.1/locations/DE/VLT/L1/E1")
    httpx.patch(evse, json={"status": "BROKEN"}, headers=token | ids | ROUTED)
    # Routing headers where they must not be: the versions module.
    httpx.get(peer.versions_url, headers=token | ids | ROUTED)
    # A proper CDR POST is fine; a CDR sent with PUT is not.
    httpx.put(peer.url("2.2.1/cdrs/X"), json={}, headers=token | ids | ROUTED)

    put = f"PUT {httpx.URL(session).path}"
    patch = f"PATCH {httpx.URL(evse).path}"
    assert peer.violations == [
        f"{put}: no X-Request-ID header",
        f"{put}: no X-Correlation-ID header",
        *(f"{put}: {name}: None where {value!r} is due" for name, value in ROUTED.items()),
        f"{put}: $.country_code: required (1) but missing",
        f"{put}: $.party_id: required (1) but missing",
        f"{put}: $.start_date_time: required (1) but missing",
        f"{put}: $.kwh: '1' is not a number",
        f"{put}: $.cdr_token: required (1) but missing",
        f"{put}: $.auth_method: required (1) but missing",
        f"{put}: $.location_id: required (1) but missing",
        f"{put}: $.evse_uid: required (1) but missing",
        f"{put}: $.connector_id: required (1) but missing",
        f"{put}: $.currency: required (1) but missing",
        f"{put}: $.status: required (1) but missing",
        f"{put}: $.last_updated: required (1) but missing",
        f"{put}: the body is (None, None, 'S2'), the path ('DE', 'VLT', 'S1')",
        f"{patch}: $.status: 'BROKEN' is not a Status",
        f"{patch}: a PATCH without last_updated",
        *(
            f"GET /exa/versions: {name}: {value!r} where None is due"
            for name, value in ROUTED.items()
        ),
        "PUT /exa/2.2.1/cdrs/X: the cdrs receiver takes POST without parameters, not PUT",
    ]
