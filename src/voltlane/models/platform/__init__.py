"""Models of the shared ``platform`` schema."""

from voltlane.models.platform.admin import PlatformAdmin
from voltlane.models.platform.gateway import GatewayNode, StationPresence
from voltlane.models.platform.ocpi import CredentialKind, OcpiCredential
from voltlane.models.platform.tenant import (
    Tenant,
    TenantDomain,
    TenantFeature,
    TenantStatus,
)

__all__ = [
    "CredentialKind",
    "GatewayNode",
    "OcpiCredential",
    "PlatformAdmin",
    "StationPresence",
    "Tenant",
    "TenantDomain",
    "TenantFeature",
    "TenantStatus",
]
