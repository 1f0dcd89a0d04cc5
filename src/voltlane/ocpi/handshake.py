"""The credentials handshake, shared by both directions (credentials.asciidoc): reading and
checking a Credentials object, finding a partner's 2.2.1 endpoints, and the Credentials
object we present.

Everything a partner sends is checked field by field; a fault raises ``CredentialsError``
naming the field and the OCPI status to answer (2001 for a bad body, 3001 when the
partner's API cannot be used, 3002 without a common version, 3003 without usable
endpoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from voltlane.ocpi.client import OcpiClient, PartnerError, PartnerReply
from voltlane.ocpi.protocol import VERSION, InterfaceRole, Module, Role, Status
from voltlane.tenancy import TenantInfo

MAX_TOKEN = 64
MAX_URL = 255
MAX_NAME = 100
IMAGE_CATEGORIES = frozenset(
    {"CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER"}
)


class CredentialsError(Exception):
    """A Credentials object, a version list or an endpoint list we cannot accept."""

    def __init__(self, status: Status, message: str, *, http_status: int = 200) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.http_status = http_status


def _invalid(message: str) -> CredentialsError:
    return CredentialsError(Status.INVALID_PARAMETERS, message)


@dataclass(frozen=True, slots=True)
class Credentials:
    """A Credentials object as a partner sent it (roles kept as received, CiStrings in
    upper case)."""

    token: str
    url: str
    roles: list[dict[str, Any]]

    @property
    def party(self) -> tuple[str, str]:
        """The party the connection speaks for: its first eMSP role, else its hub role,
        else its first role."""
        for wanted in (Role.EMSP, Role.HUB):
            for role in self.roles:
                if role["role"] == wanted:
                    return role["country_code"], role["party_id"]
        return self.roles[0]["country_code"], self.roles[0]["party_id"]


def _printable_ascii(value: str) -> bool:
    return all("!" <= ch <= "~" for ch in value)


def _printable(value: str) -> bool:
    return value.isprintable()


def _string(body: dict[str, Any], key: str, where: str, *, limit: int, required: bool) -> Any:
    value = body.get(key)
    if value is None:
        if required:
            raise _invalid(f"{where}{key} is required.")
        return None
    if not isinstance(value, str) or not value or not _printable(value):
        raise _invalid(f"{where}{key} must be a non-empty printable string.")
    if len(value) > limit:
        raise _invalid(f"{where}{key} is longer than {limit} characters.")
    return value


def _url(body: dict[str, Any], key: str, where: str, *, required: bool = True) -> Any:
    value = _string(body, key, where, limit=MAX_URL, required=required)
    if value is not None and not value.startswith(("https://", "http://")):
        raise _invalid(f"{where}{key} must be an http(s) URL.")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(f"{where} must be an object.")
    return value


def _image(value: Any, where: str) -> dict[str, Any]:
    image = _object(value, where)
    prefix = where + "."
    _url(image, "url", prefix)
    _url(image, "thumbnail", prefix, required=False)
    category = image.get("category")
    if category not in IMAGE_CATEGORIES:
        raise _invalid(f"{prefix}category must be one of {', '.join(sorted(IMAGE_CATEGORIES))}.")
    kind = _string(image, "type", prefix, limit=4, required=True)
    if not _printable_ascii(kind):
        raise _invalid(f"{prefix}type must be printable ASCII.")
    for key in ("width", "height"):
        size = image.get(key)
        if size is not None and (
            not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= 99999
        ):
            raise _invalid(f"{prefix}{key} must be an integer of at most 5 digits.")
    return image


def _business_details(value: Any, where: str) -> dict[str, Any]:
    details = _object(value, where)
    prefix = where + "."
    _string(details, "name", prefix, limit=MAX_NAME, required=True)
    _url(details, "website", prefix, required=False)
    if details.get("logo") is not None:
        _image(details["logo"], prefix + "logo")
    return details


def _cistring(role: dict[str, Any], key: str, where: str, pattern: str, size: int) -> str:
    value = role.get(key)
    if not isinstance(value, str) or len(value) != size:
        raise _invalid(f"{where}{key} must be {size} characters ({pattern}).")
    upper = value.upper()
    allowed = upper.isalpha() if key == "country_code" else upper.isalnum()
    if not (allowed and upper.isascii()):
        raise _invalid(f"{where}{key} must be {size} characters ({pattern}).")
    return upper


def _role(value: Any, index: int) -> dict[str, Any]:
    where = f"roles[{index}]"
    role = _object(value, where)
    prefix = where + "."
    if role.get("role") not in {member.value for member in Role}:
        raise _invalid(f"{prefix}role must be one of {', '.join(member.value for member in Role)}.")
    return {
        "role": role["role"],
        "party_id": _cistring(role, "party_id", prefix, "letters and digits", 3),
        "country_code": _cistring(role, "country_code", prefix, "ISO 3166 alpha-2", 2),
        "business_details": _business_details(
            role.get("business_details"), prefix + "business_details"
        ),
    }


def parse_credentials(body: Any) -> Credentials:
    """A Credentials object, checked field by field (2001 naming the first bad field)."""
    data = _object(body, "The body")
    token = data.get("token")
    if not isinstance(token, str) or not token:
        raise _invalid("token is required.")
    if len(token) > MAX_TOKEN or not _printable_ascii(token):
        raise _invalid(
            f"token must be at most {MAX_TOKEN} printable ASCII characters without spaces."
        )
    url = _url(data, "url", "")
    raw_roles = data.get("roles")
    if not isinstance(raw_roles, list) or not raw_roles:
        raise _invalid("roles must list at least one CredentialsRole.")
    roles = [_role(value, index) for index, value in enumerate(raw_roles)]
    seen: set[tuple[str, str, str]] = set()
    for index, role in enumerate(roles):
        key = (role["role"], role["country_code"], role["party_id"])
        if key in seen:
            raise _invalid(f"roles[{index}] repeats role, country_code and party_id.")
        seen.add(key)
    return Credentials(token=token, url=url, roles=roles)


@dataclass(frozen=True, slots=True)
class PartnerApi:
    """A partner's 2.2.1 API as its version details describe it."""

    versions_url: str
    version: str
    endpoints: list[dict[str, str]]

    def url_of(self, module: Module) -> str | None:
        for endpoint in self.endpoints:
            if endpoint["identifier"] == module.value:
                return endpoint["url"]
        return None


def _endpoints(data: Any) -> list[dict[str, str]]:
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise CredentialsError(
            Status.UNABLE_TO_USE_CLIENT_API,
            f"The version details do not describe version {VERSION}.",
        )
    raw = data.get("endpoints")
    if not isinstance(raw, list):
        raise CredentialsError(
            Status.UNABLE_TO_USE_CLIENT_API, "The version details list no endpoints."
        )
    roles = {member.value for member in InterfaceRole}
    return [
        {"identifier": item["identifier"], "role": item["role"], "url": item["url"]}
        for item in raw
        if isinstance(item, dict)
        and isinstance(item.get("identifier"), str)
        and item.get("role") in roles
        and isinstance(item.get("url"), str)
        and item["url"].startswith(("https://", "http://"))
        and len(item["url"]) <= MAX_URL
    ]


async def _read(client: OcpiClient, url: str, what: str) -> PartnerReply:
    try:
        return await client.request("GET", url, routed=False)
    except PartnerError as exc:
        raise CredentialsError(Status.UNABLE_TO_USE_CLIENT_API, f"{what}: {exc.message}") from exc


async def discover(client: OcpiClient, versions_url: str) -> PartnerApi:
    """The partner's 2.2.1 endpoints, read with the token ``client`` holds: 3001 when its
    API does not answer as OCPI, 3002 without 2.2.1, 3003 when nothing we know of is left
    besides credentials."""
    versions = await _read(client, versions_url, "Your versions endpoint")
    if not isinstance(versions.data, list):
        raise CredentialsError(
            Status.UNABLE_TO_USE_CLIENT_API, "Your versions endpoint did not return a list."
        )
    details_url = next(
        (
            item.get("url")
            for item in versions.data
            if isinstance(item, dict) and item.get("version") == VERSION
        ),
        None,
    )
    if not isinstance(details_url, str) or not details_url.startswith(("https://", "http://")):
        offered = ", ".join(
            str(item.get("version")) for item in versions.data if isinstance(item, dict)
        )
        raise CredentialsError(
            Status.UNSUPPORTED_VERSION,
            f"This CPO speaks OCPI {VERSION} only; you offer: {offered or 'none'}.",
        )
    details = await _read(client, details_url, "Your version details endpoint")
    endpoints = _endpoints(details.data)
    known = {member.value for member in Module} - {Module.CREDENTIALS.value}
    if not any(endpoint["identifier"] in known for endpoint in endpoints):
        raise CredentialsError(
            Status.NO_MATCHING_ENDPOINTS,
            "Your version details list no module this CPO can use (tokens, locations, "
            "sessions, cdrs, tariffs, commands ...).",
        )
    return PartnerApi(versions_url=versions_url, version=VERSION, endpoints=endpoints)


def our_credentials(brand: TenantInfo, token: str, versions_url: str) -> dict[str, Any]:
    """The Credentials object of the brand as a CPO party."""
    party = brand.ocpi_party
    if party is None:
        raise CredentialsError(Status.SERVER_ERROR, "This brand is not an OCPI party.")
    country_code, party_id = party
    return {
        "token": token,
        "url": versions_url,
        "roles": [
            {
                "role": Role.CPO.value,
                "party_id": party_id,
                "country_code": country_code,
                "business_details": {"name": brand.name[:MAX_NAME]},
            }
        ],
    }
