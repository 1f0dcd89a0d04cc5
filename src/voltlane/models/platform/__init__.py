"""Models of the shared ``platform`` schema."""

from voltlane.models.platform.admin import PlatformAdmin
from voltlane.models.platform.tenant import (
    Tenant,
    TenantDomain,
    TenantFeature,
    TenantStatus,
)

__all__ = [
    "PlatformAdmin",
    "Tenant",
    "TenantDomain",
    "TenantFeature",
    "TenantStatus",
]
