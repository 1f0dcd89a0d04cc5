"""Real-time authorization of roaming drivers (mod_tokens.asciidoc, sender interface POST
``{tokens_endpoint_url}{token_uid}/authorize``): the OCPI side of
``charging.ports.RoamingAuthorizer``.

A token a station presents that is not one of the brand's own is looked up in the tokens
eMSPs pushed to us. Its whitelist rule says whether we may decide alone (ALWAYS) or must
ask the eMSP (ALLOWED, ALLOWED_OFFLINE, NEVER); a token nobody pushed is asked of every
registered partner that serves a tokens sender endpoint. Each question is bounded by the
partner's ``authorization_timeout_ms`` as a whole (connect and read together), so the
station's reply never waits longer; without an answer only ALLOWED_OFFLINE lets the driver
charge. An eMSP's yes is remembered for a short while per token and station, so the start
that follows an Authorize keeps its authorization_reference without asking twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.charging.ports import RoamingDecision, RoamingRequest
from voltlane.charging.schemas import AuthorizationStatus
from voltlane.core.clock import utcnow
from voltlane.core.db import Database
from voltlane.models.tenant import (
    ChargingStation,
    Evse,
    OcpiCommand,
    OcpiPartner,
    OcpiToken,
    PartnerState,
)
from voltlane.ocpi import checks
from voltlane.ocpi.client import PartnerError, PartnerRefusedError, Party
from voltlane.ocpi.commands import remote_start_id
from voltlane.ocpi.envelope import OcpiError
from voltlane.ocpi.protocol import InterfaceRole, Module, Status
from voltlane.ocpi.pushes import endpoint_url, partner_client
from voltlane.ocpi.routing import role_parties, served_parties
from voltlane.ocpi.tokens import find_token, token_values, upsert_token
from voltlane.station.published import evse_roams
from voltlane.tenancy import TenantInfo, TenantRegistry

log = logging.getLogger(__name__)

# How long an eMSP's ALLOWED is reused for the same token at the same station.
REMEMBER_SECONDS = 120.0
REMEMBER_AT_MOST = 10_000  # then the expired answers are dropped
# A token an eMSP started or reserved with is not asked about for this long.
COMMANDED_FOR = timedelta(minutes=15)
_ALLOWED_TYPES = frozenset({"ALLOWED", "BLOCKED", "EXPIRED", "NO_CREDIT", "NOT_ALLOWED"})
_STATUS_OF_ALLOWED = {
    "ALLOWED": AuthorizationStatus.ACCEPTED,
    "BLOCKED": AuthorizationStatus.BLOCKED,
    "EXPIRED": AuthorizationStatus.EXPIRED,
    "NO_CREDIT": AuthorizationStatus.INVALID,
    "NOT_ALLOWED": AuthorizationStatus.INVALID,
}
# OCPP IdTokenType -> OCPI TokenType of a token nobody pushed (1.6 sends no type: a card).
_OCPI_TYPE = {None: "RFID", "ISO14443": "RFID", "ISO15693": "RFID", "Central": "APP_USER"}


def ocpi_token_type(ocpp_type: str | None) -> str:
    return _OCPI_TYPE.get(ocpp_type, "OTHER")


@dataclass(frozen=True, slots=True)
class _Answer:
    """An eMSP's AuthorizationInfo, checked."""

    allowed: str
    token: dict[str, Any]
    authorization_reference: str | None


def parse_authorization_info(data: Any) -> _Answer:
    """AuthorizationInfo as the eMSP sent it; OcpiError (2001) naming a bad field."""
    body = checks.body_object(data, "data")
    allowed = checks.required_str(checks.enum_value(body, "allowed", _ALLOWED_TYPES))
    token = token_values(checks.body_object(body.get("token"), "token"), prefix="token.")
    reference = checks.ci_string(body, "authorization_reference", 36, required=False)
    return _Answer(allowed, token, reference)


class OcpiRoamingAuthorizer:
    """Asks eMSPs about their drivers' tokens (wired by app.py for the gateway and web)."""

    def __init__(self, secret_key: str, base_domain: str) -> None:
        self._secret_key = secret_key
        self._base_domain = base_domain
        self._remembered: dict[
            tuple[str, str, uuid.UUID | None], tuple[float, RoamingDecision]
        ] = {}
        # Tests point the HTTP client at a transport of their own.
        self.transport: Any = None

    async def authorize(self, db_session: AsyncSession, request: RoamingRequest) -> RoamingDecision:
        tenant_key: str = db_session.info["tenant_key"]
        key = (tenant_key, request.id_token, request.station_pk)
        place = await _place(db_session, request)
        remembered = self._remembered.get(key)
        if remembered is not None and remembered[0] > time.monotonic():
            # Remembered from an Authorize that named no EVSE: the start names one.
            return remembered[1] if place.roamable else _unroamable(request, partner_token=True)
        decision = await self._decide(db_session, tenant_key, request, place)
        if decision.status is AuthorizationStatus.ACCEPTED and decision.authorization_reference:
            now = time.monotonic()
            if len(self._remembered) >= REMEMBER_AT_MOST:
                self._remembered = {k: v for k, v in self._remembered.items() if v[0] > now}
            self._remembered[key] = (now + REMEMBER_SECONDS, decision)
        return decision

    async def _decide(
        self, db_session: AsyncSession, tenant_key: str, request: RoamingRequest, place: _Place
    ) -> RoamingDecision:
        rows = (
            await db_session.execute(
                select(OcpiToken, OcpiPartner)
                .join(OcpiPartner, OcpiPartner.id == OcpiToken.partner_id)
                .where(
                    OcpiToken.uid == request.id_token,
                    OcpiPartner.state == PartnerState.REGISTERED,
                )
                .order_by(OcpiToken.last_updated.desc())
            )
        ).all()
        wanted = ocpi_token_type(request.token_type)
        # The token of the type the station read, else any of that uid (1.6 sends no type).
        pushed = sorted(rows, key=lambda row: row[0].type != wanted)
        if not place.roamable:
            return _unroamable(request, partner_token=bool(pushed))
        location = place.references
        commanded = await _commanded(db_session, request.id_token, location)
        if commanded is not None:
            return commanded
        if request.station_pk is None or request.ending:
            # A stop's idTag or an ended transaction's token: no eMSP is asked about it.
            return _stored(pushed[0][0] if pushed else None)
        if not pushed:
            return await self._ask_everyone(
                db_session, tenant_key, request.id_token, wanted, location
            )
        token, partner = pushed[0]
        if not token.valid or token.whitelist == "ALWAYS":
            return _stored(token)
        brand = await self._brand(db_session, tenant_key)
        try:
            to = (token.country_code, token.party_id)
            answer = await self._ask(brand, partner, token.uid, token.type, location, to=to)
        except PartnerError as exc:
            unknown = isinstance(exc, PartnerRefusedError) and (
                exc.http_status == 404 or exc.ocpi_status == Status.UNKNOWN_TOKEN
            )
            log.info(
                "ocpi real-time authorization without an answer",
                extra={"partner": str(partner.id), "error": exc.message},
            )
            if unknown:
                return RoamingDecision(AuthorizationStatus.INVALID, token.id)
            # No answer: the whitelist rule decides (only ALLOWED_OFFLINE lets the driver on).
            accepted = token.whitelist == "ALLOWED_OFFLINE"
            return RoamingDecision(
                AuthorizationStatus.ACCEPTED if accepted else AuthorizationStatus.INVALID, token.id
            )
        return RoamingDecision(
            _STATUS_OF_ALLOWED[answer.allowed], token.id, answer.authorization_reference
        )

    async def _ask_everyone(
        self,
        db_session: AsyncSession,
        tenant_key: str,
        uid: str,
        token_type: str,
        location: dict[str, Any] | None,
    ) -> RoamingDecision:
        """A token nobody pushed: every partner with a tokens sender endpoint is asked at
        once; the first ALLOWED wins and its Token is stored for the session."""
        partners = [
            partner
            for partner in (
                await db_session.scalars(
                    select(OcpiPartner).where(OcpiPartner.state == PartnerState.REGISTERED)
                )
            ).all()
            if endpoint_url(partner, Module.TOKENS, InterfaceRole.SENDER) is not None
        ]
        if not partners:
            return RoamingDecision(AuthorizationStatus.UNKNOWN)
        brand = await self._brand(db_session, tenant_key)
        answers = await asyncio.gather(
            *(
                self._ask(brand, partner, uid, token_type, location, to=_open_route(partner))
                for partner in partners
            ),
            return_exceptions=True,
        )
        refusals: list[_Answer] = []
        for partner, answer in zip(partners, answers, strict=True):
            if not isinstance(answer, _Answer):
                continue
            party = (answer.token["country_code"], answer.token["party_id"])
            if party not in await served_parties(db_session, partner):
                log.info(
                    "ocpi real-time authorization answered for a party the partner does not serve",
                    extra={"partner": str(partner.id), "party": "*".join(party)},
                )
                continue
            if answer.allowed != "ALLOWED":
                refusals.append(answer)
                continue
            try:
                token, _ = await upsert_token(db_session, partner.id, answer.token)
            except OcpiError:
                continue  # the token belongs to another connection: not this partner's yes
            return RoamingDecision(
                AuthorizationStatus.ACCEPTED, token.id, answer.authorization_reference
            )
        if refusals:
            return RoamingDecision(_STATUS_OF_ALLOWED[refusals[0].allowed])
        return RoamingDecision(AuthorizationStatus.UNKNOWN)

    async def _ask(
        self,
        brand: TenantInfo,
        partner: OcpiPartner,
        uid: str,
        token_type: str,
        location: dict[str, Any] | None,
        *,
        to: tuple[str, str] | None,
    ) -> _Answer:
        """The eMSP's AuthorizationInfo, the request addressed to the party ``to`` (the
        token's; None: an Open Routing Request, the hub finds the party)."""
        base = endpoint_url(partner, Module.TOKENS, InterfaceRole.SENDER)
        seconds = partner.authorization_timeout_ms / 1000
        client = partner_client(brand, partner, self._secret_key, timeout=seconds)
        if base is None or client is None:
            raise PartnerRefusedError(f"{partner.name} has no tokens sender endpoint")
        client.transport = self.transport
        client.to_party = Party(*to) if to is not None else None
        url = base.rstrip("/") + f"/{uid}/authorize"
        try:
            reply = await asyncio.wait_for(
                client.request("POST", url, params={"type": token_type}, json=location),
                timeout=seconds,
            )
        except TimeoutError:
            raise PartnerError(f"POST {url}: no answer within {seconds:g} s") from None
        try:
            return parse_authorization_info(reply.data)
        except OcpiError as exc:
            raise PartnerError(f"POST {url}: {exc.message}") from None

    async def _brand(self, db_session: AsyncSession, tenant_key: str) -> TenantInfo:
        database: Database = db_session.info["database"]
        brand = await TenantRegistry(database, self._base_domain, ttl=0).by_key(tenant_key)
        if brand is None:
            raise RuntimeError(f"no active brand {tenant_key}")
        return brand


def _open_route(partner: OcpiPartner) -> tuple[str, str] | None:
    """Whom a token nobody pushed is asked of: a hub by an Open Routing Request (no OCPI-to
    headers: transport_and_format "Open Routing Request"), an eMSP as its party."""
    if role_parties(partner, hub=True) or not (partner.country_code and partner.party_id):
        return None
    return partner.country_code, partner.party_id


def _stored(token: OcpiToken | None) -> RoamingDecision:
    """What the pushed token alone says (its valid flag)."""
    if token is None:
        return RoamingDecision(AuthorizationStatus.UNKNOWN)
    status = AuthorizationStatus.ACCEPTED if token.valid else AuthorizationStatus.INVALID
    return RoamingDecision(status, token.id)


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a token was presented: the LocationReferences its eMSP is sent (the ids the
    locations module publishes), and whether partners are told of that EVSE at all."""

    references: dict[str, Any] | None
    roamable: bool


async def _place(db_session: AsyncSession, request: RoamingRequest) -> _Place:
    """The place of a request to charge. An EVSE without an eMI3 id (or a connector the
    station has no EVSE for) is not published: a partner's session there could never be
    reported or billed to it. A message that names no EVSE (an Authorize) is judged by the
    station: roamable when one of its EVSEs is published; a transaction that ended without
    ever naming one never will (its session could not be reported)."""
    if request.station_pk is None:
        return _Place(None, roamable=True)
    location_id = await db_session.scalar(
        select(ChargingStation.location_id).where(ChargingStation.id == request.station_pk)
    )
    if location_id is None:
        return _Place(None, roamable=False)
    published = {
        number: pk
        for pk, number in await db_session.execute(
            select(Evse.id, Evse.evse_id).where(
                Evse.charging_station_id == request.station_pk,
                evse_roams(),
            )
        )
    }
    references: dict[str, Any] = {"location_id": str(location_id)}
    if request.evse_id is None:
        return _Place(references, roamable=bool(published) and not request.ending)
    if request.evse_id not in published:
        return _Place(references, roamable=False)
    references["evse_uids"] = [str(published[request.evse_id])]
    return _Place(references, roamable=True)


def _unroamable(request: RoamingRequest, *, partner_token: bool) -> RoamingDecision:
    """A foreign token at an EVSE partners are not told of: no eMSP is asked, a partner's
    token is Invalid there (and the session is not the partner's); a token no partner
    pushed stays unknown."""
    if not partner_token:
        return RoamingDecision(AuthorizationStatus.UNKNOWN)
    log.warning(
        "ocpi partner token refused: the EVSE is not published to partners (no eMI3 EVSE id)",
        extra={"station": str(request.station_pk), "evse": request.evse_id},
    )
    return RoamingDecision(AuthorizationStatus.INVALID)


async def _commanded(
    db_session: AsyncSession, uid: str, location: dict[str, Any] | None
) -> RoamingDecision | None:
    """An eMSP's START_SESSION or RESERVE_NOW of this token at this location in the last
    15 minutes: the eMSP authorized it already, so it is not asked again (mod_commands:
    StartSession, ReserveNow); the session takes that command's authorization_reference."""
    since = utcnow() - COMMANDED_FOR
    commands = (
        await db_session.scalars(
            select(OcpiCommand)
            .where(
                OcpiCommand.command.in_(("START_SESSION", "RESERVE_NOW")),
                OcpiCommand.response == "ACCEPTED",
                OcpiCommand.created_at >= since,
                OcpiCommand.request["token"]["uid"].astext == uid,
            )
            .order_by(OcpiCommand.created_at.desc())
        )
    ).all()
    for command in commands:
        if location is not None and command.request.get("location_id") != location["location_id"]:
            continue
        token = command.request["token"]
        row = await find_token(
            db_session, token["country_code"], token["party_id"], token["uid"], token["type"]
        )
        if row is None or row.partner_id != command.partner_id:
            continue
        reference = command.request.get("authorization_reference")
        started = remote_start_id(command.id) if command.command == "START_SESSION" else None
        return RoamingDecision(
            AuthorizationStatus.ACCEPTED, row.id, reference, remote_start_id=started
        )
    return None
