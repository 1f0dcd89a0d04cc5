"""Message routing (transport_and_format.asciidoc "Message Routing"): which parties a request
of a functional module acts for.

A direct partner speaks for the parties of its CredentialsRoles. A hub reports only itself
(role HUB, credentials.asciidoc) and speaks for the parties it reports through the
HubClientInfo module that are CONNECTED or OFFLINE (a PLANNED party is not connected yet, a
SUSPENDED one is gone: mod_hub_client_info "Scenarios"). The ``OCPI-from-*`` headers name
the party a request comes from: one of those (the request acts for that party alone), or
the hub itself (a Broadcast Push: for all of them). A request without them acts for the
whole connection. A party the connection does not speak for is refused as a Client Owned
Object URL of another party is (transport_and_format "Errors": HTTP 404), and so is a
request whose ``OCPI-to-*`` headers name another party than this CPO.

The configuration modules (versions, credentials, hubclientinfo) are not routed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.models.tenant import OcpiClientInfo, OcpiPartner
from voltlane.ocpi.envelope import not_found
from voltlane.ocpi.protocol import VERSION_PATH, Role

Party = tuple[str, str]
# ConnectionStatus of a hub's parties it may speak for.
SPEAKING_STATUSES = ("CONNECTED", "OFFLINE")
_NOT_ROUTED = frozenset({"credentials", "clientinfo"})


def routed_path(path: str) -> bool:
    """Whether ``path`` is a functional module's (routed): under the version, not one of
    the configuration modules."""
    prefix = VERSION_PATH + "/"
    if not path.startswith(prefix):
        return False
    return path[len(prefix) :].split("/", 1)[0] not in _NOT_ROUTED


def role_parties(partner: OcpiPartner, *, hub: bool) -> frozenset[Party]:
    """The parties of the partner's CredentialsRoles (its HUB roles when ``hub``, else the
    others)."""
    parties = set()
    for role in partner.roles:
        if not isinstance(role, dict):
            continue
        cc, pid = role.get("country_code"), role.get("party_id")
        if isinstance(cc, str) and isinstance(pid, str) and (role.get("role") == Role.HUB) == hub:
            parties.add((cc.upper(), pid.upper()))
    return frozenset(parties)


async def served_parties(db_session: AsyncSession, partner: OcpiPartner) -> frozenset[Party]:
    """Every party the connection speaks for: its roles, and for a hub the parties it
    reports as connected (or offline)."""
    parties = role_parties(partner, hub=False)
    if role_parties(partner, hub=True):
        reported = await db_session.execute(
            select(OcpiClientInfo.country_code, OcpiClientInfo.party_id).where(
                OcpiClientInfo.partner_id == partner.id,
                OcpiClientInfo.status.in_(SPEAKING_STATUSES),
            )
        )
        parties |= {(cc, pid) for cc, pid in reported}
    return parties


@dataclass(frozen=True, slots=True)
class Routing:
    """The parties one request acts for, and the party its OCPI-from headers named (None
    without them, or when they named the hub itself)."""

    parties: frozenset[Party]
    sender: Party | None


def _header_party(headers: Mapping[str, str], side: str) -> Party | None:
    cc, pid = headers.get(f"ocpi-{side}-country-code"), headers.get(f"ocpi-{side}-party-id")
    if not cc and not pid:
        return None
    return (str(cc or "").upper(), str(pid or "").upper())


async def request_routing(
    db_session: AsyncSession, partner: OcpiPartner, headers: Mapping[str, str], ours: Party | None
) -> Routing:
    """What a functional module's request acts for (see the module docstring); OcpiError
    (HTTP 404) for a party the connection does not speak for, or a request to another."""
    to = _header_party(headers, "to")
    if to is not None and to != ours:
        raise not_found(f"OCPI-to {to[0]}*{to[1]} is not this CPO.")
    served = await served_parties(db_session, partner)
    sender = _header_party(headers, "from")
    if sender is None or sender in role_parties(partner, hub=True):
        return Routing(served, None)
    if sender not in served:
        raise not_found(f"{sender[0]}*{sender[1]} is not a party of this connection.")
    return Routing(frozenset({sender}), sender)


async def unreachable_parties(db_session: AsyncSession, partner: OcpiPartner) -> frozenset[Party]:
    """The parties a hub reports as not CONNECTED (OFFLINE, PLANNED, SUSPENDED): no Session
    or CDR is queued for them (mod_hub_client_info: do not queue pushes; they GET when back,
    and the next reconciliation sends what is still owed once they are CONNECTED)."""
    if not role_parties(partner, hub=True):
        return frozenset()
    rows = await db_session.execute(
        select(OcpiClientInfo.country_code, OcpiClientInfo.party_id).where(
            OcpiClientInfo.partner_id == partner.id, OcpiClientInfo.status != "CONNECTED"
        )
    )
    return frozenset((cc, pid) for cc, pid in rows)
