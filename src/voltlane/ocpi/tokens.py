"""Tokens module, receiver interface (mod_tokens.asciidoc): the driver tokens eMSPs share
with this CPO, stored per partner in ``ocpi_tokens`` for real-time authorization.

``/ocpi/2.2.1/tokens/{country_code}/{party_id}/{token_uid}[?type=]``: GET, PUT, PATCH. The
party in the URL must be one the request acts for (routing.py: a role the caller reported
in the credentials handshake, a party its hub reports, narrowed by the OCPI-from headers);
a token of one partner is invisible to every other, and of one party to the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from litestar import Request, Response, get, patch, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from voltlane.core.clock import utcnow
from voltlane.models.tenant import OcpiPartner, OcpiToken
from voltlane.ocpi import checks
from voltlane.ocpi.auth import OcpiCaller, provide_ocpi_caller
from voltlane.ocpi.envelope import invalid, not_found, ocpi_response
from voltlane.ocpi.protocol import VERSION_PATH, Status, ocpi_datetime

TOKENS_PATH = f"{VERSION_PATH}/tokens"
_OBJECT_PATH = TOKENS_PATH + "/{country_code:str}/{party_id:str}/{token_uid:str}"
DEFAULT_TYPE = "RFID"


def party_roles(partner: OcpiPartner) -> list[tuple[str, str, str]]:
    """(role, country_code, party_id) of every CredentialsRole the partner reported."""
    out: list[tuple[str, str, str]] = []
    for role in partner.roles:
        if isinstance(role, dict):
            cc, pid = role.get("country_code"), role.get("party_id")
            if isinstance(cc, str) and isinstance(pid, str):
                out.append((str(role.get("role")), cc.upper(), pid.upper()))
    return out


async def require_party(
    db_session: AsyncSession, caller: OcpiCaller, country_code: str, party_id: str
) -> OcpiPartner:
    """The caller's partner row when the URL's party is one the request acts for (one of
    its roles, a party its hub reports, or the one its OCPI-from headers name: routing.py);
    else 404, so objects of other parties stay out of reach (transport_and_format: Client
    Owned Object errors)."""
    partner = await db_session.get(OcpiPartner, caller.partner_id)
    if partner is None:
        raise not_found("Unknown connection.")
    if (country_code.upper(), party_id.upper()) not in caller.parties:
        raise not_found(f"{country_code}/{party_id} is not a party of this connection.")
    return partner


def token_type_of(request: Request[Any, Any, Any]) -> str:
    value = request.query_params.get("type") or DEFAULT_TYPE
    if value not in checks.TOKEN_TYPES:
        raise invalid(f"type must be one of {', '.join(sorted(checks.TOKEN_TYPES))}")
    return value


def token_json(token: OcpiToken) -> dict[str, Any]:
    """The Token object as the eMSP sent it (optional fields left out when unset)."""
    out: dict[str, Any] = {
        "country_code": token.country_code,
        "party_id": token.party_id,
        "uid": token.uid,
        "type": token.type,
        "contract_id": token.contract_id,
        "visual_number": token.visual_number,
        "issuer": token.issuer,
        "group_id": token.group_id,
        "valid": token.valid,
        "whitelist": token.whitelist,
        "language": token.language,
        "default_profile_type": token.default_profile_type,
        "energy_contract": token.energy_contract,
        "last_updated": ocpi_datetime(token.last_updated),
    }
    return {key: value for key, value in out.items() if value is not None}


def _energy_contract(body: Mapping[str, Any], prefix: str) -> dict[str, Any] | None:
    value = body.get("energy_contract")
    if value is None:
        return None
    contract = checks.body_object(value, prefix + "energy_contract")
    inner = prefix + "energy_contract."
    supplier = checks.string(contract, "supplier_name", 64, prefix=inner)
    contract_id = checks.string(contract, "contract_id", 64, required=False, prefix=inner)
    out: dict[str, Any] = {"supplier_name": supplier}
    if contract_id is not None:
        out["contract_id"] = contract_id
    return out


# Every field of a Token but last_updated: its check (the prefix names the field inside a
# bigger object, like a command's "token.").
_CHECKS: tuple[tuple[str, Callable[[Mapping[str, Any], str], Any]], ...] = (
    ("country_code", lambda b, p: checks.ci_string(b, "country_code", 2, prefix=p)),
    ("party_id", lambda b, p: checks.ci_string(b, "party_id", 3, prefix=p)),
    ("uid", lambda b, p: checks.ci_string(b, "uid", 36, prefix=p)),
    ("type", lambda b, p: checks.enum_value(b, "type", checks.TOKEN_TYPES, prefix=p)),
    ("contract_id", lambda b, p: checks.ci_string(b, "contract_id", 36, prefix=p)),
    ("visual_number", lambda b, p: checks.string(b, "visual_number", 64, required=False, prefix=p)),
    ("issuer", lambda b, p: checks.string(b, "issuer", 64, prefix=p)),
    ("group_id", lambda b, p: checks.ci_string(b, "group_id", 36, required=False, prefix=p)),
    ("valid", lambda b, p: checks.boolean(b, "valid", prefix=p)),
    ("whitelist", lambda b, p: checks.enum_value(b, "whitelist", checks.WHITELIST_TYPES, prefix=p)),
    ("language", lambda b, p: checks.string(b, "language", 2, required=False, prefix=p)),
    (
        "default_profile_type",
        lambda b, p: checks.enum_value(
            b, "default_profile_type", checks.PROFILE_TYPES, required=False, prefix=p
        ),
    ),
    ("energy_contract", _energy_contract),
)


def token_values(
    body: Mapping[str, Any], *, partial: bool = False, prefix: str = ""
) -> dict[str, Any]:
    """The columns of a Token object, every field checked; ``partial`` (PATCH) checks only
    the fields present (last_updated always)."""
    values = {
        field: check(body, prefix) for field, check in _CHECKS if not partial or field in body
    }
    values["last_updated"] = checks.date_time(body, "last_updated", prefix=prefix)
    for field in ("country_code", "party_id"):
        if values.get(field) is not None:
            values[field] = values[field].upper()
    return values


def _check_identity(values: Mapping[str, Any], country_code: str, party_id: str, uid: str) -> None:
    checks.same_ci("country_code", values.get("country_code"), country_code)
    checks.same_ci("party_id", values.get("party_id"), party_id)
    checks.same_ci("uid", values.get("uid"), uid)


async def find_token(
    db_session: AsyncSession, country_code: str, party_id: str, uid: str, token_type: str
) -> OcpiToken | None:
    return await db_session.scalar(
        select(OcpiToken).where(
            OcpiToken.country_code == country_code.upper(),
            OcpiToken.party_id == party_id.upper(),
            OcpiToken.uid == uid,
            OcpiToken.type == token_type,
        )
    )


async def upsert_token(
    db_session: AsyncSession, partner_id: uuid.UUID, values: Mapping[str, Any]
) -> tuple[OcpiToken, bool]:
    """Store a complete Token for ``partner_id``; (row, created). A token of the same
    party, uid and type held by another connection is not this partner's to replace."""
    token = await find_token(
        db_session, values["country_code"], values["party_id"], values["uid"], values["type"]
    )
    if token is not None and token.partner_id != partner_id:
        raise not_found("This token belongs to another connection.", Status.UNKNOWN_TOKEN)
    created = token is None
    if token is None:
        token = OcpiToken(partner_id=partner_id)
        db_session.add(token)
    for column in (
        "country_code",
        "party_id",
        "uid",
        "type",
        "contract_id",
        "visual_number",
        "issuer",
        "group_id",
        "valid",
        "whitelist",
        "language",
        "default_profile_type",
        "energy_contract",
        "last_updated",
    ):
        setattr(token, column, values.get(column))
    token.received_at = utcnow()
    await db_session.flush()
    return token, created


async def _own_token(
    db_session: AsyncSession,
    caller: OcpiCaller,
    *,
    country_code: FromPath[str],
    party_id: FromPath[str],
    token_uid: FromPath[str],
    token_type: str,
) -> OcpiToken:
    token = await find_token(db_session, country_code, party_id, token_uid, token_type)
    if token is None or token.partner_id != caller.partner_id:
        raise not_found(f"Unknown token {token_uid} ({token_type}).", Status.UNKNOWN_TOKEN)
    return token


@get(_OBJECT_PATH, include_in_schema=False)
async def get_token(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    *,
    country_code: FromPath[str],
    party_id: FromPath[str],
    token_uid: FromPath[str],
) -> Response[Any]:
    caller = provide_ocpi_caller(request)
    token_type = token_type_of(request)
    await require_party(db_session, caller, country_code, party_id)
    token = await _own_token(
        db_session,
        caller,
        country_code=country_code,
        party_id=party_id,
        token_uid=token_uid,
        token_type=token_type,
    )
    return ocpi_response(token_json(token))


@put(_OBJECT_PATH, include_in_schema=False)
async def put_token(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    *,
    country_code: FromPath[str],
    party_id: FromPath[str],
    token_uid: FromPath[str],
    data: JSONBody[Any],
) -> Response[Any]:
    caller = provide_ocpi_caller(request)
    token_type = token_type_of(request)
    partner = await require_party(db_session, caller, country_code, party_id)
    values = token_values(checks.body_object(data))
    _check_identity(values, country_code, party_id, token_uid)
    if values["type"] != token_type:
        raise invalid(f"type {values['type']!r} differs from the URL's {token_type!r}")
    _token, created = await upsert_token(db_session, partner.id, values)
    return ocpi_response(http_status=201 if created else 200)


@patch(_OBJECT_PATH, include_in_schema=False)
async def patch_token(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    *,
    country_code: FromPath[str],
    party_id: FromPath[str],
    token_uid: FromPath[str],
    data: JSONBody[Any],
) -> Response[Any]:
    caller = provide_ocpi_caller(request)
    token_type = token_type_of(request)
    await require_party(db_session, caller, country_code, party_id)
    values = token_values(checks.body_object(data), partial=True)
    _check_identity(values, country_code, party_id, token_uid)
    if "type" in values and values["type"] != token_type:
        raise invalid(f"type {values['type']!r} differs from the URL's {token_type!r}")
    token = await _own_token(
        db_session,
        caller,
        country_code=country_code,
        party_id=party_id,
        token_uid=token_uid,
        token_type=token_type,
    )
    for column, value in values.items():
        if column not in ("country_code", "party_id", "uid", "type"):
            setattr(token, column, value)
    token.received_at = utcnow()
    await db_session.flush()
    return ocpi_response()


HANDLERS = [get_token, put_token, patch_token]
