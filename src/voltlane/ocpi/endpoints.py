"""The modules this CPO serves, as ``GET /ocpi/2.2.1`` lists them.

One line per module interface: its identifier, the role we play in it and its path under
``/ocpi/2.2.1``. A module is listed here only once it is served.
"""

from __future__ import annotations

from dataclasses import dataclass

from voltlane.ocpi.protocol import InterfaceRole, Module


@dataclass(frozen=True, slots=True)
class Endpoint:
    module: Module
    role: InterfaceRole
    path: str


ENDPOINTS: tuple[Endpoint, ...] = (
    # The spec advises SENDER for one's own credentials endpoint (the role is not relevant).
    Endpoint(Module.CREDENTIALS, InterfaceRole.SENDER, "/credentials"),
    Endpoint(Module.SESSIONS, InterfaceRole.SENDER, "/sessions"),
    Endpoint(Module.CDRS, InterfaceRole.SENDER, "/cdrs"),
    Endpoint(Module.LOCATIONS, InterfaceRole.SENDER, "/locations"),
    Endpoint(Module.TARIFFS, InterfaceRole.SENDER, "/tariffs"),
    Endpoint(Module.TOKENS, InterfaceRole.RECEIVER, "/tokens"),
    Endpoint(Module.HUB_CLIENT_INFO, InterfaceRole.RECEIVER, "/clientinfo"),
    Endpoint(Module.COMMANDS, InterfaceRole.RECEIVER, "/commands"),
    Endpoint(Module.CHARGING_PROFILES, InterfaceRole.RECEIVER, "/chargingprofiles"),
)
