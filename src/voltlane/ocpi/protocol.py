"""The vocabulary of OCPI 2.2.1 shared by every module: version, status codes, roles,
interface roles, module identifiers and the DateTime format."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import IntEnum, StrEnum

VERSION = "2.2.1"
BASE_PATH = "/ocpi"
VERSIONS_PATH = f"{BASE_PATH}/versions"
VERSION_PATH = f"{BASE_PATH}/{VERSION}"


class Status(IntEnum):
    """OCPI status codes (status_codes.asciidoc)."""

    SUCCESS = 1000
    CLIENT_ERROR = 2000
    INVALID_PARAMETERS = 2001
    NOT_ENOUGH_INFORMATION = 2002
    UNKNOWN_LOCATION = 2003
    UNKNOWN_TOKEN = 2004
    SERVER_ERROR = 3000
    UNABLE_TO_USE_CLIENT_API = 3001
    UNSUPPORTED_VERSION = 3002
    NO_MATCHING_ENDPOINTS = 3003


class Role(StrEnum):
    """types.asciidoc Role."""

    CPO = "CPO"
    EMSP = "EMSP"
    HUB = "HUB"
    NAP = "NAP"
    NSP = "NSP"
    OTHER = "OTHER"
    SCSP = "SCSP"


class InterfaceRole(StrEnum):
    SENDER = "SENDER"
    RECEIVER = "RECEIVER"


class Module(StrEnum):
    """Module identifiers (version_information_endpoint.asciidoc ModuleID)."""

    CDRS = "cdrs"
    CHARGING_PROFILES = "chargingprofiles"
    COMMANDS = "commands"
    CREDENTIALS = "credentials"
    HUB_CLIENT_INFO = "hubclientinfo"
    LOCATIONS = "locations"
    SESSIONS = "sessions"
    TARIFFS = "tariffs"
    TOKENS = "tokens"


def ocpi_datetime(value: datetime) -> str:
    """An OCPI DateTime: UTC, whole seconds, ``Z`` (types.asciidoc DateTime)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: OCPI times are UTC")
    # isoformat is about twice as fast as strftime (every EVSE and connector has one).
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_ocpi_datetime(value: str) -> datetime:
    """An OCPI DateTime as aware UTC. The spec writes UTC with or without ``Z`` and with
    optional fractions; a value with another offset is converted. ValueError when it is
    not a date-time at all."""
    if not isinstance(value, str) or "T" not in value or len(value) > 35:
        raise ValueError(f"not an OCPI DateTime: {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
